//! Multi-turn conversations and shared prefixes: GuideLLM 0.8's
//! `synthetic_text` keys `turns`, `first_prompt_tokens*`,
//! `first_output_tokens*`, `delay*`, `prefix_tokens`, `prefix_count` and
//! `prefix_buckets`.
//!
//! A conversation of `turns` turns is drawn whole: turn 0 with the
//! `first_*` lengths when given, every later turn with the plain ones, each
//! turn's own new user text of exactly its drawn length. The server's
//! replies are not known here: the engine adds them to the history as
//! they arrive. A shared prefix is the conversation's system prompt, drawn
//! from the buckets' prefixes (each bucket `prefix_count` distinct texts of
//! `prefix_tokens` tokens, weighted as GuideLLM weighs them).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::spec::LengthDist;
use crate::DataError;

/// Keys of this module in a synthetic spec.
pub(crate) const CONVERSATION_KEYS: [&str; 16] = [
    "turns",
    "first_prompt_tokens",
    "first_prompt_tokens_stdev",
    "first_prompt_tokens_min",
    "first_prompt_tokens_max",
    "first_output_tokens",
    "first_output_tokens_stdev",
    "first_output_tokens_min",
    "first_output_tokens_max",
    "delay",
    "delay_stdev",
    "delay_min",
    "delay_max",
    "prefix_tokens",
    "prefix_count",
    "prefix_buckets",
];

/// One bucket of shared prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixBucket {
    /// Relative weight of the bucket (GuideLLM's `bucket_weight`, default 100).
    pub weight: u64,
    /// Distinct prefixes in the bucket.
    pub count: u64,
    /// Tokens per prefix (0: no system prompt).
    pub tokens: u64,
}

/// Think time between a reply and the next turn, seconds, drawn as
/// GuideLLM's `FloatRangeSampler`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayDist {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (0: none).
    pub stdev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl DelayDist {
    /// Constant when min = max, uniform without σ, else a normal clamped to [min, max].
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        if self.min == self.max {
            return self.min;
        }
        if self.stdev == 0.0 {
            return rng.random_range(self.min..=self.max);
        }
        let n = rand_distr::Normal::new(self.mean, self.stdev).expect("valid normal");
        let v: f64 = rng.sample(n);
        v.clamp(self.min, self.max)
    }
}

/// How conversations are shaped (the defaults: one turn, no prefix).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConversationSpec {
    /// Turns per conversation (1: single requests).
    pub turns: u32,
    /// Turn 0's prompt lengths, when they differ.
    pub first_prompt: Option<LengthDist>,
    /// Turn 0's output lengths, when they differ.
    pub first_output: Option<LengthDist>,
    /// Think time after each reply.
    pub delay: Option<DelayDist>,
    /// Shared-prefix buckets (empty: no prefix).
    pub prefixes: Vec<PrefixBucket>,
}

impl ConversationSpec {
    /// Whether conversations have more than one turn.
    pub fn multi_turn(&self) -> bool {
        self.turns > 1
    }

    /// Pick a prefix `(bucket, index within it)` from two uniform draws in
    /// [0, 1): a bucket with probability `bucket_weight / Σ bucket_weight`,
    /// then one of its prefixes uniformly. This is the distribution of
    /// GuideLLM's table (each bucket's prefixes repeated `lcm(counts) ·
    /// weight / count / gcd` times), without building the table, whose size
    /// and arithmetic grow with the counts' least common multiple.
    pub(crate) fn pick_prefix(&self, u_bucket: f64, u_prefix: f64) -> Option<(usize, u64)> {
        let total: u64 = self.prefixes.iter().map(|b| b.weight).sum();
        if total == 0 {
            return None;
        }
        let mut target = u_bucket * total as f64;
        for (i, b) in self.prefixes.iter().enumerate() {
            if target < b.weight as f64 || i + 1 == self.prefixes.len() {
                let k = ((u_prefix * b.count as f64) as u64).min(b.count - 1);
                return Some((i, k));
            }
            target -= b.weight as f64;
        }
        None
    }

    /// Read the conversation keys of a synthetic spec.
    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<Self, DataError> {
        let int = |k: &str, least: u64| -> Result<Option<u64>, DataError> {
            match map.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= least as f64 => Ok(Some(f as u64)),
                    _ => Err(DataError::new(format!(
                        "--data {k}: expected a whole number of at least {least}, got {v}"
                    ))),
                },
            }
        };
        let real = |k: &str| -> Result<Option<f64>, DataError> {
            match map.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if f.is_finite() && (0.0..=MAX_DELAY_S).contains(&f) => Ok(Some(f)),
                    _ => Err(DataError::new(format!(
                        "--data {k}: expected seconds from 0 to {MAX_DELAY_S}, got {v}"
                    ))),
                },
            }
        };
        let turns = int("turns", 1)?.unwrap_or(1);
        let turns = u32::try_from(turns)
            .ok()
            .filter(|&t| t <= 10_000)
            .ok_or_else(|| DataError::new(format!("--data turns: at most 10000, got {turns}")))?;
        let length = |name: &str| -> Result<Option<LengthDist>, DataError> {
            let mean = int(name, 1)?;
            let (sd, lo, hi) = (
                real(&format!("{name}_stdev"))?,
                int(&format!("{name}_min"), 1)?,
                int(&format!("{name}_max"), 1)?,
            );
            match mean {
                Some(m) => LengthDist::new(name, m, sd, lo, hi).map(Some),
                None if sd.is_some() || lo.is_some() || hi.is_some() => Err(DataError::new(
                    format!("--data {name}: must be set when {name}_stdev, _min or _max is"),
                )),
                None => Ok(None),
            }
        };
        let delay = match real("delay")? {
            Some(mean) => {
                let sd = real("delay_stdev")?.unwrap_or(0.0);
                let min = real("delay_min")?.unwrap_or(if sd > 0.0 {
                    (mean - 5.0 * sd).max(0.0)
                } else {
                    mean
                });
                let max =
                    real("delay_max")?.unwrap_or(if sd > 0.0 { mean + 5.0 * sd } else { mean });
                if min > max {
                    return Err(DataError::new(format!(
                        "--data delay_min ({min}) is larger than delay_max ({max})"
                    )));
                }
                Some(DelayDist {
                    mean,
                    stdev: sd,
                    min,
                    max,
                })
            }
            None => None,
        };
        let shorthand = (int("prefix_tokens", 0)?, int("prefix_count", 1)?);
        if shorthand.1.is_some_and(|n| n > MAX_PREFIX_COUNT) {
            return Err(DataError::new(format!(
                "--data prefix_count: at most {MAX_PREFIX_COUNT}"
            )));
        }
        let mut prefixes = match map.get("prefix_buckets") {
            None | Some(Value::Null) => Vec::new(),
            Some(_) if shorthand != (None, None) => {
                return Err(DataError::new(
                    "--data prefix_buckets: give either prefix_buckets or prefix_count/prefix_tokens, not both",
                ))
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, b)| bucket(i, b))
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err(DataError::new(format!(
                    "--data prefix_buckets: expected a list of {{bucket_weight, prefix_count, prefix_tokens}}, got {v}"
                )))
            }
        };
        if shorthand != (None, None) {
            prefixes.push(PrefixBucket {
                weight: 100,
                count: shorthand.1.unwrap_or(1),
                tokens: shorthand.0.unwrap_or(0),
            });
        }
        // A bucket of empty prefixes only: no system prompt at all.
        if prefixes.iter().all(|b| b.tokens == 0) {
            prefixes.clear();
        }
        Ok(ConversationSpec {
            turns,
            first_prompt: length("first_prompt_tokens")?,
            first_output: length("first_output_tokens")?,
            delay,
            prefixes,
        })
    }
}

/// Think time at most (a day): longer would overflow the clock.
const MAX_DELAY_S: f64 = 86_400.0;
/// Distinct prefixes per bucket at most (each is built before the run).
const MAX_PREFIX_COUNT: u64 = 10_000;
/// A bucket's weight at most.
const MAX_BUCKET_WEIGHT: u64 = 1_000_000;

/// One `prefix_buckets` item.
fn bucket(i: usize, v: &Value) -> Result<PrefixBucket, DataError> {
    let Value::Object(m) = v else {
        return Err(DataError::new(format!(
            "--data prefix_buckets[{i}]: expected an object, got {v}"
        )));
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "bucket_weight" | "prefix_count" | "prefix_tokens"
        ) {
            return Err(DataError::new(format!(
                "--data prefix_buckets[{i}]: unknown key {k:?} (expected bucket_weight, prefix_count, prefix_tokens)"
            )));
        }
    }
    let get = |k: &str, default: u64, least: u64, most: u64| -> Result<u64, DataError> {
        match m.get(k) {
            None => Ok(default),
            Some(x) => match x.as_u64() {
                Some(n) if (least..=most).contains(&n) => Ok(n),
                _ => Err(DataError::new(format!(
                    "--data prefix_buckets[{i}].{k}: expected a whole number from {least} to {most}, got {x}"
                ))),
            },
        }
    };
    Ok(PrefixBucket {
        weight: get("bucket_weight", 100, 1, MAX_BUCKET_WEIGHT)?,
        count: get("prefix_count", 1, 1, MAX_PREFIX_COUNT)?,
        tokens: get("prefix_tokens", 0, 0, u64::from(u32::MAX))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<ConversationSpec, DataError> {
        let Value::Object(m) = serde_json::from_str(json).unwrap() else {
            unreachable!()
        };
        ConversationSpec::from_map(&m)
    }

    #[test]
    fn shorthand_and_buckets() {
        let s = spec(r#"{"turns": 5, "prefix_tokens": 512, "prefix_count": 10}"#).unwrap();
        assert!(s.multi_turn());
        assert_eq!(
            s.prefixes,
            vec![PrefixBucket {
                weight: 100,
                count: 10,
                tokens: 512
            }]
        );
        assert_eq!(s.pick_prefix(0.0, 0.999), Some((0, 9)));
        // Weights 100 / 50 over 2 and 1 prefixes: each of the first bucket's
        // two prefixes as likely as the second bucket's one (GuideLLM's
        // table: [a0, a1, b0]).
        let b = spec(
            r#"{"prefix_buckets": [{"prefix_count": 2, "prefix_tokens": 8},
                                   {"bucket_weight": 50, "prefix_tokens": 4}]}"#,
        )
        .unwrap();
        let thirds: Vec<_> = [0.1, 0.5, 0.9]
            .iter()
            .map(|&u| b.pick_prefix(u, (u * 3.0) % 1.0))
            .collect();
        assert_eq!(thirds, [Some((0, 0)), Some((0, 1)), Some((1, 0))]);
        // Counts whose least common multiple overflows: no arithmetic on it.
        let big = spec(
            r#"{"prefix_buckets": [{"prefix_count": 9999, "prefix_tokens": 8},
                                   {"prefix_count": 9998, "prefix_tokens": 8},
                                   {"prefix_count": 9997, "prefix_tokens": 8}]}"#,
        )
        .unwrap();
        assert_eq!(big.pick_prefix(0.999_999, 0.999_999), Some((2, 9996)));
        assert!(spec(r#"{"prefix_tokens": 0}"#).unwrap().prefixes.is_empty());
        assert_eq!(spec("{}").unwrap().turns, 1);
    }

    #[test]
    fn bad_keys_name_themselves() {
        let err = |j: &str| spec(j).unwrap_err().to_string();
        assert!(err(r#"{"turns": 0}"#).contains("--data turns"));
        assert!(err(r#"{"prefix_buckets": [{"weight": 1}]}"#).contains("unknown key \"weight\""));
        assert!(err(r#"{"prefix_buckets": [{"prefix_count": 0}]}"#).contains("prefix_count"));
        assert!(err(r#"{"prefix_buckets": [], "prefix_tokens": 3}"#).contains("not both"));
        assert!(
            err(r#"{"first_prompt_tokens_min": 3}"#).contains("first_prompt_tokens: must be set")
        );
        assert!(err(r#"{"delay": -1}"#).contains("--data delay"));
        assert!(err(r#"{"delay": 2, "delay_min": 3}"#).contains("delay_min"));
        assert!(err(r#"{"delay": 1e300}"#).contains("--data delay"));
        assert!(err(r#"{"prefix_count": 100000, "prefix_tokens": 4}"#).contains("prefix_count"));
        assert!(err(r#"{"prefix_buckets": [{"bucket_weight": 1e15}]}"#).contains("bucket_weight"));
    }

    #[test]
    fn delays_follow_guidellm() {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = spec(r#"{"delay": 0.5}"#).unwrap().delay.unwrap();
        assert_eq!(d.sample(&mut rng), 0.5);
        let u = spec(r#"{"delay": 1, "delay_min": 0.5, "delay_max": 1.5}"#)
            .unwrap()
            .delay
            .unwrap();
        let xs: Vec<f64> = (0..200).map(|_| u.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (0.5..=1.5).contains(x)));
        let n = spec(r#"{"delay": 1, "delay_stdev": 0.1}"#)
            .unwrap()
            .delay
            .unwrap();
        assert_eq!((n.min, n.max), (0.5, 1.5));
    }
}

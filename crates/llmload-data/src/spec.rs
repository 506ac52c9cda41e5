//! The synthetic data spec (`--data "prompt_tokens=512,output_tokens=256,..."`)
//! and GuideLLM's length sampling.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::conversation::{ConversationSpec, CONVERSATION_KEYS};
use crate::DataError;

/// Keys a synthetic spec accepts besides the conversation keys
/// ([`SyntheticSpec::keys`] lists them all): GuideLLM 0.4's, plus `samples`
/// and `source`.
pub const SPEC_KEYS: [&str; 10] = [
    "prompt_tokens",
    "prompt_tokens_stdev",
    "prompt_tokens_min",
    "prompt_tokens_max",
    "output_tokens",
    "output_tokens_stdev",
    "output_tokens_min",
    "output_tokens_max",
    "samples",
    "source",
];

/// Lengths drawn as GuideLLM's `IntegerRangeSampler` draws them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LengthDist {
    /// Mean.
    pub mean: u64,
    /// Standard deviation (0: none).
    pub stdev: f64,
    /// Smallest value.
    pub min: u64,
    /// Largest value.
    pub max: u64,
}

impl LengthDist {
    /// GuideLLM's defaults: without bounds, `[max(1, mean - 5σ), mean + 5σ]`
    /// (just `mean` when σ is 0).
    pub(crate) fn new(
        key: &str,
        mean: u64,
        stdev: Option<f64>,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Result<Self, DataError> {
        if mean == 0 {
            return Err(DataError::new(format!("--data {key}: must be at least 1")));
        }
        let sd = stdev.unwrap_or(0.0);
        if !sd.is_finite() || sd < 0.0 {
            return Err(DataError::new(format!(
                "--data {key}_stdev: must be 0 or more, got {sd}"
            )));
        }
        let spread = (5.0 * sd).round() as u64;
        let min = min.unwrap_or(if sd > 0.0 {
            mean.saturating_sub(spread).max(1)
        } else {
            mean
        });
        let max = max.unwrap_or(if sd > 0.0 { mean + spread } else { mean });
        if min == 0 {
            return Err(DataError::new(format!(
                "--data {key}_min: must be at least 1"
            )));
        }
        if min > max {
            return Err(DataError::new(format!(
                "--data {key}_min ({min}) is larger than {key}_max ({max})"
            )));
        }
        Ok(LengthDist {
            mean,
            stdev: sd,
            min,
            max,
        })
    }

    /// Draw one length: constant when min = max, uniform over [min, max]
    /// without σ, else `round(clamp(normal(mean, σ), min, max))` (half to even,
    /// as Python's `round`).
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        if self.min == self.max {
            return self.min;
        }
        if self.stdev == 0.0 {
            return rng.random_range(self.min..=self.max);
        }
        let n = rand_distr::Normal::new(self.mean as f64, self.stdev).expect("valid normal");
        let v: f64 = rng.sample(n);
        v.clamp(self.min as f64, self.max as f64).round_ties_even() as u64
    }
}

/// A parsed synthetic data spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Prompt lengths (tokens, special tokens included).
    pub prompt: LengthDist,
    /// Output lengths; `None` sends no output limit.
    pub output: Option<LengthDist>,
    /// `samples`: kept for compatibility (see docs: synthetic prompts never repeat).
    pub samples: Option<u64>,
    /// `source`: a text file to cut prompts from instead of the built-in corpus.
    pub source: Option<String>,
    /// Turns per conversation and shared prefixes (GuideLLM 0.8's keys).
    pub conversation: Box<ConversationSpec>,
    /// The spec as written, for reports.
    pub raw: String,
}

/// The candidate within two edits of `word`, if one is.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, &cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
                prev = here;
            }
        }
        row[b.len()]
    }
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl SyntheticSpec {
    /// Every key a spec accepts.
    pub fn keys() -> Vec<&'static str> {
        SPEC_KEYS
            .iter()
            .chain(&CONVERSATION_KEYS)
            .copied()
            .collect()
    }

    /// Whether `s` looks like a synthetic spec rather than a path: it is a
    /// JSON object, or `key=value` pairs whose first key is a spec key.
    pub fn looks_like_spec(s: &str) -> bool {
        let t = s.trim();
        t.starts_with('{')
            || t.split(',')
                .next()
                .and_then(|p| p.split_once('='))
                .is_some_and(|(k, _)| Self::keys().contains(&k.trim()))
    }

    /// Parse `key=value,...` or a JSON object.
    pub fn parse(s: &str) -> Result<SyntheticSpec, DataError> {
        let t = s.trim();
        let map: Map<String, Value> = if t.starts_with('{') {
            match serde_json::from_str::<Value>(t) {
                Ok(Value::Object(m)) => m,
                _ => return Err(DataError::new(format!("--data {t:?}: not a JSON object"))),
            }
        } else {
            let mut m = Map::new();
            for pair in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    DataError::new(format!("--data: expected key=value, got {pair:?}"))
                })?;
                let v = v.trim();
                let value = v
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| v.parse::<f64>().map(Value::from))
                    .unwrap_or_else(|_| Value::from(v));
                m.insert(k.trim().to_string(), value);
            }
            m
        };
        Self::from_map(&map, s)
    }

    /// Read a spec from a `.json`, `.yaml`, `.yml` or `.config` file holding
    /// one object of spec keys. `Ok(None)` when a `.json` file is not such an
    /// object (it may be a dataset).
    pub fn from_file(path: &std::path::Path) -> Result<Option<SyntheticSpec>, DataError> {
        let name = path.display();
        let ext = crate::extension(path);
        if !matches!(ext.as_str(), "json" | "yaml" | "yml" | "config") {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| DataError::new(format!("--data {name}: cannot read ({e})")))?;
        let value: Value = if ext == "json" {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => return Ok(None),
            }
        } else {
            serde_yaml::from_str(&text)
                .map_err(|e| DataError::new(format!("--data {name}: not YAML or JSON ({e})")))?
        };
        match value {
            Value::Object(m) if m.contains_key("prompt_tokens") || ext != "json" => {
                // GuideLLM scenario files hold the spec under `data`.
                let map = match m.get("data") {
                    Some(Value::Object(d)) => d.clone(),
                    Some(Value::String(s)) => return Self::parse(s).map(Some),
                    _ => m,
                };
                Self::from_map(&map, &text).map(Some)
            }
            _ if ext == "json" => Ok(None),
            _ => Err(DataError::new(format!(
                "--data {name}: expected an object of synthetic data keys"
            ))),
        }
    }

    /// Build from a key/value map (a JSON or YAML object).
    pub fn from_map(map: &Map<String, Value>, raw: &str) -> Result<SyntheticSpec, DataError> {
        let keys = Self::keys();
        for k in map.keys() {
            if !keys.contains(&k.as_str()) {
                let hint = closest(k, &keys)
                    .map(|c| format!("did you mean {c:?}? "))
                    .unwrap_or_default();
                return Err(DataError::new(format!(
                    "--data: unknown key {k:?} ({hint}expected one of {})",
                    keys.join(", ")
                )));
            }
        }
        let count = |k: &str| -> Result<Option<u64>, DataError> {
            match map.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= 1.0 => Ok(Some(f as u64)),
                    Some(f) if f.fract() == 0.0 => Err(DataError::new(format!(
                        "--data {k}: must be at least 1, got {f}"
                    ))),
                    _ => Err(DataError::new(format!(
                        "--data {k}: expected a whole number, got {v}"
                    ))),
                },
            }
        };
        let real = |k: &str| -> Result<Option<f64>, DataError> {
            match map.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                    DataError::new(format!("--data {k}: expected a number, got {v}"))
                }),
            }
        };
        let prompt_mean = count("prompt_tokens")?.ok_or_else(|| {
            DataError::new(
                "--data: prompt_tokens is required (e.g. prompt_tokens=512,output_tokens=256)",
            )
        })?;
        let prompt = LengthDist::new(
            "prompt_tokens",
            prompt_mean,
            real("prompt_tokens_stdev")?,
            count("prompt_tokens_min")?,
            count("prompt_tokens_max")?,
        )?;
        let output = match count("output_tokens")? {
            Some(m) => Some(LengthDist::new(
                "output_tokens",
                m,
                real("output_tokens_stdev")?,
                count("output_tokens_min")?,
                count("output_tokens_max")?,
            )?),
            None => None,
        };
        let source = match map.get("source") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(DataError::new(format!(
                    "--data source: expected a file path, got {v}"
                )))
            }
        };
        Ok(SyntheticSpec {
            prompt,
            output,
            samples: count("samples")?,
            source,
            conversation: Box::new(ConversationSpec::from_map(map)?),
            raw: raw.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn red_hat_spec_parses_with_float_stdevs() {
        let s = SyntheticSpec::parse(
            "prompt_tokens=512,prompt_tokens_stdev=51.2,output_tokens=256,output_tokens_stdev=25.6,samples=4500",
        )
        .unwrap();
        assert_eq!(
            s.prompt,
            LengthDist {
                mean: 512,
                stdev: 51.2,
                min: 256,
                max: 768
            }
        );
        assert_eq!(s.output.unwrap().max, 384);
        assert_eq!(s.samples, Some(4500));
        let j = SyntheticSpec::parse(r#"{"prompt_tokens": 64, "output_tokens": 8}"#).unwrap();
        assert_eq!((j.prompt.min, j.prompt.max), (64, 64));
    }

    #[test]
    fn bad_specs_name_the_key() {
        let err = |s: &str| SyntheticSpec::parse(s).unwrap_err().to_string();
        assert!(err("prompt_tokens=5,bogus=1").contains("unknown key \"bogus\""));
        assert!(err("prompt_token=5,output_tokens=1").contains("did you mean \"prompt_tokens\"?"));
        assert!(err("prompt_tokens=0").contains("prompt_tokens: must be at least 1"));
        assert!(err("prompt_tokens=-4").contains("prompt_tokens: must be at least 1"));
        assert!(
            err("prompt_tokens=10,prompt_tokens_min=20,prompt_tokens_max=5")
                .contains("prompt_tokens_min (20) is larger")
        );
        assert!(err("prompt_tokens=10,prompt_tokens_stdev=-1").contains("prompt_tokens_stdev"));
        assert!(err("output_tokens=10").contains("prompt_tokens is required"));
        assert!(err("prompt_tokens=abc").contains("prompt_tokens: expected a whole number"));
    }

    #[test]
    fn sampling_follows_guidellm() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let fixed = LengthDist::new("p", 100, None, None, None).unwrap();
        assert_eq!(fixed.sample(&mut rng), 100);
        let uniform = LengthDist::new("p", 100, None, Some(10), Some(20)).unwrap();
        let xs: Vec<u64> = (0..1000).map(|_| uniform.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (10..=20).contains(x)));
        assert!(xs.contains(&10) && xs.contains(&20));
        let normal = LengthDist::new("p", 1000, Some(100.0), None, None).unwrap();
        let ys: Vec<u64> = (0..20000).map(|_| normal.sample(&mut rng)).collect();
        let mean = ys.iter().sum::<u64>() as f64 / ys.len() as f64;
        let sd =
            (ys.iter().map(|&y| (y as f64 - mean).powi(2)).sum::<f64>() / ys.len() as f64).sqrt();
        assert!((mean - 1000.0).abs() < 3.0, "{mean}");
        assert!((sd - 100.0).abs() < 3.0, "{sd}");
        assert!(ys.iter().all(|&y| (500..=1500).contains(&y)));
    }

    #[test]
    fn spec_files() {
        let dir = std::env::temp_dir();
        let y = dir.join(format!("llmload-spec-{}.yaml", std::process::id()));
        std::fs::write(
            &y,
            "prompt_tokens: 128\noutput_tokens: 16\nprompt_tokens_stdev: 12.8\n",
        )
        .unwrap();
        let s = SyntheticSpec::from_file(&y).unwrap().unwrap();
        assert_eq!((s.prompt.mean, s.output.unwrap().mean), (128, 16));
        let j = dir.join(format!("llmload-spec-{}.json", std::process::id()));
        std::fs::write(&j, r#"{"prompt_tokens": 64}"#).unwrap();
        assert_eq!(
            SyntheticSpec::from_file(&j).unwrap().unwrap().prompt.mean,
            64
        );
        std::fs::write(&j, r#"[{"prompt": "a dataset"}]"#).unwrap();
        assert_eq!(SyntheticSpec::from_file(&j).unwrap(), None);
        std::fs::write(&y, "prompt_tokens: 8\nbogus: 1\n").unwrap();
        assert!(SyntheticSpec::from_file(&y)
            .unwrap_err()
            .to_string()
            .contains("unknown key \"bogus\""));
        std::fs::remove_file(y).unwrap();
        std::fs::remove_file(j).unwrap();
    }

    #[test]
    fn spec_detection() {
        assert!(SyntheticSpec::looks_like_spec("prompt_tokens=5"));
        assert!(SyntheticSpec::looks_like_spec(r#"{"prompt_tokens": 5}"#));
        assert!(!SyntheticSpec::looks_like_spec("data/prompts.jsonl"));
        assert!(!SyntheticSpec::looks_like_spec("org/dataset"));
    }
}

//! Warmup and cooldown settings: which part of a benchmark is measured.
//!
//! The configuration follows GuideLLM 0.4 (`--warmup 0.1` is a fraction,
//! `--warmup 30` is 30 seconds or 30 requests, or a JSON object with
//! `percent`, `value`, `mode`). The engine places the measured window.

use serde_json::Value;

use crate::constraints::Constraints;

/// How a phase's length is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseMode {
    /// Seconds when the benchmark has `--max-seconds`, else requests (GuideLLM's default).
    #[default]
    PreferDuration,
    /// Requests when the benchmark has `--max-requests`, else seconds.
    PreferRequests,
    /// Seconds only.
    Duration,
    /// Requests only.
    Requests,
    /// Both; warmup ends at the later, cooldown starts at the earlier.
    Both,
}

impl PhaseMode {
    /// GuideLLM's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseMode::PreferDuration => "prefer_duration",
            PhaseMode::PreferRequests => "prefer_requests",
            PhaseMode::Duration => "duration",
            PhaseMode::Requests => "requests",
            PhaseMode::Both => "both",
        }
    }
}

/// A warmup or cooldown setting (GuideLLM's `TransientPhaseConfig`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransientPhase {
    /// A fraction of the benchmark (`< 1`).
    pub percent: Option<f64>,
    /// Seconds or requests (`>= 1`).
    pub value: Option<f64>,
    /// How to read them.
    pub mode: PhaseMode,
}

/// A phase resolved against a benchmark's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResolvedPhase {
    /// Seconds of the phase, if it is counted in seconds.
    pub secs: Option<f64>,
    /// Requests of the phase, if it is counted in requests.
    pub requests: Option<u64>,
}

impl TransientPhase {
    /// Whether it sets anything.
    pub fn is_set(&self) -> bool {
        self.percent.is_some() || self.value.is_some()
    }

    /// Parse `--warmup` / `--cooldown`: a number or a JSON object.
    pub fn parse(flag: &str, raw: &str) -> Result<TransientPhase, String> {
        let raw = raw.trim();
        if let Ok(x) = raw.parse::<f64>() {
            return match x {
                x if !x.is_finite() || x < 0.0 => {
                    Err(format!("{flag}: expected a number >= 0, got {raw}"))
                }
                x if x < 1.0 => Ok(TransientPhase {
                    percent: Some(x),
                    ..Default::default()
                }),
                x => Ok(TransientPhase {
                    value: Some(x),
                    ..Default::default()
                }),
            };
        }
        let v: Value = serde_json::from_str(raw)
            .map_err(|_| format!("{flag}: expected a number (fraction < 1, or seconds/requests >= 1) or a JSON object, got {raw:?}"))?;
        let Value::Object(m) = v else {
            return Err(format!("{flag}: expected a number or a JSON object"));
        };
        let mut p = TransientPhase::default();
        for (k, v) in &m {
            match k.as_str() {
                "percent" => p.percent = v.as_f64().filter(|x| (0.0..1.0).contains(x)).map(Some).ok_or_else(|| format!("{flag} percent: expected 0 <= x < 1"))?,
                "value" => p.value = v.as_f64().filter(|x| *x >= 0.0).map(Some).ok_or_else(|| format!("{flag} value: expected a number >= 0"))?,
                "mode" => {
                    p.mode = match v.as_str() {
                        Some("prefer_duration") => PhaseMode::PreferDuration,
                        Some("prefer_requests") => PhaseMode::PreferRequests,
                        Some("duration") => PhaseMode::Duration,
                        Some("requests") => PhaseMode::Requests,
                        Some("both") => PhaseMode::Both,
                        _ => return Err(format!("{flag} mode: expected prefer_duration, prefer_requests, duration, requests or both")),
                    }
                }
                other => return Err(format!("{flag}: unknown key {other:?} (expected percent, value, mode)")),
            }
        }
        Ok(p)
    }

    /// The phase's length for a benchmark limited by `c`, in seconds or
    /// requests as its mode reads them.
    pub fn resolve(&self, c: &Constraints) -> ResolvedPhase {
        let secs = c
            .max_seconds
            .and_then(|d| self.percent.map(|p| p * d).or(self.value));
        let requests = c.max_requests.and_then(|n| {
            self.percent
                .map(|p| (p * n as f64) as u64)
                .or(self.value.map(|v| v as u64))
        });
        match self.mode {
            PhaseMode::PreferDuration if secs.is_some() => ResolvedPhase {
                secs,
                requests: None,
            },
            PhaseMode::PreferDuration => ResolvedPhase {
                secs: None,
                requests,
            },
            PhaseMode::PreferRequests if requests.is_some() => ResolvedPhase {
                secs: None,
                requests,
            },
            PhaseMode::PreferRequests => ResolvedPhase {
                secs,
                requests: None,
            },
            PhaseMode::Duration => ResolvedPhase {
                secs,
                requests: None,
            },
            PhaseMode::Requests => ResolvedPhase {
                secs: None,
                requests,
            },
            PhaseMode::Both => ResolvedPhase { secs, requests },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(secs: Option<f64>, reqs: Option<u64>) -> Constraints {
        Constraints {
            max_seconds: secs,
            max_requests: reqs,
            ..Default::default()
        }
    }

    #[test]
    fn parse_numbers_and_objects() {
        assert_eq!(
            TransientPhase::parse("--warmup", "0.1").unwrap().percent,
            Some(0.1)
        );
        assert_eq!(
            TransientPhase::parse("--warmup", "30").unwrap().value,
            Some(30.0)
        );
        let p = TransientPhase::parse("--cooldown", r#"{"value": 5, "mode": "requests"}"#).unwrap();
        assert_eq!((p.value, p.mode), (Some(5.0), PhaseMode::Requests));
        assert!(TransientPhase::parse("--warmup", "-1")
            .unwrap_err()
            .contains("--warmup"));
        assert!(TransientPhase::parse("--warmup", r#"{"mode": "x"}"#)
            .unwrap_err()
            .contains("mode"));
        assert!(TransientPhase::parse("--warmup", "soon")
            .unwrap_err()
            .contains("--warmup"));
    }

    #[test]
    fn guidellm_resolution() {
        let p = TransientPhase {
            percent: Some(0.1),
            ..Default::default()
        };
        assert_eq!(
            p.resolve(&c(Some(60.0), Some(100))),
            ResolvedPhase {
                secs: Some(6.0),
                requests: None
            }
        );
        assert_eq!(
            p.resolve(&c(None, Some(100))),
            ResolvedPhase {
                secs: None,
                requests: Some(10)
            }
        );
        assert_eq!(
            p.resolve(&c(None, None)),
            ResolvedPhase::default(),
            "no limit, no effect"
        );
        let v = TransientPhase {
            value: Some(5.0),
            mode: PhaseMode::Requests,
            ..Default::default()
        };
        assert_eq!(
            v.resolve(&c(Some(60.0), Some(100))),
            ResolvedPhase {
                secs: None,
                requests: Some(5)
            }
        );
    }
}

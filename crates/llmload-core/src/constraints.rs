//! Stop conditions of a benchmark, with GuideLLM 0.4's semantics, and the
//! reasons a benchmark stopped. The engine evaluates them.
//!
//! - `max_seconds`: the clock starts at the benchmark start (the first
//!   request's intended send time); at expiry nothing more is sent and
//!   requests in flight are cancelled (reported incomplete).
//! - `max_requests`: exactly N requests are sent; they all finish.
//! - `max_errors`: stop once N requests errored.
//! - `max_error_rate`: over the last 30 finished requests, once 30 have
//!   finished; triggers at `>=` the rate; stops sending and cancels in flight.
//! - `max_global_error_rate`: errored / finished over the whole benchmark,
//!   once 30 have finished.
//! - `over_saturation`: the server stopped keeping up ([`SaturationConfig`]).

use std::fmt;

use llmload_clock::Timestamp;
use serde_json::Value;

/// GuideLLM's sliding window (`GUIDELLM__CONSTRAINT_ERROR_WINDOW_SIZE`).
pub const ERROR_WINDOW: usize = 30;
/// Requests that must finish before an error-rate constraint can trigger.
pub const ERROR_MIN_PROCESSED: u64 = 30;

/// The stop conditions of each benchmark of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Constraints {
    /// Seconds per benchmark.
    pub max_seconds: Option<f64>,
    /// Requests per benchmark.
    pub max_requests: Option<u64>,
    /// Errored requests per benchmark.
    pub max_errors: Option<u64>,
    /// Error rate over the last 30 finished requests (0 < r < 1).
    pub max_error_rate: Option<f64>,
    /// Error rate over the whole benchmark (0 < r < 1).
    pub max_global_error_rate: Option<f64>,
    /// Stop when the server is over-saturated (off by default).
    pub over_saturation: Option<SaturationConfig>,
}

impl Constraints {
    /// Whether any condition bounds the benchmark in time or requests.
    pub fn is_bounded(&self) -> bool {
        self.max_seconds.is_some() || self.max_requests.is_some()
    }
}

/// Why a benchmark stopped sending (and maybe cancelled what was in flight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// `--max-seconds` expired.
    MaxSeconds,
    /// `--max-requests` were sent.
    MaxRequests,
    /// `--max-errors` requests errored.
    MaxErrors,
    /// The sliding-window error rate reached `--max-error-rate`.
    MaxErrorRate,
    /// The overall error rate reached `--max-global-error-rate`.
    MaxGlobalErrorRate,
    /// The server stopped keeping up (`--detect-saturation`).
    OverSaturated,
    /// The data source ran out.
    DataExhausted,
    /// The user interrupted the run.
    Interrupted,
}

impl StopKind {
    /// The flag-style key GuideLLM uses in `scheduler_state` (`max_seconds`, ...).
    pub fn key(self) -> &'static str {
        match self {
            StopKind::MaxSeconds => "max_seconds",
            StopKind::MaxRequests => "max_requests",
            StopKind::MaxErrors => "max_errors",
            StopKind::MaxErrorRate => "max_error_rate",
            StopKind::MaxGlobalErrorRate => "max_global_error_rate",
            StopKind::OverSaturated => "over_saturation",
            StopKind::DataExhausted => "requests_exhausted",
            StopKind::Interrupted => "interrupted",
        }
    }

    /// Whether requests in flight are cancelled (GuideLLM `stop_local`/`stop_all`).
    pub fn cancels_in_flight(self) -> bool {
        !matches!(self, StopKind::MaxRequests | StopKind::DataExhausted)
    }
}

impl fmt::Display for StopKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One stop event.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stop {
    /// What triggered.
    pub kind: StopKind,
    /// When.
    pub at: Timestamp,
    /// A human description (`error rate 0.57 over the last 30 requests >= 0.5`).
    pub detail: String,
}

/// The error-window state, as GuideLLM reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorWindow {
    /// Errored requests in the window.
    pub errors: u64,
    /// Requests in the window.
    pub size: u64,
    /// Requests finished in the benchmark.
    pub processed: u64,
    /// Errored requests in the benchmark.
    pub errored: u64,
}

impl ErrorWindow {
    /// `errors / size`.
    pub fn rate(&self) -> f64 {
        if self.size == 0 {
            0.0
        } else {
            self.errors as f64 / self.size as f64
        }
    }
}

/// Over-saturation detector settings (GuideLLM 0.5's names and defaults).
///
/// A server past saturation shows requests in flight and time to first
/// token both rising steadily while completions per second stop rising;
/// the engine's detector watches for that over a sliding window.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SaturationConfig {
    /// Never before this many seconds.
    pub min_seconds: f64,
    /// Window of recent completions, seconds.
    pub max_window_seconds: f64,
    /// Slopes must exceed this many standard errors.
    pub moe_threshold: f64,
    /// TTFT floor (seconds) half the window must exceed.
    pub minimum_ttft: f64,
    /// Points needed in the window.
    pub minimum_window_size: usize,
}

impl Default for SaturationConfig {
    fn default() -> Self {
        SaturationConfig {
            min_seconds: 30.0,
            max_window_seconds: 120.0,
            moe_threshold: 2.0,
            minimum_ttft: 2.5,
            minimum_window_size: 5,
        }
    }
}

impl SaturationConfig {
    /// Parse `--over-saturation` JSON (`{"enabled": true, "min_seconds": 30, ...}`);
    /// `None` when disabled.
    pub fn parse(raw: &str) -> Result<Option<SaturationConfig>, String> {
        let v: Value =
            serde_json::from_str(raw).map_err(|e| format!("--over-saturation: not JSON ({e})"))?;
        let Value::Object(m) = v else {
            return Err("--over-saturation: expected a JSON object".into());
        };
        let mut c = SaturationConfig::default();
        let mut enabled = true;
        for (k, v) in &m {
            let num = || {
                v.as_f64()
                    .filter(|x| *x >= 0.0)
                    .ok_or_else(|| format!("--over-saturation {k}: expected a number >= 0"))
            };
            match k.as_str() {
                "enabled" => {
                    enabled = v.as_bool().ok_or_else(|| {
                        "--over-saturation enabled: expected true or false".to_string()
                    })?
                }
                "min_seconds" => c.min_seconds = num()?,
                "max_window_seconds" => c.max_window_seconds = num()?,
                "moe_threshold" => c.moe_threshold = num()?,
                "minimum_ttft" => c.minimum_ttft = num()?,
                "minimum_window_size" => c.minimum_window_size = num()? as usize,
                "mode" | "confidence" | "maximum_window_ratio" => {}
                other => return Err(format!("--over-saturation: unknown key {other:?}")),
            }
        }
        Ok(enabled.then_some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_saturation_settings_parse() {
        assert_eq!(
            SaturationConfig::parse(r#"{"enabled": false}"#).unwrap(),
            None
        );
        assert_eq!(
            SaturationConfig::parse(r#"{"min_seconds": 5}"#)
                .unwrap()
                .unwrap()
                .min_seconds,
            5.0
        );
        assert!(SaturationConfig::parse(r#"{"bogus": 1}"#).is_err());
    }

    #[test]
    fn stop_keys_are_guidellms() {
        assert_eq!(StopKind::MaxSeconds.key(), "max_seconds");
        assert_eq!(StopKind::OverSaturated.to_string(), "over_saturation");
        assert_eq!(StopKind::DataExhausted.key(), "requests_exhausted");
        assert!(!StopKind::MaxRequests.cancels_in_flight());
        assert!(StopKind::MaxErrorRate.cancels_in_flight());
    }
}

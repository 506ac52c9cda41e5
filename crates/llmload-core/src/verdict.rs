//! What a verdict on a rate-based benchmark says: whether the server kept
//! up with the rate, did not, or the benchmark did not measure it. The
//! engine judges (docs/metrics.md gives the rules); reports carry the
//! verdicts.

/// Send delay (p99) beyond which the benchmark did not measure the server.
pub const MAX_SEND_LAG_S: f64 = 0.05;
/// Requests that must finish for a benchmark to be judged.
pub const MIN_REQUESTS: usize = 8;
/// Failed requests (share of those sent) that mean the server did not keep up.
pub const MAX_FAILED: f64 = 0.05;

/// p99 limits, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slo {
    /// Time to first token.
    pub ttft_ms: Option<f64>,
    /// Inter-token latency.
    pub itl_ms: Option<f64>,
    /// Request latency.
    pub latency_ms: Option<f64>,
}

/// What a verdict says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server kept up with the asked rate.
    Sustained,
    /// The server did not keep up (the reasons say how).
    Saturated,
    /// The benchmark did not measure the server (the reasons say why):
    /// llmload fell behind its schedule, too short, interrupted.
    Invalid,
}

impl Outcome {
    /// `sustained`, `saturated` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sustained => "sustained",
            Outcome::Saturated => "saturated",
            Outcome::Invalid => "invalid",
        }
    }
}

/// The judgement of one rate-based benchmark.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Asked rate (req/s).
    pub rate: f64,
    /// Requests the server finished per second over the steady part.
    pub achieved: f64,
    /// Sustained, saturated or invalid.
    pub outcome: Outcome,
    /// Why, when not sustained.
    pub reasons: Vec<String>,
    /// p99 of llmload's own send delay (ms), cap waits excluded.
    pub send_lag_p99_ms: Option<f64>,
    /// Invalid because llmload itself fell behind its schedule.
    pub client_limited: bool,
    /// Median and p90 latency of the requests that finished (s).
    pub latency_s: Option<(f64, f64)>,
    /// Requests due early enough to be answered before the end.
    pub due: usize,
    /// Of `due`, those the server started serving (a first token, no error).
    pub served: usize,
    /// For a benchmark too short to judge: seconds that would do.
    pub needs_seconds: Option<f64>,
}

impl Verdict {
    /// Whether the server kept up.
    pub fn sustained(&self) -> bool {
        self.outcome == Outcome::Sustained
    }
}

/// The highest sustained rate among judged steps.
pub fn best_rate(verdicts: &[Verdict]) -> Option<f64> {
    verdicts
        .iter()
        .filter(|v| v.sustained())
        .map(|v| v.rate)
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_rate_is_the_highest_sustained_one() {
        let v = |rate: f64, outcome| Verdict {
            rate,
            achieved: rate,
            outcome,
            reasons: Vec::new(),
            send_lag_p99_ms: None,
            client_limited: false,
            latency_s: None,
            due: 0,
            served: 0,
            needs_seconds: None,
        };
        assert_eq!(best_rate(&[]), None);
        let steps = [
            v(4.0, Outcome::Sustained),
            v(16.0, Outcome::Saturated),
            v(8.0, Outcome::Sustained),
            v(12.0, Outcome::Invalid),
        ];
        assert_eq!(best_rate(&steps), Some(8.0));
        assert_eq!(Outcome::Invalid.as_str(), "invalid");
    }
}

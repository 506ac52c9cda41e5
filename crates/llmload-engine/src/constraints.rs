//! Stop conditions of a benchmark, with GuideLLM 0.4's semantics.
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

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use llmload_clock::Timestamp;
use llmload_metrics::{RequestRecord, RequestStatus};

/// GuideLLM's sliding window (`GUIDELLM__CONSTRAINT_ERROR_WINDOW_SIZE`).
pub const ERROR_WINDOW: usize = 30;
/// Requests that must finish before an error-rate constraint can trigger.
pub const ERROR_MIN_PROCESSED: u64 = 30;

/// The stop conditions of each benchmark of a run.
#[derive(Clone, Debug, Default, PartialEq)]
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
    pub over_saturation: Option<crate::saturation::SaturationConfig>,
}

impl Constraints {
    /// Whether any condition bounds the benchmark in time or requests.
    pub fn is_bounded(&self) -> bool {
        self.max_seconds.is_some() || self.max_requests.is_some()
    }
}

/// Why a benchmark stopped sending (and maybe cancelled what was in flight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    /// What triggered.
    pub kind: StopKind,
    /// When.
    pub at: Timestamp,
    /// A human description (`error rate 0.57 over the last 30 requests >= 0.5`).
    pub detail: String,
}

/// The error-window state, as GuideLLM reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

/// Live evaluation of a benchmark's constraints.
#[derive(Debug)]
pub(crate) struct ConstraintState {
    cfg: Constraints,
    window: VecDeque<bool>,
    window_errors: u64,
    processed: u64,
    errored: u64,
}

impl ConstraintState {
    pub(crate) fn new(cfg: Constraints) -> Self {
        ConstraintState {
            cfg,
            window: VecDeque::with_capacity(ERROR_WINDOW + 1),
            window_errors: 0,
            processed: 0,
            errored: 0,
        }
    }

    /// When `max_seconds` expires for a benchmark started at `start`.
    pub(crate) fn deadline(&self, start: Timestamp) -> Option<Timestamp> {
        self.cfg
            .max_seconds
            .map(|s| start + Duration::from_secs_f64(s))
    }

    /// Account for a finished request; a stop it triggers, if any.
    pub(crate) fn on_finished(&mut self, r: &RequestRecord, at: Timestamp) -> Option<Stop> {
        let is_error = r.status == RequestStatus::Errored;
        self.processed += 1;
        self.errored += is_error as u64;
        self.window.push_back(is_error);
        self.window_errors += is_error as u64;
        if self.window.len() > ERROR_WINDOW && self.window.pop_front() == Some(true) {
            self.window_errors -= 1;
        }
        let w = self.window_state();
        if let Some(n) = self.cfg.max_errors {
            if self.errored >= n {
                return Some(Stop {
                    kind: StopKind::MaxErrors,
                    at,
                    detail: format!("{} requests errored (max {n})", self.errored),
                });
            }
        }
        if let Some(r) = self.cfg.max_error_rate {
            if self.processed >= ERROR_MIN_PROCESSED && w.rate() >= r {
                return Some(Stop {
                    kind: StopKind::MaxErrorRate,
                    at,
                    detail: format!(
                        "error rate {:.3} over the last {} requests >= {r}",
                        w.rate(),
                        w.size
                    ),
                });
            }
        }
        if let Some(r) = self.cfg.max_global_error_rate {
            let rate = self.errored as f64 / self.processed as f64;
            if self.processed >= ERROR_MIN_PROCESSED && rate >= r {
                return Some(Stop {
                    kind: StopKind::MaxGlobalErrorRate,
                    at,
                    detail: format!(
                        "error rate {rate:.3} over {} requests >= {r}",
                        self.processed
                    ),
                });
            }
        }
        None
    }

    pub(crate) fn window_state(&self) -> ErrorWindow {
        ErrorWindow {
            errors: self.window_errors,
            size: self.window.len() as u64,
            processed: self.processed,
            errored: self.errored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_metrics::RequestType;

    fn rec(ok: bool) -> RequestRecord {
        let mut r = RequestRecord::new(RequestType::ChatCompletions, 0);
        r.status = if ok {
            RequestStatus::Completed
        } else {
            RequestStatus::Errored
        };
        r
    }

    #[test]
    fn error_rate_needs_thirty_then_triggers_at_or_above() {
        let mut s = ConstraintState::new(Constraints {
            max_error_rate: Some(0.5),
            ..Default::default()
        });
        let t = Timestamp::from_nanos(1);
        // 29 errors: not yet 30 processed.
        for _ in 0..29 {
            assert_eq!(s.on_finished(&rec(false), t), None);
        }
        let stop = s.on_finished(&rec(false), t).unwrap();
        assert_eq!(stop.kind, StopKind::MaxErrorRate);
        assert_eq!(s.window_state().size, 30);
    }

    #[test]
    fn the_window_slides_over_the_last_thirty() {
        let mut s = ConstraintState::new(Constraints {
            max_error_rate: Some(0.5),
            ..Default::default()
        });
        let t = Timestamp::from_nanos(1);
        // 20 errors then 40 successes: window is clean by the end.
        for i in 0..60 {
            let r = rec(i >= 20);
            let stop = s.on_finished(&r, t);
            // At 30 processed the window holds 20 errors / 30 = 0.67 -> stop.
            if i == 29 {
                assert!(stop.is_some());
                return;
            }
            assert!(stop.is_none(), "{i}");
        }
    }

    #[test]
    fn exactly_at_the_rate_triggers_below_does_not() {
        let t = Timestamp::from_nanos(1);
        let mut s = ConstraintState::new(Constraints {
            max_error_rate: Some(0.5),
            ..Default::default()
        });
        let mut stopped = false;
        for i in 0..30 {
            stopped = s.on_finished(&rec(i % 2 == 0), t).is_some();
        }
        assert!(stopped, "15/30 = 0.5 >= 0.5");
        let mut s = ConstraintState::new(Constraints {
            max_error_rate: Some(0.5),
            ..Default::default()
        });
        for i in 0..30 {
            assert!(
                s.on_finished(&rec(i % 2 == 0 || i == 1), t).is_none(),
                "14/30 < 0.5"
            );
        }
    }

    #[test]
    fn max_errors_and_global_rate() {
        let t = Timestamp::from_nanos(1);
        let mut s = ConstraintState::new(Constraints {
            max_errors: Some(3),
            ..Default::default()
        });
        assert!(s.on_finished(&rec(false), t).is_none());
        assert!(s.on_finished(&rec(false), t).is_none());
        assert_eq!(
            s.on_finished(&rec(false), t).unwrap().kind,
            StopKind::MaxErrors
        );
        let mut g = ConstraintState::new(Constraints {
            max_global_error_rate: Some(0.1),
            ..Default::default()
        });
        for i in 0..29 {
            assert!(g.on_finished(&rec(i > 5), t).is_none());
        }
        assert_eq!(
            g.on_finished(&rec(true), t).unwrap().kind,
            StopKind::MaxGlobalErrorRate
        );
    }
}

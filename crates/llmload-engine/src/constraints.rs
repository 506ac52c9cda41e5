//! Evaluating a benchmark's stop conditions as its requests finish, with
//! GuideLLM 0.4's semantics (the conditions themselves, and what each
//! means, are llmload-core's [`Constraints`]).

use std::collections::VecDeque;
use std::time::Duration;

use llmload_clock::Timestamp;
use llmload_core::{Constraints, ErrorWindow, Stop, StopKind, ERROR_MIN_PROCESSED, ERROR_WINDOW};
use llmload_metrics::{Measured, RequestStatus};

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
    pub(crate) fn on_finished(&mut self, r: &impl Measured, at: Timestamp) -> Option<Stop> {
        let is_error = r.status() == RequestStatus::Errored;
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
    use llmload_metrics::{RequestRecord, RequestType};

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
    fn over_shards_records_the_first_stop_is_in_finish_order() {
        // Records as shards left them (not in finish order), 6 errors:
        // max_errors 5 stops one process at the 5th error to finish.
        let t = |s: u64| llmload_clock::Timestamp::from_nanos(1_000_000_000 * s);
        let mut records = Vec::new();
        for (i, ok) in [true, false, false, true, false, false, false, false]
            .into_iter()
            .enumerate()
        {
            let mut r = rec(ok);
            r.timings.finalized = Some(t(10 - i as u64));
            records.push(r);
        }
        let c = Constraints {
            max_errors: Some(5),
            ..Constraints::default()
        };
        let stop = crate::first_stop(&c, &records).unwrap();
        assert_eq!(stop.kind, StopKind::MaxErrors);
        // The errors finish at 3, 4, 5, 6, 8 and 9 s: the 5th at 8 s.
        assert_eq!(stop.at, t(8));
        assert!(crate::first_stop(&Constraints::default(), &records).is_none());
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

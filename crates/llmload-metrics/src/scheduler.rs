//! Averages of the scheduling stages of every request a benchmark made:
//! GuideLLM's `scheduler_metrics.*_avg` fields.

use llmload_clock::Timestamp;
use serde::{Deserialize, Serialize};

use llmload_core::{Measured, RequestStatus, Timing};

/// Mean duration of each stage, in seconds; `-1.0` where no request had both
/// ends of the stage (GuideLLM's convention).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerAverages {
    /// `dequeued - queued`
    pub queued_time_avg: f64,
    /// `resolve_start - scheduled_at`
    pub resolve_start_delay_avg: f64,
    /// `resolve_start - targeted_start`
    pub resolve_targeted_start_delay_avg: f64,
    /// `request_start - resolve_start`
    pub request_start_delay_avg: f64,
    /// `request_start - targeted_start`
    pub request_targeted_start_delay_avg: f64,
    /// `request_end - request_start`
    pub request_time_avg: f64,
    /// `resolve_end - request_end`
    pub resolve_end_delay_avg: f64,
    /// `resolve_end - resolve_start`
    pub resolve_time_avg: f64,
    /// `finalized - resolve_end`
    pub finalized_delay_avg: f64,
    /// Delay from finalization to accumulation; llmload accumulates on
    /// finalization, so this is 0.
    pub processed_delay_avg: f64,
}

#[derive(Default)]
struct Mean {
    sum: f64,
    n: u64,
}

impl Mean {
    fn add(&mut self, later: Option<Timestamp>, earlier: Option<Timestamp>) {
        if let (Some(a), Some(b)) = (later, earlier) {
            self.sum += a.secs_since(b);
            self.n += 1;
        }
    }
    fn get(&self) -> f64 {
        if self.n == 0 {
            -1.0
        } else {
            self.sum / self.n as f64
        }
    }
}

impl SchedulerAverages {
    /// Averages over every request that started resolving.
    pub fn compile<R: Measured>(records: &[R]) -> Self {
        let mut m: [Mean; 9] = Default::default();
        let mut any = false;
        for r in records {
            if r.status() == RequestStatus::Cancelled && r.resolve_start().is_none() {
                continue;
            }
            any = true;
            use Timing::*;
            let t = |at| r.timing(at);
            m[0].add(t(Dequeued), t(Queued));
            m[1].add(t(ResolveStart), t(ScheduledAt));
            m[2].add(t(ResolveStart), t(TargetedStart));
            m[3].add(t(RequestStart), t(ResolveStart));
            m[4].add(t(RequestStart), t(TargetedStart));
            m[5].add(t(RequestEnd), t(RequestStart));
            m[6].add(t(ResolveEnd), t(RequestEnd));
            m[7].add(t(ResolveEnd), t(ResolveStart));
            m[8].add(t(Finalized), t(ResolveEnd));
        }
        SchedulerAverages {
            queued_time_avg: m[0].get(),
            resolve_start_delay_avg: m[1].get(),
            resolve_targeted_start_delay_avg: m[2].get(),
            request_start_delay_avg: m[3].get(),
            request_targeted_start_delay_avg: m[4].get(),
            request_time_avg: m[5].get(),
            resolve_end_delay_avg: m[6].get(),
            resolve_time_avg: m[7].get(),
            finalized_delay_avg: m[8].get(),
            processed_delay_avg: if any { 0.0 } else { -1.0 },
        }
    }
}

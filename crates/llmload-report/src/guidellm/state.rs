//! GuideLLM 0.4's constraint and scheduler-state objects: what each stop
//! condition was configured to, and where it stood when the benchmark ended.

use llmload_clock::Timestamp;
use llmload_core::{BenchmarkRun, Constraints, Stop, StopKind, ERROR_MIN_PROCESSED, ERROR_WINDOW};
use llmload_metrics::{Measured, RequestStatus};
use serde_json::{json, Map, Value};

use super::build::secs;

/// The raw constraint values (`profile.constraints`).
pub(super) fn constraint_values(c: &Constraints) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(s) = c.max_seconds {
        m.insert("max_seconds".into(), json!(s));
    }
    if let Some(n) = c.max_requests {
        m.insert("max_requests".into(), json!(n));
    }
    if let Some(n) = c.max_errors {
        m.insert("max_errors".into(), json!(n));
    }
    if let Some(r) = c.max_error_rate {
        m.insert("max_error_rate".into(), json!(r));
    }
    if let Some(r) = c.max_global_error_rate {
        m.insert("max_global_error_rate".into(), json!(r));
    }
    if let Some(o) = &c.over_saturation {
        m.insert(
            "over_saturation".into(),
            json!({"enabled": true, "min_seconds": o.min_seconds}),
        );
    }
    m
}

/// `config.constraints`: the constraint initializers keyed by flag.
pub(super) fn constraint_initializers(c: &Constraints, index: usize) -> Value {
    let mut m = Map::new();
    if let Some(s) = c.max_seconds {
        m.insert(
            "max_seconds".into(),
            json!({"type_": "max_duration", "max_duration": s, "current_index": index}),
        );
    }
    if let Some(n) = c.max_requests {
        m.insert(
            "max_requests".into(),
            json!({"type_": "max_number", "max_num": n, "current_index": index}),
        );
    }
    if let Some(n) = c.max_errors {
        m.insert(
            "max_errors".into(),
            json!({"type_": "max_errors", "max_errors": n, "current_index": index}),
        );
    }
    if let Some(r) = c.max_error_rate {
        m.insert(
            "max_error_rate".into(),
            json!({"type_": "max_error_rate", "max_error_rate": r, "window_size": ERROR_WINDOW as f64, "error_window": [], "current_index": index}),
        );
    }
    if let Some(r) = c.max_global_error_rate {
        m.insert(
            "max_global_error_rate".into(),
            json!({"type_": "max_global_error_rate", "max_error_rate": r, "min_processed": ERROR_MIN_PROCESSED as f64, "current_index": index}),
        );
    }
    if let Some(o) = &c.over_saturation {
        m.insert(
            "over_saturation".into(),
            json!({"type_": "over_saturation", "enabled": true, "min_seconds": o.min_seconds,
                   "max_window_seconds": o.max_window_seconds, "moe_threshold": o.moe_threshold,
                   "minimum_ttft": o.minimum_ttft, "minimum_window_size": o.minimum_window_size,
                   "current_index": index}),
        );
    }
    Value::Object(m)
}

/// A scheduler progress object.
fn progress(
    c: &Constraints,
    run: &BenchmarkRun,
    at: Timestamp,
    stop_time: Option<Timestamp>,
) -> Value {
    let total_requests = c.max_requests.map(|n| n as f64);
    let total_duration = c.max_seconds;
    json!({
        "remaining_requests": total_requests.map(|n| (n - run.created as f64).max(0.0)),
        "total_requests": total_requests,
        "remaining_duration": total_duration.map(|d| (d - at.secs_since(run.start)).max(0.0)),
        "total_duration": total_duration,
        "stop_time": stop_time.map(secs)
    })
}

/// The state of one configured (or triggered) constraint at `at`, as
/// GuideLLM's `SchedulerUpdateAction`.
fn action(kind: StopKind, run: &BenchmarkRun, triggered: Option<&Stop>, at: Timestamp) -> Value {
    let c = &run.constraints;
    let fired = triggered.is_some();
    let stop_time = triggered.map(|s| s.at);
    let processed = run.created - run.never_started;
    let errored = run
        .records
        .iter()
        .filter(|r| r.status() == RequestStatus::Errored)
        .count() as u64;
    let (queuing, processing) = match (fired, kind) {
        (false, _) => ("continue", "continue"),
        (true, StopKind::MaxRequests | StopKind::DataExhausted) => ("stop", "continue"),
        (true, StopKind::MaxSeconds | StopKind::Interrupted) => ("stop", "stop_local"),
        (true, _) => ("stop", "stop_all"),
    };
    let metadata = match kind {
        StopKind::MaxSeconds => {
            let max = c.max_seconds.unwrap_or_default();
            json!({
                "max_duration": max, "elapsed_time": at.secs_since(run.start), "duration_exceeded": fired,
                "start_time": secs(run.start), "current_time": secs(at),
                "stop_time": secs(run.start + std::time::Duration::from_secs_f64(max))
            })
        }
        StopKind::MaxRequests => {
            let max = c.max_requests.unwrap_or_default();
            json!({
                "max_number": max, "create_exceeded": run.created >= max, "processed_exceeded": processed >= max,
                "created_requests": run.created, "processed_requests": processed,
                "remaining_requests": max.saturating_sub(processed), "stop_time": stop_time.map(secs)
            })
        }
        StopKind::MaxErrors => {
            let max = c.max_errors.unwrap_or_default();
            json!({"max_errors": max, "errors_exceeded": errored >= max, "current_errors": errored, "stop_time": stop_time.map(secs)})
        }
        StopKind::MaxErrorRate => {
            let w = run.error_window;
            let r = c.max_error_rate.unwrap_or_default();
            let min = w.processed >= ERROR_MIN_PROCESSED;
            json!({
                "max_error_rate": r, "window_size": ERROR_WINDOW as f64, "error_count": w.errors,
                "processed_count": w.processed, "current_window_size": w.size, "current_error_rate": w.rate(),
                "exceeded_min_processed": min, "exceeded_error_rate": w.rate() >= r, "exceeded": min && w.rate() >= r,
                "stop_time": stop_time.map(secs)
            })
        }
        StopKind::MaxGlobalErrorRate => {
            let w = run.error_window;
            let r = c.max_global_error_rate.unwrap_or_default();
            let rate = if w.processed == 0 {
                0.0
            } else {
                w.errored as f64 / w.processed as f64
            };
            let min = w.processed >= ERROR_MIN_PROCESSED;
            json!({
                "max_error_rate": r, "min_processed": ERROR_MIN_PROCESSED as f64, "processed_requests": w.processed,
                "errored_requests": w.errored, "error_rate": rate, "exceeded_min_processed": min,
                "exceeded_error_rate": rate >= r, "exceeded": min && rate >= r, "stop_time": stop_time.map(secs)
            })
        }
        StopKind::DataExhausted => json!({
            "num_requests": run.created, "create_exceeded": true, "processed_exceeded": true,
            "created_requests": run.created, "processed_requests": processed, "remaining_requests": 0,
            "stop_time": stop_time.map(secs), "detail": triggered.map(|s| s.detail.clone())
        }),
        StopKind::Interrupted => json!({"interrupted": true, "stop_time": stop_time.map(secs)}),
        StopKind::OverSaturated => json!({
            "is_over_saturated": fired, "detail": triggered.map(|s| s.detail.clone()), "stop_time": stop_time.map(secs)
        }),
    };
    json!({
        "request_queuing": queuing,
        "request_processing": processing,
        "metadata": metadata,
        "progress": progress(c, run, at, stop_time)
    })
}

fn configured(c: &Constraints) -> Vec<StopKind> {
    let mut v = Vec::new();
    if c.max_seconds.is_some() {
        v.push(StopKind::MaxSeconds);
    }
    if c.max_requests.is_some() {
        v.push(StopKind::MaxRequests);
    }
    if c.max_errors.is_some() {
        v.push(StopKind::MaxErrors);
    }
    if c.max_error_rate.is_some() {
        v.push(StopKind::MaxErrorRate);
    }
    if c.max_global_error_rate.is_some() {
        v.push(StopKind::MaxGlobalErrorRate);
    }
    if c.over_saturation.is_some() {
        v.push(StopKind::OverSaturated);
    }
    v
}

pub(crate) fn scheduler_state(run: &BenchmarkRun, workers: u32) -> Value {
    let queue_stop = run.end_queuing.as_ref();
    let proc_stop = run.end_processing.as_ref().or(queue_stop);
    let at_queue = queue_stop.map_or(run.end, |s| s.at);
    let at_proc = run.end_processing.as_ref().map_or(run.end, |s| s.at);
    let keyed = |stop: Option<&Stop>, at: Timestamp| -> Value {
        let mut m = Map::new();
        if let Some(s) = stop {
            m.insert(s.kind.key().into(), action(s.kind, run, Some(s), at));
        }
        Value::Object(m)
    };
    let mut all = Map::new();
    for kind in configured(&run.constraints) {
        let fired = [queue_stop, run.end_processing.as_ref()]
            .into_iter()
            .flatten()
            .find(|s| s.kind == kind);
        all.insert(kind.key().into(), action(kind, run, fired, run.end));
    }
    let count = |s: RequestStatus| run.records.iter().filter(|r| r.status() == s).count() as u64;
    let stop_time = match queue_stop {
        Some(Stop {
            kind: StopKind::MaxSeconds,
            ..
        }) => Some(run.request_end),
        _ => None,
    };
    json!({
        "node_id": 0,
        "num_processes": workers,
        "start_time": secs(run.start),
        "end_time": secs(run.end),
        "end_queuing_time": queue_stop.map(|_| secs(at_queue)),
        "end_queuing_constraints": keyed(queue_stop, at_queue),
        "end_processing_time": proc_stop.map(|_| secs(at_proc)),
        "end_processing_constraints": keyed(proc_stop, at_proc),
        "scheduler_constraints": Value::Object(all),
        "progress": progress(&run.constraints, run, run.end, stop_time),
        "created_requests": run.created,
        "queued_requests": 0,
        "pending_requests": 0,
        "processing_requests": 0,
        "processed_requests": run.created,
        "successful_requests": count(RequestStatus::Completed),
        "errored_requests": count(RequestStatus::Errored),
        "cancelled_requests": count(RequestStatus::Cancelled) + run.never_started
    })
}

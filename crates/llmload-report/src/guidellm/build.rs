//! Building a GuideLLM 0.4 report from llmload's benchmark runs.
//!
//! The shapes of `strategy`, `profile`, `constraints` and `scheduler_state`
//! follow GuideLLM 0.4.0's pydantic models field by field, so GuideLLM's own
//! `GenerativeBenchmarksReport.load_file` reads llmload reports.

use llmload_clock::Timestamp;
use llmload_engine::{
    successful_rate, BenchmarkRun, Constraints, Profile, Stop, StopKind, Strategy, TransientPhase,
    Verdict, ERROR_MIN_PROCESSED, ERROR_WINDOW,
};
use llmload_metrics::{
    BenchmarkMetrics, RequestRecord, RequestStatus, RequestType, SchedulerAverages, Selection,
    StatusDistribution,
};
use serde_json::{json, Map, Value};

use super::convert::request_stats;
use super::wire::{
    self, Benchmark, BenchmarkConfig, Counts, Report, Requests, SchedulerMetrics, Sds,
};

/// What the report says about the run as a whole.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// GuideLLM 0.4's flat `args` object, as the command line gave them.
    pub args: Value,
    /// The profile that was run.
    pub profile: Profile,
    /// `--random-seed`.
    pub random_seed: u64,
    /// Normalized target URL.
    pub target: String,
    /// The model requests were sent to.
    pub model: Option<String>,
    /// Read timeout in seconds.
    pub timeout: Option<f64>,
    /// TLS verification.
    pub verify: bool,
    /// Route.
    pub request_type: RequestType,
    /// `--data` values.
    pub data: Vec<String>,
    /// `--data-samples`.
    pub data_samples: i64,
    /// `--sample-requests`: records kept per status (all when `None`).
    pub sample_requests: Option<u64>,
    /// Tokio worker threads sending requests.
    pub workers: u32,
    /// The run's id (shared by its benchmarks).
    pub run_id: String,
    /// `--warmup`.
    pub warmup: TransientPhase,
    /// `--cooldown`.
    pub cooldown: TransientPhase,
    /// The max-throughput search's verdicts, for a search profile.
    pub search: Option<Vec<Verdict>>,
    /// Why the profile stopped early, if it did.
    pub aborted: Option<String>,
}

fn phase_json(p: &TransientPhase) -> wire::TransientPhase {
    wire::TransientPhase {
        percent: p.percent,
        value: p.value,
        mode: p.mode.as_str().into(),
    }
}

fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

/// `config.strategy`.
pub fn strategy_json(s: &Strategy, workers: u32, seed: u64) -> Value {
    match *s {
        Strategy::Synchronous => {
            json!({"type_": "synchronous", "worker_count": 1, "max_concurrency": 1})
        }
        Strategy::Concurrent { streams } => json!({
            "type_": "concurrent", "worker_count": workers.min(streams).max(1), "max_concurrency": streams,
            "streams": streams, "rampup_duration": 0.0
        }),
        Strategy::Throughput { max_concurrency } => json!({
            "type_": "throughput", "worker_count": workers, "max_concurrency": max_concurrency, "rampup_duration": 0.0
        }),
        Strategy::Constant {
            rate,
            max_concurrency,
        } => json!({
            "type_": "constant", "worker_count": workers, "max_concurrency": max_concurrency, "rate": rate
        }),
        Strategy::Poisson {
            rate,
            max_concurrency,
            seed: s,
        } => json!({
            "type_": "poisson", "worker_count": workers, "max_concurrency": max_concurrency, "rate": rate,
            "random_seed": if s == 0 { seed } else { s }
        }),
    }
}

/// The raw constraint values (`profile.constraints`).
fn constraint_values(c: &Constraints) -> Map<String, Value> {
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
fn constraint_initializers(c: &Constraints, index: usize) -> Value {
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

/// `config.profile`.
fn profile_json(info: &RunInfo, runs: &[BenchmarkRun], constraints: &Constraints) -> Value {
    let completed: Vec<Value> = runs
        .iter()
        .map(|r| strategy_json(&r.strategy, info.workers, info.random_seed))
        .collect();
    let types: Vec<&str> = runs.iter().map(|r| r.strategy.type_name()).collect();
    let mut m = Map::new();
    m.insert("type_".into(), json!(info.profile.type_name()));
    m.insert("completed_strategies".into(), Value::Array(completed));
    m.insert(
        "constraints".into(),
        Value::Object(constraint_values(constraints)),
    );
    m.insert("rampup_duration".into(), json!(0.0));
    match &info.profile {
        Profile::Synchronous => {}
        Profile::Concurrent(streams) => {
            m.insert("streams".into(), json!(streams));
        }
        Profile::Throughput => {
            m.insert("max_concurrency".into(), Value::Null);
        }
        Profile::Constant(rates) | Profile::Poisson(rates) => {
            m.insert("strategy_type".into(), json!(info.profile.type_name()));
            m.insert("rate".into(), json!(rates));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.random_seed));
        }
        // A search is a series of constant rates (GuideLLM can load it as
        // one); its verdicts are under the report's `llmload.search`.
        Profile::Search(_) => {
            let rates: Vec<f64> = runs.iter().filter_map(|r| r.strategy.rate()).collect();
            m.insert("strategy_type".into(), json!("constant"));
            m.insert("rate".into(), json!(rates));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.random_seed));
        }
        Profile::Sweep { size } => {
            let rate = |i: usize| runs.get(i).map_or(-1.0, successful_rate);
            let measured: Vec<f64> = runs
                .iter()
                .skip(2)
                .filter_map(|r| r.strategy.rate())
                .collect();
            m.insert("sweep_size".into(), json!(size));
            m.insert("strategy_type".into(), json!("constant"));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.random_seed));
            m.insert("synchronous_rate".into(), json!(rate(0)));
            m.insert("throughput_rate".into(), json!(rate(1)));
            m.insert("async_rates".into(), json!([]));
            m.insert("measured_rates".into(), json!(measured));
        }
    }
    m.insert("strategy_types".into(), json!(types));
    Value::Object(m)
}

fn backend_json(info: &RunInfo) -> Value {
    json!({
        "target": info.target,
        "model": info.model,
        "timeout": info.timeout,
        "http2": false,
        "follow_redirects": false,
        "verify": info.verify,
        "openai_paths": {
            "health": "health",
            "models": "v1/models",
            "text_completions": "v1/completions",
            "chat_completions": "v1/chat/completions",
            "audio_transcriptions": "v1/audio/transcriptions",
            "audio_translations": "v1/audio/translations"
        },
        "validate_backend": {"method": "GET", "url": format!("{}/v1/models", info.target)}
    })
}

fn requests_json(info: &RunInfo) -> Value {
    let formatter = match info.request_type {
        RequestType::ChatCompletions => "GenerativeChatCompletionsRequestFormatter",
        RequestType::TextCompletions => "GenerativeTextCompletionsRequestFormatter",
    };
    let data: Vec<String> = info.data.iter().map(|d| format!("'{d}'")).collect();
    json!({
        "data": format!("[{}]", data.join(", ")),
        "data_args": "[]",
        "data_samples": info.data_samples,
        "preprocessors": ["GenerativeColumnMapper", formatter],
        "collator": "GenerativeRequestCollator",
        "sampler": "None",
        "num_workers": 1,
        "random_seed": info.random_seed
    })
}

fn environment_json(info: &RunInfo) -> Value {
    json!({
        "str": format!("llmload {} single-process environment, {} worker threads", env!("CARGO_PKG_VERSION"), info.workers),
        "type": "NonDistributedEnvironment",
        "class": "NonDistributedEnvironment",
        "module": "llmload",
        "attributes": {"run_errors": []}
    })
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
        .filter(|r| r.status == RequestStatus::Errored)
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

fn scheduler_state(run: &BenchmarkRun, workers: u32) -> Value {
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
    let count = |s: RequestStatus| run.records.iter().filter(|r| r.status == s).count() as u64;
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

/// Up to `n` records, evenly spaced over the run (all when `n` is `None`).
fn sample(records: Vec<&RequestRecord>, n: Option<u64>) -> Vec<&RequestRecord> {
    match n {
        Some(n) if (n as usize) < records.len() => {
            let (len, n) = (records.len(), n as usize);
            (0..n).map(|i| records[i * len / n]).collect()
        }
        _ => records,
    }
}

fn percentile_summary(d: &StatusDistribution) -> Value {
    let p = &d.total.percentiles;
    json!({"mean": d.total.mean, "p50": p.p50, "p90": p.p90, "p99": p.p99, "max": d.total.max, "count": d.total.count})
}

/// llmload's additions to a benchmark (`benchmarks[].llmload`).
fn extras(run: &BenchmarkRun, m: &BenchmarkMetrics) -> Value {
    let errors: Map<String, Value> = m
        .errors_by_kind
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), json!(v)))
        .collect();
    let stop = |s: &Option<Stop>| {
        s.as_ref()
            .map(|s| json!({"reason": s.kind.key(), "at": secs(s.at), "detail": s.detail}))
    };
    json!({
        "strategy": run.strategy.to_string(),
        "asked_rate": run.strategy.rate(),
        "achieved_rate": m.requests_per_second.total.mean,
        "stopped_sending": stop(&run.end_queuing),
        "measured_requests": if run.measure_by_start { "started in window" } else { "overlapping window" },
        "cancelled_in_flight": stop(&run.end_processing),
        "errors_by_kind": errors,
        "dispatch_delay_ms": m.request_dispatch_delay.as_ref().map(|d| {
            let mut v = percentile_summary(d);
            for k in ["mean", "p50", "p90", "p99", "max"] {
                v[k] = json!(v[k].as_f64().unwrap_or(0.0) * 1000.0);
            }
            v
        }),
        "request_dispatch_delay": m.request_dispatch_delay.as_ref().map(Sds::from),
        "request_scheduled_latency": m.request_scheduled_latency.as_ref().map(Sds::from),
    })
}

/// One benchmark of the report.
pub fn benchmark(info: &RunInfo, runs: &[BenchmarkRun], run: &BenchmarkRun) -> Benchmark {
    let selection = if run.measure_by_start {
        Selection::StartedWithin
    } else {
        Selection::Overlap
    };
    let metrics =
        BenchmarkMetrics::compile_with(&run.records, run.measure_start, run.measure_end, selection);
    let avgs = SchedulerAverages::compile(&run.records);
    let request_start = run.start;
    let request_end = run.request_end;
    let mut sorted: Vec<&RequestRecord> = run.records.iter().collect();
    sorted.sort_by_key(|r| r.request_start_time());
    let pick = |s: RequestStatus| {
        sample(
            sorted.iter().copied().filter(|r| r.status == s).collect(),
            info.sample_requests,
        )
        .into_iter()
        .map(|r| request_stats(r, run.start))
        .collect()
    };
    let count = |s: RequestStatus| run.records.iter().filter(|r| r.status == s).count() as u64;
    let made = Counts {
        successful: count(RequestStatus::Completed),
        errored: count(RequestStatus::Errored),
        incomplete: count(RequestStatus::Cancelled),
        total: run.records.len() as u64,
    };
    Benchmark {
        type_: "generative_benchmark".into(),
        config: BenchmarkConfig {
            id_: uuid::Uuid::new_v4().to_string(),
            run_id: info.run_id.clone(),
            run_index: run.index as u64,
            strategy: strategy_json(&run.strategy, info.workers, info.random_seed),
            constraints: constraint_initializers(&run.constraints, run.index),
            sample_requests: info.sample_requests,
            warmup: phase_json(&info.warmup),
            cooldown: phase_json(&info.cooldown),
            prefer_response_metrics: true,
            profile: profile_json(info, runs, &run.constraints),
            requests: requests_json(info),
            backend: backend_json(info),
            environment: environment_json(info),
        },
        scheduler_state: scheduler_state(run, info.workers),
        scheduler_metrics: SchedulerMetrics {
            start_time: secs(run.start),
            request_start_time: secs(request_start),
            measure_start_time: secs(run.measure_start),
            measure_end_time: secs(run.measure_end),
            request_end_time: secs(request_end),
            end_time: secs(run.end),
            requests_made: made,
            queued_time_avg: avgs.queued_time_avg,
            resolve_start_delay_avg: avgs.resolve_start_delay_avg,
            resolve_targeted_start_delay_avg: avgs.resolve_targeted_start_delay_avg,
            request_start_delay_avg: avgs.request_start_delay_avg,
            request_targeted_start_delay_avg: avgs.request_targeted_start_delay_avg,
            request_time_avg: avgs.request_time_avg,
            resolve_end_delay_avg: avgs.resolve_end_delay_avg,
            resolve_time_avg: avgs.resolve_time_avg,
            finalized_delay_avg: avgs.finalized_delay_avg,
            processed_delay_avg: avgs.processed_delay_avg,
        },
        metrics: Box::new((&metrics).into()),
        requests: Requests {
            successful: pick(RequestStatus::Completed),
            errored: pick(RequestStatus::Errored),
            incomplete: pick(RequestStatus::Cancelled),
            total: None,
        },
        start_time: secs(run.measure_start),
        end_time: secs(run.measure_end),
        duration: run.measure_end.secs_since(run.measure_start),
        warmup_duration: run.measure_start.secs_since(request_start),
        cooldown_duration: request_end.secs_since(run.measure_end),
        llmload: Some(extras(run, &metrics)),
    }
}

/// The whole report.
pub fn report(info: &RunInfo, runs: &[BenchmarkRun]) -> Report {
    Report {
        args: info.args.clone(),
        benchmarks: runs.iter().map(|r| benchmark(info, runs, r)).collect(),
        llmload: Some(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "run_id": info.run_id,
            "platform": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            "profile_stopped": info.aborted,
            "search": info.search.as_ref().map(|steps| json!({
                "best_rate": llmload_engine::best_rate(steps),
                "steps": steps.iter().map(|v| json!({
                    "rate": v.rate, "achieved": v.achieved, "sustained": v.sustained, "reasons": v.reasons
                })).collect::<Vec<_>>(),
            })),
        })),
    }
}

//! Building a GuideLLM 0.4 report from llmload's benchmark runs.
//!
//! The shapes of `strategy`, `profile`, `constraints` and `scheduler_state`
//! follow GuideLLM 0.4.0's pydantic models field by field, so GuideLLM's own
//! `GenerativeBenchmarksReport.load_file` reads llmload reports.

use llmload_clock::Timestamp;
use std::sync::Arc;

use llmload_core::{
    best_rate, client_ceiling, BenchmarkRun, CompactRecord, Constraints, Details, Measured,
    Profile, RunPlan, Stop, Strategy, TransientPhase, Verdict,
};
use llmload_metrics::{
    successful_rate, BenchmarkMetrics, RequestRecord, RequestStatus, RequestType,
    SchedulerAverages, Selection, StatusDistribution,
};
use serde_json::{json, Map, Value};

use super::convert::request_stats;
use super::state::{constraint_initializers, constraint_values, scheduler_state};
use super::streamed::{Lazy, SAMPLE_IN_MEMORY};
use super::wire::{
    self, Benchmark, BenchmarkConfig, Counts, Report, Requests, SchedulerMetrics, Sds,
};

/// What the report says about the run as a whole.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// GuideLLM 0.4's flat `args` object, as the command line gave them.
    pub args: Value,
    /// What the run was asked to do (profile, constraints, seed, warmup,
    /// cooldown, rampup), as planned.
    pub run: RunPlan,
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
    /// Past this many listed requests a benchmark whose records were
    /// spilled lists them as the report is written, not from memory
    /// ([`LIST_IN_MEMORY`] but in tests).
    pub list_in_memory: u64,
    /// Tokio worker threads sending requests.
    pub workers: u32,
    /// Their scheduling class (real-time, short slice or fair), in words.
    pub scheduling: String,
    /// The run's id (shared by its benchmarks).
    pub run_id: String,
    /// The max-throughput search's verdicts, for a search profile.
    pub search: Option<Vec<Verdict>>,
    /// Why the profile stopped early, if it did.
    pub aborted: Option<String>,
    /// `--processor`: the tokenizer that counted prompt tokens.
    pub processor: Option<String>,
    /// `(format, path)` of each report file written.
    pub outputs: Vec<(String, String)>,
    /// `key=value` labels (GuideLLM 0.8's `--label`).
    pub labels: Vec<(String, String)>,
    /// GuideLLM 0.8's per-benchmark overrides (`config.benchmarks`, e.g.
    /// `[{"profile.streams": 1}, {"profile.streams": 2}]`), when given.
    pub overrides: Option<Vec<serde_json::Value>>,
    /// The shards a run was merged from (`llmload merge`), per shard.
    pub shards: Option<serde_json::Value>,
}

fn phase_json(p: &TransientPhase) -> wire::TransientPhase {
    wire::TransientPhase {
        percent: p.percent,
        value: p.value,
        mode: p.mode.as_str().into(),
    }
}

pub(crate) fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

/// `config.strategy`.
pub fn strategy_json(s: &Strategy, workers: u32, seed: u64, rampup: f64) -> Value {
    match *s {
        Strategy::Synchronous => {
            json!({"type_": "synchronous", "worker_count": 1, "max_concurrency": 1})
        }
        Strategy::Concurrent { streams } => json!({
            "type_": "concurrent", "worker_count": workers.min(streams).max(1), "max_concurrency": streams,
            "streams": streams, "rampup_duration": rampup
        }),
        Strategy::Throughput { max_concurrency } => json!({
            "type_": "throughput", "worker_count": workers, "max_concurrency": max_concurrency, "rampup_duration": rampup
        }),
        Strategy::Constant {
            rate,
            max_concurrency,
        } => {
            let mut v = json!({
                "type_": "constant", "worker_count": workers, "max_concurrency": max_concurrency, "rate": rate
            });
            // GuideLLM 0.4's constant strategy has no rampup (its loader ignores the key).
            if rampup > 0.0 {
                v["rampup_duration"] = json!(rampup);
            }
            v
        }
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

/// The strategy a `config.strategy` object describes (the inverse of
/// [`strategy_json`]; `worker_count` and `rampup_duration` are not part of it).
pub fn strategy_from_json(v: &Value) -> Option<Strategy> {
    let u32_of = |k: &str| v[k].as_u64().and_then(|n| u32::try_from(n).ok());
    Some(match v["type_"].as_str()? {
        "synchronous" => Strategy::Synchronous,
        "concurrent" => Strategy::Concurrent {
            streams: u32_of("streams").or_else(|| u32_of("max_concurrency"))?,
        },
        "throughput" => Strategy::Throughput {
            max_concurrency: u32_of("max_concurrency")?,
        },
        "constant" => Strategy::Constant {
            rate: v["rate"].as_f64()?,
            max_concurrency: u32_of("max_concurrency")?,
        },
        "poisson" => Strategy::Poisson {
            rate: v["rate"].as_f64()?,
            max_concurrency: u32_of("max_concurrency")?,
            seed: v["random_seed"].as_u64()?,
        },
        _ => return None,
    })
}

/// `config.profile`.
fn profile_json(info: &RunInfo, runs: &[BenchmarkRun], constraints: &Constraints) -> Value {
    let completed: Vec<Value> = runs
        .iter()
        .map(|r| {
            strategy_json(
                &r.strategy,
                info.workers,
                info.run.seed,
                info.run.rampup.as_secs_f64(),
            )
        })
        .collect();
    let types: Vec<&str> = runs.iter().map(|r| r.strategy.type_name()).collect();
    let mut m = Map::new();
    m.insert("type_".into(), json!(info.run.profile.type_name()));
    m.insert("completed_strategies".into(), Value::Array(completed));
    m.insert(
        "constraints".into(),
        Value::Object(constraint_values(constraints)),
    );
    m.insert(
        "rampup_duration".into(),
        json!(info.run.rampup.as_secs_f64()),
    );
    match &info.run.profile {
        Profile::Synchronous => {}
        Profile::Concurrent(streams) => {
            m.insert("streams".into(), json!(streams));
        }
        Profile::Throughput => {
            m.insert("max_concurrency".into(), Value::Null);
        }
        Profile::Constant(rates) | Profile::Poisson(rates) => {
            m.insert("strategy_type".into(), json!(info.run.profile.type_name()));
            m.insert("rate".into(), json!(rates));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.run.seed));
        }
        // A search is a series of constant rates (GuideLLM can load it as
        // one); its verdicts are under the report's `llmload.search`.
        Profile::Search(_) => {
            let rates: Vec<f64> = runs.iter().filter_map(|r| r.strategy.rate()).collect();
            m.insert("strategy_type".into(), json!("constant"));
            m.insert("rate".into(), json!(rates));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.run.seed));
        }
        Profile::Sweep { size } => {
            let rate = |i: usize| {
                runs.get(i).map_or(-1.0, |r| {
                    successful_rate(&r.records, r.measure_start, r.measure_end)
                })
            };
            let measured: Vec<f64> = runs
                .iter()
                .skip(2)
                .filter_map(|r| r.strategy.rate())
                .collect();
            m.insert("sweep_size".into(), json!(size));
            m.insert("strategy_type".into(), json!("constant"));
            m.insert("max_concurrency".into(), Value::Null);
            m.insert("random_seed".into(), json!(info.run.seed));
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
        "random_seed": info.run.seed
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

fn percentile_summary(d: &StatusDistribution) -> Value {
    let p = &d.total.percentiles;
    json!({"mean": d.total.mean, "p50": p.p50, "p90": p.p90, "p99": p.p99, "max": d.total.max, "count": d.total.count})
}

/// llmload's additions to a benchmark (`benchmarks[].llmload`).
/// A verdict as the report carries it.
pub fn verdict_json(v: &Verdict) -> Value {
    json!({
        "rate": v.rate,
        "achieved": v.achieved,
        "outcome": v.outcome.as_str(),
        "sustained": v.sustained(),
        "reasons": v.reasons,
        "due": v.due,
        "served": v.served,
        "send_lag_p99_ms": v.send_lag_p99_ms,
        "client_limited": v.client_limited,
        "latency_p50_s": v.latency_s.map(|l| l.0),
        "latency_p90_s": v.latency_s.map(|l| l.1),
        "needs_seconds": v.needs_seconds,
    })
}

pub(crate) fn extras(run: &BenchmarkRun, m: &BenchmarkMetrics) -> Value {
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
        "error_messages": crate::errors::messages_json(m),
        "dispatch_delay_ms": m.request_dispatch_delay.as_ref().map(|d| {
            let mut v = percentile_summary(d);
            for k in ["mean", "p50", "p90", "p99", "max"] {
                v[k] = json!(v[k].as_f64().unwrap_or(0.0) * 1000.0);
            }
            v
        }),
        "request_dispatch_delay": m.request_dispatch_delay.as_ref().map(Sds::from),
        "request_scheduled_latency": m.request_scheduled_latency.as_ref().map(Sds::from),
        "goodput": goodput(run, m),
        "prefix_cache": prefix_cache(run),
        "server_metrics": crate::server::section(run),
        "timeline": serde_json::to_value(llmload_metrics::timeline::Timeline::compile(
            &run.records,
            &run.server,
            run.start,
            run.end,
        ))
        .unwrap_or(Value::Null),
        "verdict": run.verdict.as_ref().map(verdict_json),
        "host": run.host.map(|h| json!({"load_1m": h.load_1m, "cores": h.cores})),
    })
}

/// The measured successful requests (as goodput counts them).
fn measured(run: &BenchmarkRun) -> impl Iterator<Item = &CompactRecord> {
    run.records
        .iter()
        .filter(|r| r.status() == RequestStatus::Completed)
        .filter(|r| match (r.request_start_time(), r.request_end_time()) {
            (Some(a), _) if run.measure_by_start => a >= run.measure_start && a <= run.measure_end,
            (Some(a), Some(b)) => b >= run.measure_start && a <= run.measure_end,
            _ => false,
        })
}

/// Of the prompt tokens of the measured successful requests whose server
/// reported `cached_tokens`, how many it served from its prefix cache
/// (`null` when none reported); for multi-turn conversations, also per
/// turn position (`by_turn`).
fn prefix_cache(run: &BenchmarkRun) -> Value {
    // Per turn index: (requests, prompt tokens, cached tokens).
    let mut turns: std::collections::BTreeMap<u32, (u64, u64, u64)> = Default::default();
    for r in measured(run) {
        if let (Some(c), Some(p)) = (r.cached_tokens(), r.prompt_tokens()) {
            let t = turns.entry(r.turn_index()).or_default();
            *t = (t.0 + 1, t.1 + p, t.2 + c);
        }
    }
    if turns.is_empty() {
        return Value::Null;
    }
    let entry = |(n, prompt, cached): (u64, u64, u64)| {
        let percent = if prompt == 0 {
            0.0
        } else {
            100.0 * cached as f64 / prompt as f64
        };
        json!({"requests": n, "prompt_tokens": prompt, "cached_tokens": cached, "hit_percent": percent})
    };
    let total = turns
        .values()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    let mut v = entry(total);
    if turns.keys().any(|&k| k > 0) {
        v["by_turn"] = turns
            .into_iter()
            .map(|(k, t)| {
                let mut e = entry(t);
                e["turn_index"] = json!(k);
                e
            })
            .collect();
    }
    v
}

/// Per SLO use case: the fraction of measured successful requests that met
/// every limit, and that fraction of the successful request rate.
fn goodput(run: &BenchmarkRun, m: &BenchmarkMetrics) -> Value {
    let measured: Vec<&CompactRecord> = measured(run).collect();
    let rate = m.requests_per_second.successful.mean;
    let per_case = crate::slo::use_cases().iter().map(|uc| {
        let g = crate::slo::goodput(
            uc,
            measured.iter().map(|r| {
                (
                    r.time_to_first_token_ms(),
                    r.inter_token_latency_ms(),
                    r.request_latency(),
                )
            }),
            rate,
        );
        (
            uc.key.clone(),
            json!({"fraction": g.fraction, "requests_per_second": g.requests_per_second}),
        )
    });
    Value::Object(per_case.collect())
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
    let listing = crate::listed::listing(run, info.sample_requests);
    let stats = |v: &[RequestRecord]| v.iter().map(|r| request_stats(r, run.start)).collect();
    // A long run's requests stay where it spilled them: the report lists
    // them as it is written, and keeps an even sample in memory.
    let streamed = match &run.details {
        Details::Spilled(_) if listing.len() as u64 > info.list_in_memory => {
            Some(Arc::new(Lazy(super::streamed::Source::Run {
                details: run.details.clone(),
                index: run.index,
                start: run.start,
                listing: listing.clone(),
            })))
        }
        _ => None,
    };
    let kept = match streamed {
        Some(_) => listing.sampled(SAMPLE_IN_MEMORY),
        None => listing,
    };
    let [ok, err, inc] = crate::listed::fetch(run, &kept);
    let count = |s: RequestStatus| run.records.iter().filter(|r| r.status() == s).count() as u64;
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
            strategy: strategy_json(
                &run.strategy,
                info.workers,
                info.run.seed,
                info.run.rampup.as_secs_f64(),
            ),
            constraints: constraint_initializers(&run.constraints, run.index),
            sample_requests: info.sample_requests,
            warmup: phase_json(&info.run.warmup),
            cooldown: phase_json(&info.run.cooldown),
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
            successful: stats(&ok),
            errored: stats(&err),
            incomplete: stats(&inc),
            total: None,
            streamed: wire::Streamed(streamed),
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
            "scheduling": info.scheduling,
            "profile_stopped": info.aborted,
            "shards": info.shards,
            "search": info.search.as_ref().map(|steps| json!({
                "best_rate": best_rate(steps),
                "client_ceiling": client_ceiling(steps),
                "steps": steps.iter().map(verdict_json).collect::<Vec<_>>(),
            })),
        })),
    }
}

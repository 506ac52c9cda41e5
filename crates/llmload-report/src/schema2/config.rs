//! The run's `config` (GuideLLM 0.8's `BenchmarkScenario`) and each
//! benchmark's configuration objects, from what llmload was asked.
//!
//! GuideLLM's loader validates `config` strictly (no unknown keys), so only
//! its own fields appear here; llmload's additions live under `llmload`
//! keys elsewhere.

use llmload_core::{Constraints, Profile, Strategy, TransientPhase};
use llmload_metrics::RequestType;
use serde_json::{json, Map, Value};

use crate::guidellm::RunInfo;

/// GuideLLM's default routes (`api_routes`).
fn api_routes() -> Value {
    json!({
        "/health": "health",
        "/v1/models": "v1/models",
        "/v1/completions": "v1/completions",
        "/v1/chat/completions": "v1/chat/completions",
        "/v1/embeddings": "v1/embeddings",
        "/v1/responses": "v1/responses",
        "/v1/audio/transcriptions": "v1/audio/transcriptions",
        "/v1/audio/translations": "v1/audio/translations",
        "/pooling": "pooling"
    })
}

/// The `openai_http` backend as resolved for the run.
pub fn backend(info: &RunInfo) -> Value {
    let format = match info.request_type {
        RequestType::ChatCompletions => "/v1/chat/completions",
        RequestType::TextCompletions => "/v1/completions",
    };
    json!({
        "kind": "openai_http",
        "target": info.target,
        "model": info.model.clone().unwrap_or_default(),
        "request_format": format,
        "api_key": null,
        "api_routes": api_routes(),
        "timeout": info.timeout,
        "timeout_connect": 5.0,
        "http2": false,
        "follow_redirects": false,
        "verify": info.verify,
        "validate_backend": true,
        "stream": true,
        "extras": null,
        "max_tokens": null,
        "server_history": false,
        "tool_call_missing_behavior": "error_stop",
        "multiturn_reasoning": false
    })
}

/// A warmup or cooldown setting.
pub fn phase(p: &TransientPhase) -> Value {
    json!({"percent": p.percent, "value": p.value, "mode": p.mode.as_str()})
}

/// The profile: its kind, the shared phases, then the kind's own fields.
/// llmload's search runs constant rates and is written as such.
pub fn profile(info: &RunInfo, rates_run: &[f64]) -> Value {
    let mut m = Map::new();
    let kind = match info.run.profile {
        Profile::Sweep { .. } => "sweep",
        ref p => p.type_name(),
    };
    m.insert("kind".into(), json!(kind));
    m.insert(
        "rampup_duration".into(),
        json!(info.run.rampup.as_secs_f64()),
    );
    m.insert("warmup".into(), phase(&info.run.warmup));
    m.insert("cooldown".into(), phase(&info.run.cooldown));
    match &info.run.profile {
        Profile::Synchronous => {}
        Profile::Concurrent(streams) => {
            m.insert("streams".into(), json!(streams));
        }
        Profile::Throughput => {
            m.insert("max_concurrency".into(), Value::Null);
        }
        Profile::Constant(rates) | Profile::Poisson(rates) => {
            m.insert("rate".into(), json!(rates));
            m.insert("max_concurrency".into(), Value::Null);
        }
        Profile::Search(_) => {
            m.insert("rate".into(), json!(rates_run));
            m.insert("max_concurrency".into(), Value::Null);
        }
        Profile::Sweep { size } => {
            m.insert("sweep_size".into(), json!(size));
            m.insert("strategy_type".into(), json!("constant"));
            m.insert(
                "max_concurrency".into(),
                json!(llmload_core::SWEEP_MAX_CONCURRENCY),
            );
        }
    }
    Value::Object(m)
}

/// A number as GuideLLM keeps what it was given: a whole number of seconds
/// as an int (`--max-seconds 15` is `15`, not `15.0`).
pub fn whole(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The configured constraints in 0.8's names, as `(key, args)` pairs.
pub fn constraint_args(c: &Constraints) -> Vec<(&'static str, Value)> {
    let scope = "current";
    let mut v = Vec::new();
    if let Some(s) = c.max_seconds {
        v.push((
            "max_duration",
            json!({"kind": "max_duration", "stopping_scope": scope, "seconds": whole(s)}),
        ));
    }
    if let Some(n) = c.max_requests {
        v.push((
            "max_requests",
            json!({"kind": "max_requests", "stopping_scope": scope, "count": n}),
        ));
    }
    if let Some(n) = c.max_errors {
        v.push((
            "max_errors",
            json!({"kind": "max_errors", "stopping_scope": scope, "count": n}),
        ));
    }
    if let Some(r) = c.max_error_rate {
        v.push((
            "max_error_rate",
            json!({"kind": "max_error_rate", "stopping_scope": scope, "rate": r,
                   "window": llmload_core::ERROR_WINDOW}),
        ));
    }
    if let Some(r) = c.max_global_error_rate {
        v.push((
            "max_global_error_rate",
            json!({"kind": "max_global_error_rate", "stopping_scope": scope, "rate": r,
                   "minimum": llmload_core::ERROR_MIN_PROCESSED}),
        ));
    }
    if let Some(o) = &c.over_saturation {
        v.push((
            "over_saturation",
            json!({"kind": "over_saturation", "stopping_scope": scope, "mode": "enforce",
                   "min_seconds": o.min_seconds, "max_window_seconds": o.max_window_seconds,
                   "moe_threshold": o.moe_threshold, "minimum_ttft": o.minimum_ttft,
                   "maximum_window_ratio": 0.75, "minimum_window_size": o.minimum_window_size,
                   "confidence": 0.95}),
        ));
    }
    v
}

/// `benchmarks[].config.constraints`: keyed, with the sub-benchmark index.
/// With per-benchmark overrides (`benchmarks`), 0.8.1 gives each argument
/// as the list of its values, one per benchmark (`"seconds": [8, 8]`).
pub fn constraint_initializers(c: &Constraints, index: usize, benchmarks: Option<usize>) -> Value {
    let m: Map<String, Value> = constraint_args(c)
        .into_iter()
        .map(|(k, mut args)| {
            if let (Some(n), Value::Object(a)) = (benchmarks, &mut args) {
                for (key, v) in a.iter_mut() {
                    if key != "kind" && key != "stopping_scope" {
                        *v = Value::Array(vec![v.clone(); n]);
                    }
                }
            }
            (
                k.to_string(),
                json!({"type_": k, "args": args, "current_index": index}),
            )
        })
        .collect();
    Value::Object(m)
}

/// `benchmarks[].config.strategy`.
pub fn strategy(s: &Strategy, workers: u32, rampup: f64) -> Value {
    match *s {
        Strategy::Synchronous => {
            json!({"type_": "synchronous", "worker_count": 1, "max_concurrency": 1})
        }
        Strategy::Concurrent { streams } => json!({
            "type_": "concurrent", "worker_count": workers.min(streams).max(1),
            "max_concurrency": streams, "streams": streams, "rampup_duration": rampup
        }),
        Strategy::Throughput { max_concurrency } => json!({
            "type_": "throughput", "worker_count": workers, "max_concurrency": max_concurrency,
            "rampup_duration": rampup
        }),
        Strategy::Constant {
            rate,
            max_concurrency,
        } => json!({
            "type_": "constant", "worker_count": workers, "max_concurrency": max_concurrency,
            "rate": rate, "rampup_duration": rampup
        }),
        Strategy::Poisson {
            rate,
            max_concurrency,
            seed,
        } => json!({
            "type_": "poisson", "worker_count": workers, "max_concurrency": max_concurrency,
            "rate": rate, "random_seed": seed, "rampup_duration": rampup
        }),
    }
}

/// The length fields of `synthetic_text` that GuideLLM 0.4's `--data`
/// spec also has (the first eight of [`SYNTHETIC_FIELDS`]).
pub(crate) const LENGTH_FIELDS: [&str; 8] = [
    "prompt_tokens",
    "prompt_tokens_stdev",
    "prompt_tokens_min",
    "prompt_tokens_max",
    "output_tokens",
    "output_tokens_stdev",
    "output_tokens_min",
    "output_tokens_max",
];

/// Every field of `synthetic_text`, null unless given.
const SYNTHETIC_FIELDS: [&str; 20] = [
    "prompt_tokens",
    "prompt_tokens_stdev",
    "prompt_tokens_min",
    "prompt_tokens_max",
    "output_tokens",
    "output_tokens_stdev",
    "output_tokens_min",
    "output_tokens_max",
    "first_prompt_tokens",
    "first_prompt_tokens_stdev",
    "first_prompt_tokens_min",
    "first_prompt_tokens_max",
    "first_output_tokens",
    "first_output_tokens_stdev",
    "first_output_tokens_min",
    "first_output_tokens_max",
    "delay",
    "delay_stdev",
    "delay_min",
    "delay_max",
];

/// One `--data` value as a 0.8 data spec: a synthetic one (`k=v,...` or a
/// JSON object) as `synthetic_text`, a file by its extension, else a
/// Hugging Face dataset.
pub fn data(raw: &str) -> Value {
    let pairs: Option<Map<String, Value>> = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Some(m),
        _ if raw.contains('=') => Some(
            raw.split(',')
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    let v = v.trim();
                    let n = v
                        .parse::<u64>()
                        .map(Value::from)
                        .or_else(|_| v.parse::<f64>().map(Value::from))
                        .unwrap_or_else(|_| Value::from(v));
                    Some((k.trim().to_string(), n))
                })
                .collect(),
        ),
        _ => None,
    };
    if let Some(m) = pairs.filter(|m| m.contains_key("prompt_tokens")) {
        let mut out = Map::new();
        out.insert("kind".into(), json!("synthetic_text"));
        out.insert("load_kwargs".into(), json!({}));
        for f in SYNTHETIC_FIELDS {
            out.insert(f.into(), m.get(f).cloned().unwrap_or(Value::Null));
        }
        out.insert("turns".into(), m.get("turns").cloned().unwrap_or(json!(1)));
        for f in ["tool_call_turns", "server_tool_call_turns", "branches"] {
            out.insert(f.into(), json!([]));
        }
        for f in [
            "tools",
            "tool_response_tokens",
            "tool_response_tokens_stdev",
            "tool_response_tokens_min",
            "tool_response_tokens_max",
        ] {
            out.insert(f.into(), Value::Null);
        }
        let prefix = m.get("prefix_tokens").and_then(Value::as_u64).unwrap_or(0);
        let buckets = match m.get("prefix_buckets").and_then(Value::as_array) {
            Some(b) => Value::Array(
                b.iter()
                    .map(|b| {
                        let f = |k: &str, d: u64| b.get(k).cloned().unwrap_or(json!(d));
                        json!({"bucket_weight": f("bucket_weight", 100),
                               "prefix_count": f("prefix_count", 1),
                               "prefix_tokens": f("prefix_tokens", 0)})
                    })
                    .collect(),
            ),
            None if prefix > 0 => json!([{"bucket_weight": 100, "prefix_count":
                m.get("prefix_count").cloned().unwrap_or(json!(1)), "prefix_tokens": prefix}]),
            None => Value::Null,
        };
        out.insert("prefix_buckets".into(), buckets);
        return Value::Object(out);
    }
    let kind = match raw.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
        Some(e) if e == "csv" => "csv_file",
        Some(e) if e == "json" || e == "jsonl" => "json_file",
        Some(e) if e == "txt" => "text_file",
        Some(e) if e == "parquet" => "parquet_file",
        _ if std::path::Path::new(raw).exists() => "text_file",
        _ => "huggingface",
    };
    if kind == "huggingface" {
        json!({"kind": kind, "source": raw, "load_kwargs": {}})
    } else {
        json!({"kind": kind, "path": raw, "load_kwargs": {}})
    }
}

/// The data loader and metrics settings shared by the spec and benchmarks.
pub fn data_loader(info: &RunInfo) -> Value {
    json!({"kind": "pytorch", "samples": info.data_samples, "shuffle": false,
           "num_workers": 1, "prefetch_factor": 4096})
}

/// GuideLLM 0.8.1's default warning rules (`metrics.warnings`), which each
/// benchmark evaluates ([`super::warnings`]).
pub fn warning_rules() -> Value {
    json!([
        {"enabled": true, "code": "generation_delay_ttft",
         "metric": {"name": "generation_delay", "statistic": "mean", "scale": 1.0},
         "relative_to": {"name": "time_to_first_token_ms.total", "statistic": "mean", "scale": 0.001},
         "threshold": 0.01,
         "note": "This means that the benchmark was likely bottlenecked by the data generation.",
         "when": null},
        {"enabled": true, "code": "root_late",
         "metric": {"name": "root_dispatch_delay", "statistic": "p95", "scale": 1.0},
         "relative_to": null, "threshold": 0.2,
         "note": "This means that conversations were loaded late.", "when": null},
        {"enabled": true, "code": "dataset_incomplete",
         "metric": {"name": "dataset_incomplete", "statistic": "mean", "scale": 1.0},
         "relative_to": null, "threshold": 0.0,
         "note": "The trace dataset was not fully loaded. This could result in late arrivals of trace conversations.",
         "when": {"name": "strategy_type", "equals": "trace"}}
    ])
}

/// `config.spec.metrics`.
pub fn metrics(info: &RunInfo) -> Value {
    json!({"kind": "generative", "warnings": warning_rules(), "sample_size": info.sample_requests,
           "prefer_response_metrics": true, "confidence": llmload_metrics::CONFIDENCE,
           "slo": null})
}

/// The run's `config`: `{metadata, spec, benchmarks}`.
pub fn scenario(info: &RunInfo, constraints: &Constraints, rates_run: &[f64]) -> Value {
    let constraints: Vec<Value> = constraint_args(constraints)
        .into_iter()
        .map(|c| c.1)
        .collect();
    let outputs: Vec<Value> = info
        .outputs
        .iter()
        .map(|(kind, path)| json!({"kind": kind, "path": path}))
        .collect();
    let labels: Map<String, Value> = info
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut doc = json!({
        "metadata": {"labels": labels},
        "spec": {
            "backend": backend(info),
            "profile": profile(info, rates_run),
            "constraints": constraints,
            "data": info.data.iter().map(|d| data(d)).collect::<Vec<_>>(),
            "data_column_mapper": {"kind": "generative_column_mapper", "column_mappings": null},
            "data_preprocessors": [{"kind": "encode_media", "audio_kwargs": {},
                                    "image_kwargs": {}, "video_kwargs": {}}],
            "data_finalizer": {"kind": "generative", "tool_call_mode": "client"},
            "data_loader": data_loader(info),
            "seed": {"kind": "static", "value": info.run.seed},
            "outputs": outputs,
            "metrics": metrics(info)
        },
        "benchmarks": info.overrides.clone().map_or(json!([null]), Value::Array)
    });
    // The tokenizer that counted prompt tokens (GuideLLM's loader takes an
    // absent one, not a null).
    if let Some(p) = &info.processor {
        let spec = doc["spec"].as_object_mut().expect("an object");
        let mut ordered = Map::new();
        for (k, v) in std::mem::take(spec) {
            let after = k == "constraints";
            ordered.insert(k, v);
            if after {
                ordered.insert(
                    "tokenizer".into(),
                    json!({"kind": "huggingface_auto", "model": p, "load_kwargs": {}}),
                );
            }
        }
        *spec = ordered;
    }
    doc
}

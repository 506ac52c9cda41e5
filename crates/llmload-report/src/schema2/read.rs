//! Reading a GuideLLM 0.8 report (schema 2, GuideLLM's or llmload's): as
//! the results model the console, HTML, compare, slo and monotonic read
//! ([`results`]), and as GuideLLM 0.4's report for writing 0.4 outputs
//! from it ([`to_v04`]: what is lost converting down is said below).
//!
//! A 0.8 benchmark has every 0.4 field under the same name and unit (0.8
//! adds fields: confidence intervals, turns, warnings, round trips), so the
//! benchmarks are read as they are; the run's flat 0.4 `args` are made
//! from its `config.spec`. Converting down loses what 0.4 has no place for:
//! the intervals, per-turn metrics, warnings, the 0.8-only distributions
//! and `config` itself (kept in `llmload.schema2_config`).

use serde_json::{json, Map, Value};

use crate::guidellm::wire::Report;

/// Whether `doc` is a schema-2 report.
pub fn is_schema2(doc: &Value) -> bool {
    doc["metadata"]["version"].as_u64() == Some(super::VERSION)
        && doc.get("benchmarks").is_some_and(Value::is_array)
}

/// A synthetic 0.8 data spec as 0.4's `k=v,...` string; a file its path.
fn data_arg(d: &Value) -> String {
    match d["kind"].as_str() {
        Some("synthetic_text") => {
            let keys = super::config::LENGTH_FIELDS;
            keys.iter()
                .filter_map(|k| {
                    d.get(*k)
                        .filter(|v| !v.is_null())
                        .map(|v| format!("{k}={v}"))
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        _ => d
            .get("path")
            .or(d.get("source"))
            .and_then(Value::as_str)
            .map_or_else(|| d.to_string(), String::from),
    }
}

/// GuideLLM 0.4's flat `args` for a 0.8 `config.spec`.
fn args(spec: &Value) -> Value {
    let b = &spec["backend"];
    let p = &spec["profile"];
    let kind = p["kind"].as_str().unwrap_or("");
    let rate = match kind {
        "concurrent" => p["streams"].clone(),
        "sweep" => json!([p["sweep_size"]]),
        "throughput" | "synchronous" => Value::Null,
        _ => p["rate"].clone(),
    };
    let mut c = Map::new();
    for con in spec["constraints"].as_array().into_iter().flatten() {
        let (key, field) = match con["kind"].as_str() {
            Some("max_duration") => ("max_seconds", "seconds"),
            Some("max_requests") => ("max_requests", "count"),
            Some("max_errors") => ("max_errors", "count"),
            Some("max_error_rate") => ("max_error_rate", "rate"),
            Some("max_global_error_rate") => ("max_global_error_rate", "rate"),
            _ => continue,
        };
        c.insert(key.into(), con[field].clone());
    }
    let request_type = match b["request_format"].as_str() {
        Some("/v1/completions") => "text_completions",
        _ => "chat_completions",
    };
    let data: Vec<String> = spec["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(data_arg)
        .collect();
    json!({
        "target": b["target"],
        "backend": b["kind"],
        "model": b["model"],
        "request_type": request_type,
        "processor": spec["tokenizer"]["model"],
        "data": data,
        "data_samples": spec["data_loader"]["samples"],
        "profile": if kind == "async" { "constant" } else { kind },
        "rate_type": if kind == "async" { "constant" } else { kind },
        "rate": rate,
        "random_seed": spec["seed"]["value"],
        "max_seconds": c.get("max_seconds"),
        "max_requests": c.get("max_requests"),
        "max_errors": c.get("max_errors"),
        "max_error_rate": c.get("max_error_rate"),
        "max_global_error_rate": c.get("max_global_error_rate"),
        "warmup": p["warmup"],
        "cooldown": p["cooldown"],
        "rampup": p["rampup_duration"],
        "sample_requests": spec["metrics"]["sample_size"],
    })
}

/// The 0.4 view of a schema-2 report.
pub fn to_v04(doc: &Value) -> Result<Report, String> {
    if !is_schema2(doc) {
        return Err("not a GuideLLM 0.8 report (metadata.version 2 with a benchmarks list)".into());
    }
    let mut benchmarks = Vec::new();
    for (i, b) in doc["benchmarks"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut b = b.clone();
        // 0.4 calls the per-status sample size sample_requests.
        if let Some(cfg) = b["config"].as_object_mut() {
            let size = cfg.remove("sample_size").unwrap_or(Value::Null);
            cfg.insert("sample_requests".into(), size);
        }
        let parsed = serde_json::from_value(b).map_err(|e| format!("benchmark {i}: {e}"))?;
        benchmarks.push(parsed);
    }
    let mut llmload = doc.get("llmload").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = llmload.as_object_mut() {
        m.insert("schema2_config".into(), doc["config"].clone());
    }
    Ok(Report {
        args: args(&doc["config"]["spec"]),
        benchmarks,
        llmload: Some(llmload),
    })
}

/// The results of a schema-2 report: its benchmarks as they are (0.8 has
/// every field the model reads, under 0.4's names and units), what was
/// asked from its `config.spec`.
pub fn results(doc: &Value) -> Result<crate::model::Results, String> {
    crate::model::Results::from_report(&to_v04(doc)?, crate::model::Schema::V2)
}

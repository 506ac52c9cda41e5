//! Replays the request records of GuideLLM 0.8.1's own reports (constant,
//! sweep, multi-turn, against a real vLLM) through llmload's metrics code
//! and checks every distribution both compute, with 0.8's confidence
//! intervals: counts exactly, every float within 1e-6 relative.

use std::path::Path;

use llmload_clock::Timestamp;
use llmload_metrics::{BenchmarkMetrics, MetricsSummary, StatusDistribution, TextMetrics};
use llmload_report::guidellm::{record_from_stats, wire};
use llmload_report::schema2::stats::{ds, sds, turns};
use serde_json::{json, Value};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) + 1e-9
}

fn compare(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get(k) {
                    Some(x) => compare(x, v, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            let ok = if path.ends_with(".count") {
                x == y
            } else {
                close(x, y)
            };
            if !ok {
                out.push(format!("{path}: ours {x} guidellm {y}"));
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: ours {a} guidellm {b}")),
    }
}

/// The distributions llmload computes, by their 0.8 names.
fn ours(m: &BenchmarkMetrics) -> Vec<(&'static str, Value)> {
    let mut v = vec![
        ("requests_per_second", sds(&m.requests_per_second)),
        ("request_concurrency", sds(&m.request_concurrency)),
        ("request_latency", sds(&m.request_latency)),
        (
            "request_streaming_iterations_count",
            sds(&m.request_streaming_iterations_count),
        ),
        ("prompt_token_count", sds(&m.prompt_token_count)),
        ("output_token_count", sds(&m.output_token_count)),
        ("total_token_count", sds(&m.total_token_count)),
        ("time_to_first_token_ms", sds(&m.time_to_first_token_ms)),
        ("time_per_output_token_ms", sds(&m.time_per_output_token_ms)),
        ("inter_token_latency_ms", sds(&m.inter_token_latency_ms)),
        ("prompt_tokens_per_second", sds(&m.prompt_tokens_per_second)),
        ("output_tokens_per_second", sds(&m.output_tokens_per_second)),
        ("tokens_per_second", sds(&m.tokens_per_second)),
        (
            "output_tokens_per_iteration",
            sds(&m.output_tokens_per_iteration),
        ),
        (
            "iter_tokens_per_iteration",
            sds(&m.iter_tokens_per_iteration),
        ),
    ];
    // Absent on one side and present on the other is a difference too.
    let opt = |d: &Option<StatusDistribution>| d.as_ref().map_or(Value::Null, sds);
    v.extend([
        (
            "time_to_first_output_token_ms",
            opt(&m.time_to_first_output_token_ms),
        ),
        ("request_dispatch_delay", opt(&m.request_dispatch_delay)),
        (
            "request_scheduled_latency",
            opt(&m.request_scheduled_latency),
        ),
        (
            "root_dispatch_delay",
            m.root_dispatch_delay.as_ref().map_or(Value::Null, ds),
        ),
        ("turn_predecessor_delay", opt(&m.turn_predecessor_delay)),
        ("turn_scheduling_delay", opt(&m.turn_scheduling_delay)),
        ("turns", m.turns.as_deref().map_or(Value::Null, turns)),
        ("text", text(&m.text)),
    ]);
    v
}

/// `metrics.text`: tokens, words and characters, each side with its rate
/// and concurrency.
fn text(t: &TextMetrics) -> Value {
    let summary = |s: &MetricsSummary| {
        let f = |x: &Option<StatusDistribution>| x.as_ref().map_or(Value::Null, sds);
        json!({
            "input": f(&s.input), "input_per_second": f(&s.input_per_second),
            "input_concurrency": f(&s.input_concurrency), "output": f(&s.output),
            "output_per_second": f(&s.output_per_second),
            "output_concurrency": f(&s.output_concurrency), "total": f(&s.total),
            "total_per_second": f(&s.total_per_second),
            "total_concurrency": f(&s.total_concurrency)
        })
    };
    json!({
        "tokens": summary(&t.tokens), "words": summary(&t.words),
        "characters": summary(&t.characters)
    })
}

#[test]
fn statistics_match_guidellm_08_on_every_fixture() {
    let dir = Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.8.1");
    let mut checked = 0;
    let mut turns_checked = 0;
    let mut all = Vec::new();
    for name in ["constant", "sweep", "multiturn"] {
        let path = dir.join(name).join("benchmarks.json");
        let raw: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (i, b) in raw["benchmarks"].as_array().unwrap().iter().enumerate() {
            let records: Vec<_> = ["successful", "errored", "incomplete"]
                .iter()
                .flat_map(|s| b["requests"][s].as_array().unwrap())
                .map(|r| {
                    record_from_stats(
                        &serde_json::from_value::<wire::RequestStats>(r.clone()).unwrap(),
                    )
                })
                .collect();
            let t = |k: &str| {
                Timestamp::from_secs_f64(b["scheduler_metrics"][k].as_f64().unwrap()).unwrap()
            };
            let schedule = matches!(
                b["config"]["strategy"]["type_"].as_str(),
                Some("constant" | "poisson")
            );
            let m = BenchmarkMetrics::compile_08(
                &records,
                t("measure_start_time"),
                t("measure_end_time"),
                schedule,
            );
            turns_checked += usize::from(m.turns.is_some());
            let mut diffs = Vec::new();
            for (key, value) in ours(&m).into_iter() {
                compare(
                    &value,
                    &b["metrics"][key],
                    &format!("metrics.{key}"),
                    &mut diffs,
                );
            }
            if !diffs.is_empty() {
                all.push(format!(
                    "{name} benchmark {i}: {} differences:\n{}",
                    diffs.len(),
                    diffs
                        .iter()
                        .take(30)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            checked += 1;
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n\n"));
    assert_eq!(checked, 5, "constant 1, sweep 2, multi-turn 2 benchmarks");
    assert!(
        turns_checked >= 2,
        "the multi-turn fixture's per-turn metrics were compared"
    );
}

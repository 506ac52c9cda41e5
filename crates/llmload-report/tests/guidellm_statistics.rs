//! Replays the request records of GuideLLM 0.4.0's own reports through
//! llmload's metrics code and checks every distribution GuideLLM computed:
//! counts exactly, every float within 1e-6 relative.

use std::path::Path;

use llmload_clock::Timestamp;
use llmload_metrics::BenchmarkMetrics;
use llmload_report::guidellm::{record_from_stats, wire};
use serde_json::Value;

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
        (Value::Number(a), Value::Number(b)) => {
            let exact = path.ends_with(".count") || b.is_u64() && !path.contains("percentiles");
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            let ok = if exact && path.ends_with(".count") {
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

#[test]
fn statistics_match_guidellm_on_every_fixture() {
    let mut checked = 0;
    let dir = Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.4.0");
    for name in ["mock-constant5", "vllm-constant2", "vllm-sweep4"] {
        let path = dir.join(format!("{name}-benchmarks.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let raw: Value = serde_json::from_str(&text).unwrap();
        let report: wire::Report = serde_json::from_value(raw.clone()).unwrap();
        for (i, b) in report.benchmarks.iter().enumerate() {
            let records: Vec<_> = b
                .requests
                .successful
                .iter()
                .chain(&b.requests.errored)
                .chain(&b.requests.incomplete)
                .map(record_from_stats)
                .collect();
            let start = Timestamp::from_secs_f64(b.scheduler_metrics.measure_start_time).unwrap();
            let end = Timestamp::from_secs_f64(b.scheduler_metrics.measure_end_time).unwrap();
            let ours = wire::Metrics::from(&BenchmarkMetrics::compile(&records, start, end));
            let ours = serde_json::to_value(&ours).unwrap();
            let mut diffs = Vec::new();
            compare(
                &ours,
                &raw["benchmarks"][i]["metrics"],
                "metrics",
                &mut diffs,
            );
            assert!(
                diffs.is_empty(),
                "{} benchmark {i}: {} differences:\n{}",
                path.display(),
                diffs.len(),
                diffs
                    .iter()
                    .take(40)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6, "3 fixtures hold 1 + 1 + 4 benchmarks");
}

//! The results model read from what GuideLLM itself wrote, in both
//! schemas: every benchmark's strategy, counts and model as the file says
//! them, the same results from a report's JSON and YAML, and the readers
//! (console, HTML) working from either schema alike.

use std::path::PathBuf;

use llmload_report::model::{Results, Schema};
use llmload_report::{console, html};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("LLMLOAD_SHARED"))
        .join("fixtures")
        .join(rel)
}

fn raw(rel: &str) -> Value {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    if rel.ends_with(".yaml") {
        serde_yaml::from_str(&text).unwrap()
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

const FILES: [(&str, Schema); 7] = [
    ("guidellm-0.4.0/mock-constant5-benchmarks.json", Schema::V04),
    ("guidellm-0.4.0/vllm-constant2-benchmarks.json", Schema::V04),
    ("guidellm-0.4.0/vllm-sweep4-benchmarks.json", Schema::V04),
    ("guidellm-0.8.1/constant/benchmarks.json", Schema::V2),
    ("guidellm-0.8.1/constant/benchmarks.yaml", Schema::V2),
    ("guidellm-0.8.1/sweep/benchmarks.json", Schema::V2),
    ("guidellm-0.8.1/multiturn/benchmarks.json", Schema::V2),
];

#[test]
fn each_benchmark_reads_as_the_file_says() {
    for (rel, schema) in FILES {
        let r = Results::load(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let doc = raw(rel);
        assert_eq!(r.schema, schema, "{rel}");
        let raw_benchmarks = doc["benchmarks"].as_array().unwrap();
        assert_eq!(r.benchmarks.len(), raw_benchmarks.len(), "{rel}");
        assert!(!r.benchmarks.is_empty(), "{rel}");
        for (b, w) in r.benchmarks.iter().zip(raw_benchmarks) {
            let s = &w["config"]["strategy"];
            assert_eq!(b.strategy.type_name(), s["type_"], "{rel}");
            assert_eq!(b.strategy.rate(), s["rate"].as_f64(), "{rel}");
            assert_eq!(
                b.metrics.request_totals.successful,
                w["metrics"]["request_totals"]["successful"]
                    .as_u64()
                    .unwrap(),
                "{rel}"
            );
            assert_eq!(b.duration, w["duration"].as_f64().unwrap(), "{rel}");
            assert_eq!(
                b.requests.successful.len(),
                w["requests"]["successful"].as_array().unwrap().len(),
                "{rel}"
            );
        }
        assert_eq!(
            r.model.as_deref(),
            raw_benchmarks[0]["config"]["backend"]["model"].as_str(),
            "{rel}"
        );
        // Both readers work from it, whichever schema it came from.
        let tables = console::render(&r);
        let page = html::render(&r);
        for b in &r.benchmarks {
            assert!(tables.contains(&b.label()), "{rel}: {tables}");
            assert!(page.contains(&b.label()), "{rel}");
        }
    }
}

#[test]
fn a_reports_json_and_yaml_read_the_same() {
    let json = Results::load(&fixture("guidellm-0.8.1/constant/benchmarks.json")).unwrap();
    let yaml = Results::load(&fixture("guidellm-0.8.1/constant/benchmarks.yaml")).unwrap();
    assert_eq!(json, yaml);
}

#[test]
fn a_strategy_that_is_not_guidellms_is_refused_in_one_line() {
    let mut doc = raw("guidellm-0.4.0/mock-constant5-benchmarks.json");
    doc["benchmarks"][0]["config"]["strategy"] = serde_json::json!({"type_": "replay"});
    let e = Results::from_value(&doc).unwrap_err();
    assert!(e.starts_with("benchmarks[0]: strategy"), "{e}");
    assert!(e.contains("expected type_ synchronous"), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

//! `llmload report` on a report larger than memory: a saved JSON read as a
//! stream, its per-request entries left on disk, writes the same JSON and
//! YAML as the report read whole, byte for byte (GuideLLM's own reports,
//! and one grown past the in-memory sample), and so does a GuideLLM 0.8
//! report, in 0.8's layout and in its 0.4 view.

use std::path::{Path, PathBuf};

use llmload_report::guidellm::{load_json_streamed, load_json_streamed_any};
use llmload_report::{Format, Report};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("LLMLOAD_SHARED"))
        .join("fixtures")
        .join(rel)
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmload-saved-streamed-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The JSON and YAML `report` writes.
fn written(report: &Report, tag: &str) -> (Vec<u8>, Vec<u8>) {
    let (json, yaml) = (
        dir().join(format!("{tag}.json")),
        dir().join(format!("{tag}.yaml")),
    );
    report.write(Format::Json, &json).unwrap();
    report.write(Format::Yaml, &yaml).unwrap();
    (std::fs::read(json).unwrap(), std::fs::read(yaml).unwrap())
}

fn same_outputs(path: &Path, tag: &str) -> Report {
    let whole = Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let streamed = load_json_streamed(path).unwrap().expect("a 0.4 report");
    assert!(
        streamed
            .benchmarks
            .iter()
            .any(|b| b.requests.streamed.0.is_some()),
        "{tag}: entries left on disk"
    );
    let (a, b) = (
        written(&whole, &format!("{tag}-whole")),
        written(&streamed, tag),
    );
    assert!(a.0 == b.0, "{tag}: JSON differs");
    assert!(a.1 == b.1, "{tag}: YAML differs");
    streamed
}

#[test]
fn a_report_read_as_a_stream_writes_the_same_json_and_yaml() {
    for f in [
        "guidellm-0.4.0/mock-constant5-benchmarks.json",
        "guidellm-0.4.0/vllm-constant2-benchmarks.json",
        "guidellm-0.4.0/vllm-sweep4-benchmarks.json",
    ] {
        same_outputs(&fixture(f), f.rsplit('/').next().unwrap());
    }

    // Grown past the 1,000 of each list kept in memory: 2,500 successful
    // entries, each its own request.
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("guidellm-0.4.0/vllm-constant2-benchmarks.json")).unwrap(),
    )
    .unwrap();
    let list = &mut v["benchmarks"][0]["requests"]["successful"];
    let one = list[0].clone();
    *list = Value::Array(
        (0..2_500)
            .map(|i| {
                let mut e = one.clone();
                e["request_id"] = Value::String(format!("grown-{i}"));
                e["output_tokens"] = Value::from(i);
                e
            })
            .collect(),
    );
    let path = dir().join("grown.json");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let streamed = same_outputs(&path, "grown");
    let kept = &streamed.benchmarks[0].requests.successful;
    assert_eq!(kept.len(), 1_000, "an even sample stays in memory");
    assert_eq!(kept[1].output_tokens, Some(2), "every 2.5th entry");

    // A GuideLLM 0.8 report is not a 0.4 one.
    let s2 = fixture("guidellm-0.8.1/constant/benchmarks.json");
    assert!(load_json_streamed(&s2).unwrap().is_none());
    a_schema2_report_read_as_a_stream_writes_the_same_files();
    std::fs::remove_dir_all(dir()).unwrap();
}

/// A GuideLLM 0.8 report read both ways: the 0.8 report's JSON, YAML and
/// CSV and its 0.4 view's JSON and YAML, byte for byte.
fn same_schema2_outputs(path: &Path, tag: &str) -> Report {
    let (whole, whole2) = Report::load_any(path).unwrap();
    let (streamed, streamed2) = load_json_streamed_any(path).unwrap();
    let (whole2, streamed2) = (whole2.expect("0.8"), streamed2.expect("0.8"));
    assert!(
        streamed
            .benchmarks
            .iter()
            .any(|b| b.requests.streamed.0.is_some()),
        "{tag}: entries left on disk"
    );
    let (a, b) = (
        written(&whole, &format!("{tag}-whole")),
        written(&streamed, tag),
    );
    assert!(a.0 == b.0, "{tag}: 0.4 view's JSON differs");
    assert!(a.1 == b.1, "{tag}: 0.4 view's YAML differs");
    for format in [Format::Json, Format::Yaml, Format::Csv] {
        let (x, y) = (
            dir().join(format!("{tag}-whole.v2")),
            dir().join(format!("{tag}.v2")),
        );
        whole2.write(format, &x).unwrap();
        streamed2.write(format, &y).unwrap();
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{tag}: 0.8 {format:?} differs"
        );
    }
    streamed
}

/// (In the test above: they share its directory.)
fn a_schema2_report_read_as_a_stream_writes_the_same_files() {
    for f in [
        "guidellm-0.8.1/constant/benchmarks.json",
        "guidellm-0.8.1/sweep/benchmarks.json",
        "guidellm-0.8.1/multiturn/benchmarks.json",
    ] {
        let tag = f.replace('/', "-");
        same_schema2_outputs(&fixture(f), &format!("s2-{tag}"));
    }
    // Grown past the 1,000 of each list kept in memory.
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("guidellm-0.8.1/constant/benchmarks.json")).unwrap(),
    )
    .unwrap();
    let list = &mut v["benchmarks"][0]["requests"]["successful"];
    let one = list[0].clone();
    *list = Value::Array(
        (0..2_500)
            .map(|i| {
                let mut e = one.clone();
                e["request_id"] = Value::String(format!("grown-{i}"));
                e
            })
            .collect(),
    );
    let path = dir().join("grown-s2.json");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let streamed = same_schema2_outputs(&path, "grown-s2");
    let kept = &streamed.benchmarks[0].requests.successful;
    assert_eq!(kept.len(), 1_000, "an even sample stays in memory");
    assert_eq!(kept[1].request_id, "grown-2", "every 2.5th entry");
}

//! GuideLLM 0.8 reports (`--schema 0.8`, schema 2) end to end against the
//! built-in mock: every key path of GuideLLM 0.8.1's own reports (constant
//! and sweep, JSON and YAML, written against a real vLLM) is in ours with a
//! compatible type, and the numbers agree with the 0.4 report of the same
//! run. GuideLLM 0.8.1 itself loads them (scripts/guidellm08-compat.sh,
//! docs/validation.md).

mod common;

use std::path::Path;

use serde_json::Value;

fn run(dir: &Path, target: &str, profile: &str) -> (Value, Value) {
    let out = common::run(&common::words(&format!(
        "benchmark --target {target} {profile} --data prompt_tokens=64,output_tokens=16 \
         --processor {} --schema 0.8 --outputs json,yaml,csv --disable-progress \
         --disable-console-outputs --output-dir {}",
        common::shared("tokenizers/gpt2").display(),
        dir.display()
    )));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("benchmarks.json")).unwrap())
            .unwrap();
    let yaml: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("benchmarks.yaml")).unwrap())
            .unwrap();
    (json, yaml)
}

/// Where ours may be null or empty: GuideLLM's data-generation delay
/// (llmload builds prompts before the run: there is none to measure), the
/// warnings a benchmark raised (GuideLLM's fixture runs lagged their
/// schedule, root_late; runs on time raise none), and the token-count
/// spreads the fixture runs gave (0) and these do not.
const OPTIONAL: [&str; 4] = [
    ".benchmarks[].scheduler_metrics.generation_delay",
    ".benchmarks[].warnings[]",
    ".config.spec.data[].prompt_tokens_stdev",
    ".config.spec.data[].output_tokens_stdev",
];

#[test]
fn a_constant_run_covers_guidellm_08s_report_in_json_and_yaml() {
    let dir = common::tempdir("schema2-constant");
    let (json, yaml) = run(
        &dir,
        "mock",
        "--rate-type constant --rate 5 --max-seconds 3",
    );
    assert_eq!(json["metadata"]["version"], 2);
    assert_eq!(json["config"]["spec"]["profile"]["kind"], "constant");
    assert_eq!(json["config"]["spec"]["data"][0]["kind"], "synthetic_text");
    assert_eq!(json["config"]["spec"]["data"][0]["prompt_tokens"], 64);
    common::keypaths::assert_covers_08(&json, "constant/benchmarks.json", &OPTIONAL);
    common::keypaths::assert_covers_08(&yaml, "constant/benchmarks.yaml", &OPTIONAL);
    assert_eq!(json, yaml, "the YAML holds the same report");
    common::keypaths::assert_csv_covers_08(&dir.join("benchmarks.csv"), "constant/benchmarks.csv");
    let b = &json["benchmarks"][0];
    let ok = b["metrics"]["request_totals"]["successful"]
        .as_u64()
        .unwrap();
    assert!(ok >= 10, "{ok} successful requests at 5 req/s over 3 s");
    assert_eq!(
        b["requests"]["successful"].as_array().unwrap().len() as u64,
        ok
    );
    // Per-request metrics carry 0.8's confidence intervals, rates do not.
    let ttft = &b["metrics"]["time_to_first_token_ms"]["successful"];
    let (lo, hi) = (
        ttft["mean_ci"]["lower"].as_f64().unwrap(),
        ttft["mean_ci"]["upper"].as_f64().unwrap(),
    );
    let mean = ttft["mean"].as_f64().unwrap();
    assert!(lo < mean && mean < hi, "{lo} < {mean} < {hi}");
    assert!(b["metrics"]["requests_per_second"]["successful"]["mean_ci"].is_null());
    // Every request is a single-turn conversation: turn 0, no predecessor.
    let r = &b["requests"]["successful"][0];
    assert_eq!(r["info"]["turn_index"], 0);
    assert_eq!(r["turn_predecessor_delay"], 0.0);
    assert_eq!(r["turn_scheduling_delay"], r["request_dispatch_delay"]);
    let args: Value = serde_json::from_str(r["request_args"].as_str().unwrap()).unwrap();
    assert_eq!(args["body"]["stream"], true);
}

#[test]
fn a_sweep_covers_guidellm_08s_sweep_report() {
    // As in GuideLLM's run against a CPU vLLM: requests slow enough (1.6 s)
    // that the throughput stage's 512 streams are cut off at the end, so
    // every status has hundreds of requests (and percentile intervals).
    let mock = common::MockProcess::start(&["--ttft-ms", "50", "--itl-ms", "100"]);
    let dir = common::tempdir("schema2-sweep");
    let (json, _) = run(
        &dir,
        &mock.url,
        "--rate-type sweep --rate 3 --max-seconds 3",
    );
    assert_eq!(
        common::strategy_kinds(&json),
        ["synchronous", "throughput", "constant"]
    );
    let throughput = &json["benchmarks"][1]["metrics"]["request_totals"];
    assert!(
        throughput["incomplete"].as_u64().unwrap() >= 368,
        "{throughput}"
    );
    assert_eq!(json["config"]["spec"]["profile"]["kind"], "sweep");
    assert_eq!(json["config"]["spec"]["profile"]["sweep_size"], 3);
    common::keypaths::assert_covers_08(&json, "sweep/benchmarks.json", &OPTIONAL);
    // The CSV is still written (from the same run).
    assert!(dir.join("benchmarks.csv").exists());
}

#[test]
fn guidellm_08s_own_reports_export_and_convert_down() {
    let fixture = |rel: &str| common::shared(&format!("fixtures/guidellm-0.8.1/{rel}"));
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("constant/benchmarks.json")).unwrap(),
    )
    .unwrap();
    // `export`, as GuideLLM 0.8's: JSON in the input's layout (unchanged),
    // CSV, HTML and the console tables from it.
    let dir = common::tempdir("schema2-export");
    let out = common::llmload()
        .current_dir(&dir)
        .args(["export"])
        .arg(fixture("constant/benchmarks.json"))
        .args([
            "--output",
            "kind=json,path=again.json",
            "--output",
            "kind=csv",
        ])
        .args(["--output", "kind=html", "--output", "kind=console"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("constant@2"), "{text}");
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("again.json")).unwrap()).unwrap();
    assert_eq!(again, theirs);
    for f in ["benchmarks.csv", "benchmarks.html"] {
        assert!(std::fs::metadata(dir.join(f)).unwrap().len() > 1000, "{f}");
    }
    // Down to 0.4 (YAML in): the same numbers in 0.4's layout, and a word on what is dropped.
    let down = dir.join("down");
    let out = common::run(&[
        "report",
        fixture("constant/benchmarks.yaml").to_str().unwrap(),
        "--schema",
        "0.4",
        "--outputs",
        "json",
        "--output-dir",
        down.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("confidence intervals"));
    let v04 = common::report(&down);
    assert!(v04.get("metadata").is_none() && v04["args"]["profile"] == "constant");
    let ttft = |r: &Value| {
        r["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["mean"].as_f64()
    };
    assert_eq!(ttft(&v04), ttft(&theirs));
    assert!(
        v04["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]
            .get("mean_ci")
            .is_none()
    );
    // A 0.4 report cannot go up without its run.
    let out = common::run(&[
        "report",
        common::shared("fixtures/guidellm-0.4.0/vllm-constant2-benchmarks.json")
            .to_str()
            .unwrap(),
        "--schema",
        "0.8",
        "--outputs",
        "json",
        "--output-dir",
        down.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from-journal"));
}

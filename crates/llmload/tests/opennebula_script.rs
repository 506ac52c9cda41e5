//! `scripts/benchmark.sh`, the OpenNebula appliance benchmark, end to end
//! against `llmload mock-server` with short durations: detection, the
//! search, ten fixed rates below it, the certified-results row compared with
//! the shipped certified results, the SLO verdicts and the HTML report.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn benchmark_sh_runs_the_certification_against_the_mock() {
    let dir = common::tempdir("benchmark-sh");
    // Eight requests served at once, ~0.3 s each: the search finds a few
    // tens of req/s quickly and cheaply.
    let mock = common::MockProcess::start(&[
        "--ttft-ms",
        "20",
        "--itl-ms",
        "1",
        "--max-concurrent-requests",
        "8",
        "--model",
        "Qwen/Qwen2.5-3B-Instruct",
    ]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/benchmark.sh");
    let out_dir = dir.join("certification");
    let qwen = common::shared("tokenizers/qwen2.5");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--endpoint", &mock.url, "--gpu", "L40S"])
        .args(["--step-seconds", "2", "--run-seconds", "2"])
        .arg("--output-dir")
        .arg(&out_dir)
        .args(["--", "--disable-progress", "--processor"])
        .arg(&qwen)
        .env("LLMLOAD", env!("CARGO_BIN_EXE_llmload"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");

    // Detected: the model from /v1/models, this machine's vCPUs.
    assert!(
        said.contains("Model:    Qwen/Qwen2.5-3B-Instruct"),
        "{said}"
    );
    let vcpus = std::thread::available_parallelism().unwrap().get();
    assert!(said.contains(&format!("vCPUs:    {vcpus}")), "{said}");

    // The search, then ten constant rates below the rate it found.
    let search: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("search/benchmarks.json")).unwrap(),
    )
    .unwrap();
    let best = search["llmload"]["search"]["best_rate"].as_f64().unwrap();
    assert!(best > 0.0);
    let runs = common::report(&out_dir);
    let rates: Vec<f64> = runs["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["config"]["strategy"]["type_"], "constant");
            b["config"]["strategy"]["rate"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(rates.len(), 10, "{rates:?}");
    assert!(rates.iter().all(|r| *r < best), "{rates:?} vs {best}");
    let data = runs["args"]["data"][0].as_str().unwrap();
    assert!(data.contains("prompt_tokens=512") && data.contains("output_tokens=256"));
    assert!(data.contains("samples=1000"), "{data}");
    let html = std::fs::read_to_string(out_dir.join("benchmarks.html")).unwrap();
    assert!(html.contains("<svg"));

    // The row, with the certified L40S row of Qwen2.5-3B beside it.
    let row = said
        .lines()
        .find(|l| l.starts_with("this run"))
        .unwrap_or_else(|| panic!("no row: {said}"));
    assert!(
        row.contains("Qwen/Qwen2.5-3B-Instruct") && row.contains("L40S"),
        "{row}"
    );
    assert!(said.contains("Certified-results row"), "{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with("certified") && l.contains("6.4")),
        "{said}"
    );
    // SLO verdicts for every use case of the seed's table.
    assert!(said.contains("SLO verdicts"), "{said}");
    for case in [
        "chat",
        "rag",
        "agentic",
        "content-generation",
        "code-generation",
        "code-completion",
    ] {
        assert!(
            said.lines()
                .any(|l| l.starts_with(case) && (l.contains("pass") || l.contains("FAIL"))),
            "{case}: {said}"
        );
    }
}

#[test]
fn benchmark_sh_names_what_it_could_not_detect() {
    // Nothing listens on port 9 of loopback (discard, never served here).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/benchmark.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--endpoint", "http://127.0.0.1:9"])
        .env("LLMLOAD", env!("CARGO_BIN_EXE_llmload"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--model"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

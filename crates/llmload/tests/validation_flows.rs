//! The validation flows of the seeds, through the binary: Red Hat's matrix
//! with experiment envelopes, the monotonicity check, SLO verdicts, the
//! comparison with the certified results and the CI regression gate.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = common::shared(&format!("fixtures/guidellm-0.4.0/{name}-benchmarks.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    path
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Multiply every statistic (mean, median, percentiles, ...) of one
/// distribution of every benchmark by `factor`.
fn scale(report: &mut Value, metric: &str, factor: f64) {
    fn walk(v: &mut Value, factor: f64) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "count" || k == "total_sum" && x.is_null() {
                        continue;
                    }
                    walk(x, factor)
                }
            }
            Value::Number(n) if n.is_f64() => *v = Value::from(n.as_f64().unwrap() * factor),
            _ => {}
        }
    }
    for b in report["benchmarks"].as_array_mut().unwrap() {
        let stats = &mut b["metrics"][metric]["successful"];
        for key in ["mean", "median", "min", "max", "percentiles"] {
            walk(&mut stats[key], factor);
        }
    }
}

#[test]
fn validate_redhat_writes_three_schema_valid_envelopes() {
    let dir = common::tempdir("validate-redhat");
    let mock = common::MockProcess::start(&["--ttft-ms", "20", "--itl-ms", "2"]);
    let qwen = common::shared("tokenizers/qwen2.5");
    let out = common::run(&[
        "validate",
        "redhat",
        "--target",
        &mock.url,
        "--processor",
        qwen.to_str().unwrap(),
        "--scenario",
        "chat",
        "--rates",
        "1,2,3",
        "--max-seconds",
        "10",
        "--output-dir",
        dir.to_str().unwrap(),
        "--disable-progress",
        "--provider",
        "on-prem",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let mut files = Vec::new();
    for rate in 1..=3 {
        let path = dir.join(format!("chat/rps{rate}/experiment.json"));
        let env: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(env["experiment_type"], "performance");
        assert_eq!(env["inference_server"], "vLLM");
        // Asked of the mock's GET /version, not given on the command line.
        assert_eq!(env["inference_server_version"], "llmload-mock-0.1.0");
        // The mock claims no accelerator and runs in no vLLM image.
        assert_eq!(env["accelerator_type"], "none");
        assert_eq!(env["container_image"], "llmload");
        assert_eq!(env["provider"], "on-prem");
        let id = env["experiment_id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "a UUIDv4: {id}");
        let report = &env["report"];
        let bench = &report["benchmarks"][0];
        assert_eq!(bench["config"]["strategy"]["type_"], "constant");
        assert_eq!(bench["config"]["strategy"]["rate"], f64::from(rate));
        // samples = rps x max_seconds
        let data = report["args"]["data"][0].as_str().unwrap();
        assert!(data.contains(&format!("samples={}", rate * 10)), "{data}");
        assert!(data.contains("prompt_tokens=512"), "{data}");
        assert!(bench["metrics"]["request_totals"]["successful"].as_u64() > Some(0));
        // The wrapped report is what `benchmark` wrote next to it.
        let raw = common::report(&dir.join(format!("chat/rps{rate}")));
        assert_eq!(report, &raw);
        files.push(path);
    }
    let mut args = vec!["envelope", "validate"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let out = common::run(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).matches(": valid").count(), 3, "{}", text(&out));

    // One corrupted field at a time is rejected, and named.
    let good: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let corruptions: [(&str, Value); 6] = [
        ("experiment_id", Value::from("not-a-uuid")),
        ("experiment_type", Value::from("latency")),
        ("accelerator_count", Value::from("one")),
        ("timestamp", Value::from("yesterday")),
        ("inference_server_args", Value::from("--tp 1")),
        ("report", Value::from(3)),
    ];
    for (field, bad) in corruptions {
        let mut env = good.clone();
        env[field] = bad;
        let path = write(&dir, "corrupt.json", &env);
        let out = common::run(&["envelope", "validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{field}: {}", text(&out));
        assert!(text(&out).contains(field), "{field}: {}", text(&out));
    }
    let mut env = good.clone();
    env.as_object_mut().unwrap().remove("model");
    let path = write(&dir, "corrupt.json", &env);
    let out = common::run(&["envelope", "validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("model"), "{}", text(&out));
}

/// Three envelopes of one model on one accelerator at rates 1, 2, 3 whose
/// TTFT is `ttft[i]` ms and output throughput `tps[i]`.
fn series(dir: &Path, accelerator: &str, ttft: [f64; 3], tps: [f64; 3]) -> Vec<String> {
    let base = fixture("mock-constant5");
    let base_ttft = base["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]
        ["median"]
        .as_f64()
        .unwrap();
    (0..3)
        .map(|i| {
            let rate = (i + 1) as f64;
            let mut report = base.clone();
            scale(&mut report, "time_to_first_token_ms", ttft[i] / base_ttft);
            let b = &mut report["benchmarks"][0];
            b["config"]["strategy"]["rate"] = Value::from(rate);
            b["metrics"]["requests_per_second"]["successful"]["mean"] = Value::from(rate);
            b["metrics"]["output_tokens_per_second"]["successful"]["mean"] = Value::from(tps[i]);
            let env = serde_json::json!({
                "experiment_id": "2f0b8d3e-4a1c-4d6e-9b7a-1c2d3e4f5a6b",
                "experiment_type": "performance",
                "model": "Qwen/Qwen2.5-3B-Instruct",
                "inference_server": "vLLM",
                "inference_server_version": "0.10.1",
                "container_image": "registry.redhat.io/rhaiis/vllm-cuda-rhel9",
                "container_image_tag": "3.2.2",
                "inference_server_args": {},
                "accelerator_type": accelerator,
                "accelerator_count": 1,
                "accelerator_memory_gb": 80,
                "report": report,
                "timestamp": "2026-11-22T10:00:00Z",
            });
            let name = format!("{accelerator}-rps{}.json", i + 1);
            write(dir, &name, &env).to_str().unwrap().to_string()
        })
        .collect()
}

fn check(files: &[String]) -> std::process::Output {
    let mut args = vec!["check", "monotonic"];
    args.extend(files.iter().map(String::as_str));
    common::run(&args)
}

#[test]
fn monotonic_rising_latency_passes_and_a_dip_fails_naming_file_and_metric() {
    let dir = common::tempdir("monotonic");
    let rising = series(&dir, "H100", [40.0, 45.0, 60.0], [100.0, 200.0, 290.0]);
    let out = check(&rising);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // TTFT falls by a third from rps2 to rps3: beyond the 10 % tolerance.
    let dip = series(&dir, "A100-80", [50.0, 60.0, 40.0], [100.0, 200.0, 300.0]);
    let out = check(&dip);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("A100-80-rps3.json"), "{said}");
    assert!(said.contains("A100-80-rps2.json"), "{said}");
    assert!(said.contains("TTFT"), "{said}");

    // A throughput dip is named too.
    let dip = series(&dir, "L40S", [50.0, 60.0, 70.0], [100.0, 200.0, 120.0]);
    let said = text(&check(&dip));
    assert!(said.contains("output tokens/s"), "{said}");
    assert!(said.contains("L40S-rps3.json"), "{said}");

    // Across accelerators: an H100 slower than an L40S at the same rate
    // breaks the declared order; the rising H100 series alone is fine.
    let slow_h100 = series(&dir, "H100", [90.0, 95.0, 100.0], [100.0, 200.0, 300.0]);
    let l40s = series(&dir, "L40S", [50.0, 55.0, 60.0], [100.0, 200.0, 300.0]);
    let mut both = slow_h100.clone();
    both.extend(l40s);
    let out = check(&both);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("H100"), "{}", text(&out));
    assert!(text(&out).contains("L40S"), "{}", text(&out));
}

/// `llmload compare BASE NEW --max-regression LIMITS`.
fn gate(base: &Path, new: &Path, limits: &str) -> std::process::Output {
    common::run(&[
        "compare",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--max-regression",
        limits,
    ])
}

#[test]
fn compare_gates_a_twenty_percent_ttft_regression_and_passes_noise() {
    let dir = common::tempdir("compare");
    let base = fixture("mock-constant5");
    let base_path = write(&dir, "base.json", &base);

    let mut worse = base.clone();
    scale(&mut worse, "time_to_first_token_ms", 1.2);
    let worse_path = write(&dir, "worse.json", &worse);
    let limits = "ttft_p99=10%,ttft_mean=10%,throughput=5%";
    let out = gate(&base_path, &worse_path, limits);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ttft_p99"), "{}", text(&out));

    let mut noisy = base.clone();
    scale(&mut noisy, "time_to_first_token_ms", 1.04);
    scale(&mut noisy, "inter_token_latency_ms", 0.97);
    let noisy_path = write(&dir, "noisy.json", &noisy);
    let out = gate(&base_path, &noisy_path, limits);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("ttft_p99"), "{}", text(&out));

    // An improvement is never a regression.
    let out = gate(&worse_path, &base_path, limits);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn compare_with_the_certified_results_matches_the_row_and_shows_deltas() {
    let path = common::shared("fixtures/guidellm-0.4.0/vllm-constant2-benchmarks.json");
    let out = common::run(&[
        "compare",
        path.to_str().unwrap(),
        "--reference",
        "--gpu",
        "NVIDIA L40S",
        "--model",
        "Qwen/Qwen2.5-3B-Instruct",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    // The certified L40S row of Qwen2.5-3B: 6.4 req/s, p99 TTFT 170 ms.
    assert!(said.contains("6.4"), "{said}");
    assert!(said.contains("170"), "{said}");
    assert!(said.contains('%'), "deltas: {said}");

    let out = common::run(&[
        "compare",
        path.to_str().unwrap(),
        "--reference",
        "--gpu",
        "B200",
        "--model",
        "Qwen/Qwen2.5-3B-Instruct",
    ]);
    assert!(text(&out).contains("no certified result"), "{}", text(&out));
}

#[test]
fn slo_verdicts_follow_the_reports_p99() {
    for name in ["mock-constant5", "vllm-constant2"] {
        let report = fixture(name);
        let m = &report["benchmarks"][0]["metrics"];
        let p99 = |k: &str| m[k]["successful"]["percentiles"]["p99"].as_f64().unwrap();
        let chat_ok =
            p99("time_to_first_token_ms") <= 200.0 && p99("inter_token_latency_ms") <= 50.0;
        let path = common::shared(&format!("fixtures/guidellm-0.4.0/{name}-benchmarks.json"));
        let out = common::run(&["slo", path.to_str().unwrap(), "--use-case", "chat"]);
        assert!(out.status.success(), "{}", text(&out));
        let said = text(&out);
        let row = said
            .lines()
            .find(|l| l.starts_with("chat") && l.contains("constant"))
            .unwrap_or_else(|| panic!("{said}"));
        let verdict = if chat_ok { "pass" } else { "FAIL" };
        assert!(row.contains(verdict), "{name}: {row}");
        assert!(said.contains("goodput"), "{said}");
    }
    // mock-constant5 meets chat (p99 TTFT 59 ms), vllm-constant2 does not (605 ms):
    // both verdicts are exercised above.
}

/// `llmload envelope wrap INPUT -o OUTPUT` with a full deployment; the envelope.
fn wrap(input: &Path, output: &Path) -> Value {
    let out = common::run(&[
        "envelope",
        "wrap",
        input.to_str().unwrap(),
        "--model",
        "Qwen/Qwen2.5-3B-Instruct",
        "--inference-server-version",
        "0.10.1",
        "--accelerator-type",
        "L40S",
        "--accelerator-count",
        "1",
        "--accelerator-memory-gb",
        "48",
        "--container-image",
        "vllm/vllm-openai",
        "--container-image-tag",
        "v0.10.1",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_str(&std::fs::read_to_string(output).unwrap()).unwrap()
}

#[test]
fn envelope_wrap_detects_performance_and_evaluation_results() {
    let dir = common::tempdir("envelope-wrap");
    let report = common::shared("fixtures/guidellm-0.4.0/vllm-constant2-benchmarks.json");
    let env = wrap(&report, &dir.join("perf.json"));
    assert_eq!(env["experiment_type"], "performance");
    assert_eq!(env["report"], fixture("vllm-constant2"));

    let lm_eval = serde_json::json!({
        "results": {"gsm8k": {"exact_match,strict-match": 0.71, "alias": "gsm8k"}},
        "config": {"model": "vllm", "model_args": "pretrained=Qwen/Qwen2.5-3B-Instruct"},
    });
    let eval_in = write(&dir, "lm-eval.json", &lm_eval);
    let eval_out = dir.join("eval.json");
    let env = wrap(&eval_in, &eval_out);
    assert_eq!(env["experiment_type"], "evaluation");
    assert_eq!(env["report"], lm_eval);
    let out = common::run(&["envelope", "validate", eval_out.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    // Neither a report nor an lm-eval result: one line, exit 2.
    let junk = write(&dir, "junk.json", &serde_json::json!({"hello": 1}));
    let out = common::run(&["envelope", "wrap", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

//! The server's own /metrics scraped during every run (`--server-metrics`),
//! against the simulated engine: a benchmark's counter deltas equal
//! llmload's own totals exactly, its waiting queue is ~0 below the knee and
//! grows above it, and a server without /metrics costs one warning.

mod common;

use std::time::Duration;

use llmload_mock::EngineModel;
use serde_json::Value;

/// A batch of 4 in 2 ms steps: the knee at 64/32 tokens is ~44 req/s.
const ENGINE: &str =
    "--simulate --max-num-seqs 4 --step-ms 2 --step-per-seq-ms 0.2 --prefill-ms-per-token 0.01";

fn knee() -> f64 {
    EngineModel {
        max_num_seqs: 4,
        step_base: Duration::from_millis(2),
        step_per_seq: Duration::from_micros(200),
        prefill_per_token: Duration::from_micros(10),
        ..EngineModel::default()
    }
    .sustainable_rate(64, 32)
}

fn run(url: &str, dir: &std::path::Path, limits: &str) -> (Value, String) {
    let out = common::run(&common::words(&format!(
        "benchmark --target {url} --rate-type constant {limits} \
         --data prompt_tokens=64,output_tokens=32 --processor {} \
         --server-metrics-interval 0.2 --outputs json,html --disable-progress --output-dir {}",
        common::shared("tokenizers/gpt2").display(),
        dir.display()
    )));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    (common::report(dir), text)
}

fn sum(b: &Value, key: &str) -> f64 {
    b["requests"]["successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_f64().unwrap())
        .sum()
}

#[test]
fn counters_equal_llmloads_totals_and_the_queue_shows_the_knee() {
    let gpt2 = common::shared("tokenizers/gpt2");
    let mock = common::MockProcess::start(&common::words(&format!(
        "{ENGINE} --processor {}",
        gpt2.display()
    )));
    let knee = knee();
    assert!((35.0..55.0).contains(&knee), "{knee}");

    // Below the knee, every request finished (no cut-off): exact agreement.
    let dir = common::tempdir("server-metrics-below");
    let (r, text) = run(
        &mock.url,
        &dir,
        &format!("--rate {:.1} --max-requests 40", 0.5 * knee),
    );
    let b = &r["benchmarks"][0];
    let sm = &b["llmload"]["server_metrics"];
    assert!(sm.is_object(), "{}", b["llmload"]);
    let d = &sm["benchmark"];
    let ok = b["requests"]["successful"].as_array().unwrap().len();
    assert_eq!(ok, 40);
    assert_eq!(d["vllm:request_success_total"].as_f64(), Some(40.0), "{d}");
    assert_eq!(
        d["vllm:generation_tokens_total"].as_f64(),
        Some(sum(b, "output_tokens"))
    );
    assert_eq!(
        d["vllm:prompt_tokens_total"].as_f64(),
        Some(sum(b, "prompt_tokens"))
    );
    assert!(
        sm["cross_checks"]["warnings"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{sm}"
    );
    let waiting_below = sm["gauges"]["vllm:num_requests_waiting"]["max"]
        .as_f64()
        .unwrap();
    assert!(waiting_below <= 1.0, "{sm}");
    assert!(
        sm["scrapes"].as_u64().unwrap() >= 5,
        "every 0.2 s over ~2 s"
    );
    let ttft = &sm["histograms"]["vllm:time_to_first_token_seconds"];
    assert_eq!(ttft["count"], 40.0);
    assert!(text.contains("The Server (its /metrics"), "{text}");
    assert!(
        text.lines()
            .filter(|l| l.starts_with('|') || l.starts_with('='))
            .all(|l| l.chars().count() <= 100),
        "the tables fit in 100 columns: {text}"
    );

    // Twice the knee for 3 s: the queue grows, and the report shows it.
    let dir = common::tempdir("server-metrics-above");
    let (r, _) = run(
        &mock.url,
        &dir,
        &format!("--rate {:.1} --max-seconds 3", 2.0 * knee),
    );
    let sm = &r["benchmarks"][0]["llmload"]["server_metrics"];
    let w = &sm["gauges"]["vllm:num_requests_waiting"];
    // ~knee requests a second queue up: well over 20 by the end.
    assert!(w["max"].as_f64().unwrap() > 20.0, "{w}");
    assert!(
        w["mean"].as_f64().unwrap() > 5.0 * waiting_below.max(1.0),
        "{w}"
    );
}

#[test]
fn a_server_without_metrics_costs_one_warning() {
    let dir = common::tempdir("server-metrics-none");
    let out = common::run(&common::words(&format!(
        "benchmark --target mock --rate-type constant --rate 10 --max-requests 5 \
         --data prompt_tokens=16,output_tokens=4 --server-metrics http://127.0.0.1:9/metrics \
         --outputs json --disable-progress --disable-console-outputs --output-dir {}",
        dir.display()
    )));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("warning").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(stderr.contains("server metrics not scraped"), "{stderr}");
    let r = common::report(&dir);
    assert!(r["benchmarks"][0]["llmload"]["server_metrics"].is_null());
    assert_eq!(
        r["benchmarks"][0]["requests"]["successful"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    common::refused(
        &[
            "benchmark",
            "--target",
            "mock",
            "--server-metrics-interval",
            "0",
        ],
        "--server-metrics-interval",
    );
    common::refused(
        &[
            "benchmark",
            "--target",
            "mock",
            "--server-metrics",
            "ftp://x",
        ],
        "--server-metrics",
    );
}

#[test]
fn a_server_shared_with_another_client_is_said_to_be() {
    let gpt2 = common::shared("tokenizers/gpt2");
    let mock = common::MockProcess::start(&common::words(&format!(
        "{ENGINE} --processor {}",
        gpt2.display()
    )));
    // Another client keeps 3 long requests on the server.
    let other_dir = common::tempdir("server-metrics-other");
    let mut other = common::llmload()
        .args(common::words(&format!(
            "benchmark --target {} --rate-type concurrent --rate 3 --max-seconds 10 \
             --data prompt_tokens=16,output_tokens=4000 --processor {} --server-metrics off \
             --outputs json --disable-progress --disable-console-outputs --output-dir {}",
            mock.url,
            gpt2.display(),
            other_dir.display()
        )))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while common::scrape(&mock.url)
        .get("vllm:num_requests_running")
        .copied()
        .unwrap_or(0.0)
        < 3.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the other client never started"
        );
        std::thread::yield_now();
    }
    let dir = common::tempdir("server-metrics-shared");
    let (r, text) = run(&mock.url, &dir, "--rate 5 --max-requests 10");
    let _ = other.kill();
    let _ = other.wait();
    let c = &r["benchmarks"][0]["llmload"]["server_metrics"]["cross_checks"];
    let held = c["in_flight_minus_server_held"]["mean"].as_f64().unwrap();
    assert!(held <= -2.0, "{c}");
    assert!(text.contains("another client shares it"), "{text}");
}

/// A known burst, injected on the server's side at a known time, is found in
/// the timeline at the same slice from both sides: llmload's requests in
/// flight and the server's waiting queue.
#[test]
fn an_injected_stall_shows_in_the_same_slice_on_both_sides() {
    let gpt2 = common::shared("tokenizers/gpt2");
    // The engine stands still from 2.3 s to 2.9 s after its first request:
    // within slice 2 of a benchmark whose first request is sent at its start.
    let mock = common::MockProcess::start(&common::words(&format!(
        "{ENGINE} --pause-at-ms 2300 --pause-ms 600 --processor {}",
        gpt2.display()
    )));
    let dir = common::tempdir("server-metrics-stall");
    let (r, _) = run(
        &mock.url,
        &dir,
        &format!("--rate {:.1} --max-seconds 5", 0.4 * knee()),
    );
    let tl = &r["benchmarks"][0]["llmload"]["timeline"];
    assert_eq!(tl["slice_seconds"].as_f64(), Some(1.0), "{tl}");
    let slices = tl["slices"].as_array().unwrap();
    assert!(slices.len() >= 5, "{tl}");
    let f = |s: &Value, k: &str| s[k].as_f64().unwrap();
    let in_flight: Vec<f64> = slices.iter().map(|s| f(s, "in_flight_seconds")).collect();
    let waiting: Vec<f64> = slices
        .iter()
        .map(|s| f(s, "waiting_sum") / f(s, "scrapes").max(1.0))
        .collect();
    let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    assert_eq!(
        argmax(&in_flight),
        2,
        "client in flight per slice: {in_flight:?}"
    );
    assert_eq!(argmax(&waiting), 2, "server waiting per slice: {waiting:?}");
    // And it stands out: the queue is empty away from the stall, and
    // llmload's concurrency there is well above its usual level.
    assert!(waiting[2] >= 2.0 && waiting[0] < 0.5, "{waiting:?}");
    assert!(
        in_flight[2] > 1.5 * in_flight[0].max(in_flight[4]),
        "{in_flight:?}"
    );
}

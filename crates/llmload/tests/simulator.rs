//! The simulated vLLM engine (`mock-server --simulate`) as a server that
//! behaves like a real one: its /metrics agree with what llmload measured,
//! its queue rises and falls with the load.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `GET path` from `http://HOST:PORT`, the body.
fn http_get(url: &str, path: &str) -> String {
    let host = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    body.to_string()
}

/// The `vllm:` samples of a scrape, by series name without labels
/// (labelled series summed).
fn scrape(url: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in http_get(url, "/metrics").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap().to_string();
        *out.entry(name).or_insert(0.0) += value.parse::<f64>().unwrap();
    }
    out
}

fn sum_of(report: &Value, key: &str) -> f64 {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["requests"]["successful"].as_array().unwrap())
        .map(|r| r[key].as_f64().unwrap())
        .sum()
}

#[test]
fn metrics_agree_with_llmloads_totals_and_the_queue_rises_and_falls() {
    let dir = common::tempdir("sim-metrics");
    let gpt2 = common::shared("tokenizers/gpt2");
    let mock = common::MockProcess::start(&common::words(&format!(
        "--simulate --max-num-seqs 4 --step-ms 2 --step-per-seq-ms 0.2 \
         --prefill-ms-per-token 0.01 --chat-template-tokens 29 --processor {}",
        gpt2.display()
    )));
    let before = scrape(&mock.url);
    assert_eq!(before["vllm:num_requests_running"], 0.0);
    // 12 streams against a batch of 4: 8 always wait.
    let mut child = common::llmload()
        .args(common::words(&format!(
            "benchmark --target {} --rate-type concurrent --rate 12 --max-requests 60 \
             --data prompt_tokens=64,output_tokens=48 --processor {} --disable-progress \
             --output-dir {} --outputs json",
            mock.url,
            gpt2.display(),
            dir.display()
        )))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Watch the server while the run goes: the batch fills and a queue forms.
    let (mut max_running, mut max_waiting) = (0.0f64, 0.0f64);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let m = scrape(&mock.url);
        max_running = max_running.max(m["vllm:num_requests_running"]);
        max_waiting = max_waiting.max(m["vllm:num_requests_waiting"]);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(max_running, 4.0, "the batch filled to --max-num-seqs");
    assert!(max_waiting >= 4.0, "a queue formed: {max_waiting}");
    let after = scrape(&mock.url);
    assert_eq!(after["vllm:num_requests_running"], 0.0);
    assert_eq!(after["vllm:num_requests_waiting"], 0.0);
    assert_eq!(after["vllm:kv_cache_usage_perc"], 0.0);

    let report = common::report(&dir);
    let delta = |k: &str| after[k] - before[k];
    // Every request finished (no cut-off): the server's counters equal llmload's totals.
    assert_eq!(
        delta("vllm:prompt_tokens_total"),
        sum_of(&report, "prompt_tokens")
    );
    assert_eq!(
        delta("vllm:generation_tokens_total"),
        sum_of(&report, "output_tokens")
    );
    assert_eq!(delta("vllm:request_success_total"), 60.0);
    // Chat prompts carry the template's 29 tokens in usage, as vLLM reports them.
    let first = &report["benchmarks"][0]["requests"]["successful"][0];
    assert_eq!(first["prompt_tokens"], 64 + 29);
    assert_eq!(delta("vllm:time_to_first_token_seconds_count"), 60.0);
    assert!(delta("vllm:request_queue_time_seconds_sum") > 0.0);
}

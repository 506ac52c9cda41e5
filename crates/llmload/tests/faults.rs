//! One run per fault mode of `llmload mock-server`: the run finishes, the
//! report is written and valid, every failed request is counted under the
//! right status and kind (checked against the mock's own log of which
//! request got which fault), and the exit code follows the rule: 0 when
//! any request succeeded, 1 when none did.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

const REQUESTS: u64 = 60;

struct Outcome {
    report: Value,
    /// The mock's log, one entry per request.
    log: Vec<Value>,
    code: Option<i32>,
    console: String,
    /// Standard output alone: the console tables.
    stdout: String,
}

impl Outcome {
    fn bench(&self) -> &Value {
        &self.report["benchmarks"][0]
    }
    fn by_kind(&self) -> BTreeMap<String, u64> {
        self.bench()["llmload"]["errors_by_kind"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    }
    fn totals(&self, status: &str) -> u64 {
        self.bench()["metrics"]["request_totals"][status]
            .as_u64()
            .unwrap()
    }
    /// Requests the mock gave `fault`.
    fn faulted(&self, fault: &str) -> u64 {
        self.log.iter().filter(|e| e["fault"] == fault).count() as u64
    }
    fn errored_records(&self) -> &Vec<Value> {
        self.bench()["requests"]["errored"].as_array().unwrap()
    }
}

/// `REQUESTS` requests at 40/s against a mock with `mock_flags`.
fn run(name: &str, mock_flags: &[&str], bench_flags: &[&str]) -> Outcome {
    let dir = common::tempdir(&format!("fault-{name}"));
    let log = dir.join("mock.jsonl");
    let mut flags = vec!["--itl-ms", "1", "--log-file", log.to_str().unwrap()];
    if !mock_flags.contains(&"--ttft-ms") {
        flags.extend(["--ttft-ms", "5"]);
    }
    flags.extend_from_slice(mock_flags);
    let mock = common::MockProcess::start(&flags);
    let max = REQUESTS.to_string();
    let mut args = common::constant_run(&mock.url, 40, "prompt_tokens=16,output_tokens=8", &dir);
    args.extend(
        [
            "--max-requests",
            &max,
            "--max-seconds",
            "60",
            "--outputs",
            "json,console",
        ]
        .map(String::from),
    );
    args.extend(bench_flags.iter().map(|f| f.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&args);
    // The mock logs a request when it is done with it, which for a client
    // that gave up is when it notices the closed connection: wait for every
    // request that reached it (all of them, but after the port closed).
    let reached = if mock_flags.contains(&"--close-after-requests") {
        0
    } else {
        REQUESTS as usize
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&log).map_or(0, |s| s.lines().count()) < reached {
        assert!(
            std::time::Instant::now() < until,
            "{name}: the mock never logged every request"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(mock);
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::report(&dir);
    // The report is loadable and re-exports (the same reader GuideLLM-format files go through).
    let check = common::run(&[
        "report",
        dir.join("benchmarks.json").to_str().unwrap(),
        "--outputs",
        "csv",
        "--output-dir",
        dir.join("again").to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{console}");
    let log = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Outcome {
        report,
        log,
        code: out.status.code(),
        console,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

#[test]
fn http_500_by_probability() {
    let o = run("500", &["--fail-rate", "0.3"], &[]);
    let failed = o.faulted("server_error");
    assert!(failed > 0 && failed < REQUESTS, "{failed}");
    assert_eq!(
        o.by_kind().get("http_status"),
        Some(&failed),
        "{}",
        o.console
    );
    assert_eq!(o.totals("errored"), failed);
    assert_eq!(o.totals("successful"), REQUESTS - failed);
    assert_eq!(o.code, Some(0), "{}", o.console);
    assert!(o.console.contains("http_status"), "{}", o.console);
}

#[test]
fn http_500_after_n_requests_and_exit_1_when_nothing_succeeds() {
    let o = run("after", &["--fail-after-requests", "20"], &[]);
    assert_eq!(o.by_kind().get("http_status"), Some(&(REQUESTS - 20)));
    assert_eq!(o.totals("successful"), 20);
    let o = run("all", &["--fail-rate", "1"], &[]);
    assert_eq!(o.totals("errored"), REQUESTS);
    assert_eq!(o.code, Some(1), "{}", o.console);
}

#[test]
fn the_console_says_why_requests_failed_in_the_servers_words() {
    // Every request fails the same way: that one message, plainly.
    let o = run("why-all", &["--fail-rate", "1"], &[]);
    assert_eq!(o.code, Some(1), "{}", o.console);
    let plain = format!(
        "constant@40.00: all {REQUESTS} requests failed (http_status): HTTP 500: mock failure (injected)"
    );
    assert!(
        o.stdout.lines().any(|l| l == plain),
        "{plain:?} not in:\n{}",
        o.stdout
    );
    // Two faults: each with its count and the server's message.
    let o = run(
        "why-mixed",
        &["--fail-rate", "0.3", "--bad-request-rate", "0.3"],
        &[],
    );
    let (e500, e400) = (o.faulted("server_error"), o.faulted("bad_request"));
    assert!(e500 > 0 && e400 > 0, "{e500} {e400}");
    let failed = e500 + e400;
    let head = format!("constant@40.00: {failed} of {REQUESTS} requests failed, by kind:");
    assert!(o.stdout.contains(&head), "{head:?} not in:\n{}", o.stdout);
    assert!(
        o.stdout
            .contains(&format!("  http_status: {failed} requests")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains(&format!("{e500} x HTTP 500: mock failure (injected)")),
        "{}",
        o.stdout
    );
    let line_400 = o
        .stdout
        .lines()
        .find(|l| l.contains("x HTTP 400: This model's maximum context length is 16384 tokens"))
        .unwrap_or_else(|| panic!("no HTTP 400 message:\n{}", o.stdout));
    assert!(line_400.chars().count() <= 140, "not trimmed: {line_400}");
}

#[test]
fn http_429_keeps_the_servers_message() {
    let o = run("429", &["--rate-limit-rate", "0.25"], &[]);
    let n = o.faulted("rate_limited");
    assert!(n > 0);
    assert_eq!(o.by_kind().get("http_status"), Some(&n));
    let said = o.errored_records()[0].to_string();
    assert!(
        said.contains("429") && said.contains("Rate limit exceeded"),
        "{said}"
    );
}

#[test]
fn http_400_with_vllms_body() {
    let o = run("400", &["--bad-request-rate", "0.25"], &[]);
    let n = o.faulted("bad_request");
    assert!(n > 0);
    assert_eq!(o.by_kind().get("http_status"), Some(&n));
    let said = o.errored_records()[0].to_string();
    assert!(said.contains("maximum context length is 16384"), "{said}");
}

#[test]
fn stream_cut_halfway_is_stream_reset() {
    let o = run("reset", &["--reset-rate", "0.25"], &[]);
    let n = o.faulted("reset");
    assert!(n > 0);
    assert_eq!(o.by_kind().get("stream_reset"), Some(&n), "{}", o.console);
    assert_eq!(o.totals("errored"), n);
    assert_eq!(o.totals("successful"), REQUESTS - n);
}

#[test]
fn malformed_chunk_is_a_parse_error() {
    let o = run("malformed", &["--malformed-rate", "0.25"], &[]);
    let n = o.faulted("malformed");
    assert!(n > 0);
    assert_eq!(o.by_kind().get("parse"), Some(&n), "{}", o.console);
    assert_eq!(o.totals("successful"), REQUESTS - n);
}

#[test]
fn stalled_stream_hits_the_stall_timeout() {
    let o = run(
        "stall",
        &["--stall-rate", "0.2"],
        &["--backend-args", r#"{"timeout": 0.5}"#],
    );
    let n = o.faulted("stall");
    assert!(n > 0);
    assert_eq!(o.by_kind().get("stream_stalled"), Some(&n), "{}", o.console);
    assert_eq!(o.totals("successful"), REQUESTS - n);
}

#[test]
fn slow_headers_beyond_the_timeout_time_out() {
    let o = run(
        "slow",
        &["--slow-headers-ms", "1500", "--slow-headers-rate", "0.2"],
        &["--backend-args", r#"{"timeout": 0.5}"#],
    );
    let n = o
        .log
        .iter()
        .filter(|e| e["headers_delayed"] == true)
        .count() as u64;
    assert!(n > 0);
    assert_eq!(o.by_kind().get("timeout"), Some(&n), "{}", o.console);
    assert_eq!(o.totals("successful"), REQUESTS - n);
}

#[test]
fn a_ten_megabyte_chunk_is_read_whole() {
    let o = run("huge", &["--huge-chunk-rate", "0.1"], &[]);
    let n = o.faulted("huge_chunk");
    assert!(n > 0);
    assert_eq!(o.totals("successful"), REQUESTS, "{}", o.console);
    let longest = o.bench()["requests"]["successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["output"].as_str().map_or(0, str::len))
        .max()
        .unwrap();
    assert!(longest >= llmload_mock::HUGE_CHUNK_BYTES, "{longest}");
}

#[test]
fn a_port_closed_mid_run_refuses_the_rest() {
    let o = run("closed", &["--close-after-requests", "20"], &[]);
    let k = o.by_kind();
    assert_eq!(o.totals("successful"), 20, "{}", o.console);
    assert!(k.get("connect").copied().unwrap_or(0) > 0, "{k:?}");
    // Only the request the port closed on can have been cut rather than refused.
    let cut = k.get("stream_reset").copied().unwrap_or(0);
    assert!(cut <= 1, "{k:?}");
    assert_eq!(
        k.values().sum::<u64>(),
        o.totals("errored"),
        "{k:?}: {}",
        o.console
    );
    assert_eq!(o.totals("errored") + 20, REQUESTS);
    assert_eq!(o.code, Some(0));
}

#[test]
fn capacity_limit_queues_and_the_wait_shows_in_ttft() {
    // One request at a time, each ~38 ms, arriving every 25 ms: a queue.
    let o = run(
        "capacity",
        &["--max-concurrent-requests", "1", "--ttft-ms", "30"],
        &[],
    );
    assert_eq!(o.totals("successful"), REQUESTS);
    let ttft = &o.bench()["metrics"]["time_to_first_token_ms"]["successful"];
    assert!(ttft["max"].as_f64().unwrap() > 100.0, "{ttft}");
    // The mock never streamed two responses at once.
    let mut spans: Vec<(f64, f64)> = o
        .log
        .iter()
        .map(|e| {
            (
                e["first_token_at"].as_f64().unwrap(),
                e["ended_at"].as_f64().unwrap(),
            )
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0 + 1e-3));
}

#[test]
fn running_out_of_sockets_is_a_connect_error_and_the_report_is_written() {
    // 100 streams under a hard limit of 40 descriptors (llmload cannot raise it).
    let dir = common::tempdir("fault-sockets");
    let mock = common::MockProcess::start(&["--ttft-ms", "50", "--itl-ms", "5"]);
    let gpt2 = common::shared("tokenizers/gpt2");
    let cmd = format!(
        "ulimit -n 40 && exec '{}' benchmark --target {} --rate-type concurrent --rate 100 \
         --max-requests 300 --data prompt_tokens=16,output_tokens=8 --processor '{}' \
         --outputs json --disable-progress --output-dir '{}'",
        env!("CARGO_BIN_EXE_llmload"),
        mock.url,
        gpt2.display(),
        dir.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &cmd])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{said}");
    let report = common::report(&dir);
    let b = &report["benchmarks"][0];
    let totals = &b["metrics"]["request_totals"];
    // Every request is accounted for, none lost.
    assert_eq!(totals["total"], 300, "{totals}");
    let refused = b["llmload"]["errors_by_kind"]["connect"].as_u64().unwrap();
    assert!(refused > 0, "{}", b["llmload"]);
    assert_eq!(totals["errored"].as_u64(), Some(refused));
    let first = b["requests"]["errored"][0].to_string();
    assert!(first.contains("Too many open files"), "{first}");
}

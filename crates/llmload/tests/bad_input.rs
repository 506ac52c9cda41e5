//! Bad input gets one line naming what is wrong, and exit code 2.

mod common;

use common::{refused, words};

/// Refused: `line` (split on whitespace) and then `more` as they are.
fn check(line: &str, more: &[&str], needle: &str) {
    refused(&[&words(line)[..], more].concat(), needle);
}

const BENCH: &str = "benchmark --target mock --data prompt_tokens=16,output_tokens=4";

#[test]
fn unknown_flag_and_flag_values() {
    check("benchmark --bogus", &[], "--bogus");
    let cases = [
        ("--rate-type fastest", "--rate-type \"fastest\""),
        (
            "--rate-type constant --rate abc",
            "--rate: expected a number",
        ),
        (
            "--rate-type constant --rate 5 --request-type images",
            "--request-type",
        ),
        (
            "--rate-type constant --rate 5 --outputs pdf",
            "--outputs \"pdf\"",
        ),
    ];
    for (flags, needle) in cases {
        check(&format!("{BENCH} {flags}"), &[], needle);
    }
    check(
        "benchmark --target ftp://x --rate-type synchronous --data prompt_tokens=16",
        &[],
        "--target \"ftp://x\"",
    );
}

#[test]
fn bad_data_specs() {
    let base = "benchmark --target mock --rate-type synchronous --max-requests 1 --data";
    let cases = [
        ("prompt_tokens=abc", "--data prompt_tokens"),
        (
            "prompt_tokens=0,output_tokens=4",
            "--data prompt_tokens: must be at least 1",
        ),
        ("prompt_tokens=10,colour=blue", "unknown key \"colour\""),
        (
            "prompt_tokens=10,prompt_tokens_min=9,prompt_tokens_max=3",
            "prompt_tokens_min (9) is larger",
        ),
    ];
    for (data, needle) in cases {
        check(base, &[data], needle);
    }
}

#[test]
fn missing_tokenizer_and_backend_args() {
    let mock = common::MockProcess::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    let base = format!(
        "benchmark --target {} --rate-type synchronous --max-requests 1 --data prompt_tokens=16",
        mock.url
    );
    check(&base, &[], "--processor");
    check(
        &base,
        &["--processor", "/no/such/tokenizer"],
        "--processor /no/such/tokenizer",
    );
    check(
        &base,
        &["--backend-args", "{timeout: 3"],
        "--backend-args: not JSON",
    );
}

#[test]
fn unreachable_target() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    check(
        &format!("benchmark --target http://127.0.0.1:{port} --rate-type synchronous --max-requests 1 --data prompt_tokens=16"),
        &[],
        "cannot list models",
    );
}

#[test]
fn report_command_bad_files_and_formats() {
    let not_a_report = common::shared("fixtures/vllm-0.32-wire/models.json");
    check(
        "report",
        &[not_a_report.to_str().unwrap()],
        "not a GuideLLM or llmload report",
    );
    check(
        "report /nonexistent/benchmarks.json",
        &[],
        "/nonexistent/benchmarks.json: cannot read",
    );
    let fixture = common::shared("fixtures/guidellm-0.4.0/mock-constant5-benchmarks.json");
    check(
        "report",
        &[fixture.to_str().unwrap(), "--outputs", "pdf"],
        "--outputs \"pdf\": expected json, csv, yaml, html or console",
    );
}

#[test]
fn tls_and_fault_options() {
    let https = "benchmark --target https://127.0.0.1:9 --data prompt_tokens=16";
    check(
        &format!("{https} --ca-bundle /nonexistent/ca.pem"),
        &[],
        "--ca-bundle /nonexistent/ca.pem",
    );
    check(
        https,
        &["--backend-args", r#"{"stall_timeout": -1}"#],
        "stall_timeout",
    );
    check(
        "mock-server --port 0 --reset-rate 0.7 --stall-rate 0.7",
        &[],
        "sum",
    );
    check(
        "mock-server --port 0 --malformed-rate 2",
        &[],
        "--malformed-rate",
    );
    check(
        "report --from-journal /nonexistent/journal.jsonl",
        &[],
        "--from-journal /nonexistent/journal.jsonl",
    );
}

#[test]
fn negative_numbers_misspelt_flags_and_data_keys_are_named() {
    check(
        &format!("{BENCH} --rate-type constant --rate 1"),
        &["--max-seconds", "-1"],
        "--max-seconds: expected a number of seconds > 0, got -1",
    );
    check(
        &format!("{BENCH} --rate-type constant --rate 1 --max-secnds 5"),
        &[],
        "a similar argument exists: '--max-seconds'",
    );
    check(
        "benchmark --target mock --rate-type synchronous --max-requests 1 --data",
        &["prompt_token=8,output_tokens=2"],
        "unknown key \"prompt_token\" (did you mean \"prompt_tokens\"?",
    );
}

/// Outputs that cannot be written, and a model the server does not serve,
/// refuse the run before its first request, not after it.
#[test]
fn what_would_fail_at_the_end_is_refused_before_the_first_request() {
    let dir = common::tempdir("preflight");
    let log = dir.join("mock-log.jsonl");
    let mock = common::MockProcess::start(&[
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--model",
        "served",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    let afile = dir.join("afile");
    std::fs::write(&afile, "not a folder").unwrap();
    let gpt2 = common::shared("tokenizers/gpt2");
    let run = format!(
        "benchmark --target {} --rate-type constant --rate 5 --max-seconds 600 --data prompt_tokens=16,output_tokens=2 --processor {}",
        mock.url,
        gpt2.display()
    );
    let started = std::time::Instant::now();
    check(
        &run,
        &["--output-dir", afile.to_str().unwrap()],
        "is a file, expected a folder",
    );
    check(
        &run,
        &[
            "--model",
            "nosuchmodel",
            "--output-dir",
            dir.join("out").to_str().unwrap(),
        ],
        "--model \"nosuchmodel\": not served by",
    );
    // Refused at once, not after the 600 s run.
    assert!(started.elapsed().as_secs() < 60);
    drop(mock);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(logged.lines().count(), 0, "requests were sent: {logged}");
}

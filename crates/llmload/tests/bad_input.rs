//! Bad input gets one line naming what is wrong, and exit code 2.

mod common;

fn check(args: &[&str], needle: &str) {
    let out = common::run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const DATA: &str = "prompt_tokens=16,output_tokens=4";

#[test]
fn unknown_flag_and_flag_values() {
    check(&["benchmark", "--bogus"], "--bogus");
    check(
        &[
            "benchmark",
            "--target",
            "mock",
            "--rate-type",
            "fastest",
            "--data",
            DATA,
        ],
        "--rate-type \"fastest\"",
    );
    check(
        &[
            "benchmark",
            "--target",
            "mock",
            "--rate-type",
            "constant",
            "--rate",
            "abc",
            "--data",
            DATA,
        ],
        "--rate: expected a number",
    );
    check(
        &[
            "benchmark",
            "--target",
            "mock",
            "--rate-type",
            "constant",
            "--rate",
            "5",
            "--data",
            DATA,
            "--request-type",
            "images",
        ],
        "--request-type",
    );
    check(
        &[
            "benchmark",
            "--target",
            "mock",
            "--rate-type",
            "constant",
            "--rate",
            "5",
            "--data",
            DATA,
            "--outputs",
            "pdf",
        ],
        "--outputs \"pdf\"",
    );
    check(
        &[
            "benchmark",
            "--target",
            "ftp://x",
            "--rate-type",
            "synchronous",
            "--data",
            DATA,
        ],
        "--target \"ftp://x\"",
    );
}

#[test]
fn bad_data_specs() {
    let base = [
        "benchmark",
        "--target",
        "mock",
        "--rate-type",
        "synchronous",
        "--max-requests",
        "1",
        "--data",
    ];
    check(
        &[&base[..], &["prompt_tokens=abc"]].concat(),
        "--data prompt_tokens",
    );
    check(
        &[&base[..], &["prompt_tokens=0,output_tokens=4"]].concat(),
        "--data prompt_tokens: must be at least 1",
    );
    check(
        &[&base[..], &["prompt_tokens=10,colour=blue"]].concat(),
        "unknown key \"colour\"",
    );
    check(
        &[
            &base[..],
            &["prompt_tokens=10,prompt_tokens_min=9,prompt_tokens_max=3"],
        ]
        .concat(),
        "prompt_tokens_min (9) is larger",
    );
}

#[test]
fn missing_tokenizer_and_backend_args() {
    let mock = common::MockProcess::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    check(
        &[
            "benchmark",
            "--target",
            &mock.url,
            "--rate-type",
            "synchronous",
            "--max-requests",
            "1",
            "--data",
            DATA,
        ],
        "--processor",
    );
    check(
        &[
            "benchmark",
            "--target",
            &mock.url,
            "--rate-type",
            "synchronous",
            "--data",
            DATA,
            "--processor",
            "/no/such/tokenizer",
        ],
        "--processor /no/such/tokenizer",
    );
    check(
        &[
            "benchmark",
            "--target",
            &mock.url,
            "--rate-type",
            "synchronous",
            "--data",
            DATA,
            "--backend-args",
            "{timeout: 3",
        ],
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
    let url = format!("http://127.0.0.1:{port}");
    check(
        &[
            "benchmark",
            "--target",
            &url,
            "--rate-type",
            "synchronous",
            "--max-requests",
            "1",
            "--data",
            DATA,
        ],
        "cannot list models",
    );
}

#[test]
fn report_command_bad_files_and_formats() {
    let not_a_report = common::shared("fixtures/vllm-0.32-wire/models.json");
    check(
        &["report", not_a_report.to_str().unwrap()],
        "not a GuideLLM or llmload report",
    );
    check(
        &["report", "/nonexistent/benchmarks.json"],
        "/nonexistent/benchmarks.json: cannot read",
    );
    let fixture = common::shared("fixtures/guidellm-0.4.0/mock-constant5-benchmarks.json");
    check(
        &["report", fixture.to_str().unwrap(), "--outputs", "pdf"],
        "--outputs \"pdf\": expected json, csv, yaml, html or console",
    );
}

#[test]
fn tls_and_fault_options() {
    let base = [
        "benchmark",
        "--target",
        "https://127.0.0.1:9",
        "--data",
        DATA,
    ];
    let mut args = base.to_vec();
    args.extend(["--ca-bundle", "/nonexistent/ca.pem"]);
    check(&args, "--ca-bundle /nonexistent/ca.pem");
    let mut args = base.to_vec();
    args.extend(["--backend-args", r#"{"stall_timeout": -1}"#]);
    check(&args, "stall_timeout");
    check(
        &[
            "mock-server",
            "--port",
            "0",
            "--reset-rate",
            "0.7",
            "--stall-rate",
            "0.7",
        ],
        "sum",
    );
    check(
        &["mock-server", "--port", "0", "--malformed-rate", "2"],
        "--malformed-rate",
    );
    check(
        &["report", "--from-journal", "/nonexistent/journal.jsonl"],
        "--from-journal /nonexistent/journal.jsonl",
    );
}

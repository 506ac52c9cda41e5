//! Ctrl-C (SIGINT) during a run: the first stops sending and lets requests
//! in flight finish, the second cancels them; both write a valid report and
//! exit 130.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `llmload benchmark` against `mock`, at 20 req/s for up to a minute, plus `extra` flags.
fn start_run(
    mock: &common::MockProcess,
    output_tokens: u32,
    out_dir: &Path,
    extra: &[&str],
) -> Child {
    common::llmload()
        .args(common::constant_run(
            &mock.url,
            20,
            &format!("prompt_tokens=16,output_tokens={output_tokens}"),
            out_dir,
        ))
        .args(["--max-seconds", "60", "--outputs", "json"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lines of the mock's log file: one per finished request.
fn logged(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |s| s.lines().count())
}

/// Poll until `cond` holds; panics after 30 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint(child: &Child) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
}

/// Forward the child's stderr lines to a channel.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_exit(child: &mut Child) -> i32 {
    wait_exit_within(child, 30)
}

fn wait_exit_within(child: &mut Child, secs: u64) -> i32 {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited, not killed");
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("llmload did not exit in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn counts(report: &Value) -> (usize, usize, usize) {
    let reqs = &report["benchmarks"][0]["requests"];
    let n = |k: &str| reqs[k].as_array().map_or(0, Vec::len);
    (n("successful"), n("errored"), n("incomplete"))
}

#[test]
fn first_sigint_lets_requests_in_flight_finish_and_writes_the_report() {
    let dir = common::tempdir("sigint-drain");
    let log = dir.join("mock.jsonl");
    // Each request takes 10 + 100 × 10 ms ≈ 1 s: well inside the 5 s grace.
    let mock = common::MockProcess::start(&[
        "--ttft-ms",
        "10",
        "--itl-ms",
        "10",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    let mut child = start_run(&mock, 100, &dir, &[]);
    let _stderr = stderr_lines(&mut child);
    wait_for("five finished requests", || logged(&log) >= 5);
    sigint(&child);
    assert_eq!(wait_exit(&mut child), 130);

    let report = common::report(&dir);
    let (ok, errored, incomplete) = counts(&report);
    assert!(ok >= 5, "{ok} successful");
    assert_eq!(
        (errored, incomplete),
        (0, 0),
        "every request in flight finished"
    );
    // Everything the mock served is in the report, and nothing else.
    assert_eq!(ok, logged(&log));
    let b = &report["benchmarks"][0];
    assert!(
        b["scheduler_state"]
            .to_string()
            .contains("\"interrupted\":true"),
        "the report says why it stopped: {}",
        b["scheduler_state"]
    );
    assert!(
        b["metrics"]["time_to_first_token_ms"]["successful"]["count"].as_u64() == Some(ok as u64)
    );
}

#[test]
fn second_sigint_cancels_requests_in_flight_and_still_writes_the_report() {
    let dir = common::tempdir("sigint-abort");
    let log = dir.join("mock.jsonl");
    // Each request takes 10 + 150 × 20 ms ≈ 3 s: inside the 5 s grace, so
    // only the second SIGINT can leave any incomplete.
    let mock = common::MockProcess::start(&[
        "--ttft-ms",
        "10",
        "--itl-ms",
        "20",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    let mut child = start_run(&mock, 150, &dir, &[]);
    let stderr = stderr_lines(&mut child);
    wait_for("a finished request", || logged(&log) >= 1);
    sigint(&child);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let line = stderr
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .expect("the interrupt notice on stderr");
        if line.contains("interrupted") {
            break;
        }
    }
    sigint(&child);
    assert_eq!(wait_exit(&mut child), 130);

    let report = common::report(&dir);
    let (ok, errored, incomplete) = counts(&report);
    assert!(ok >= 1, "{ok} successful");
    assert_eq!(errored, 0);
    assert!(
        incomplete >= 10,
        "requests in flight were cut off: {incomplete}"
    );
    let inc = &report["benchmarks"][0]["requests"]["incomplete"][0];
    assert!(inc["output_tokens"].as_u64().unwrap_or(0) < 150);
}

#[test]
fn a_server_that_dies_mid_run_is_counted_and_the_report_written() {
    let dir = common::tempdir("server-dies");
    let log = dir.join("mock.jsonl");
    let mut mock = common::MockProcess::start(&[
        "--ttft-ms",
        "10",
        "--itl-ms",
        "10",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    // 1 s streams at 20 req/s; the server dies after 5 have finished, and
    // the error window (as in the Red Hat command) ends the run.
    let mut child = start_run(&mock, 100, &dir, &["--max-error-rate", "0.5"]);
    let _stderr = stderr_lines(&mut child);
    wait_for("five finished requests", || logged(&log) >= 5);
    mock.kill();
    let served = logged(&log);
    // Exit 0: some requests succeeded (1 only when none did).
    assert_eq!(wait_exit_within(&mut child, 90), 0);
    let report = common::report(&dir);
    let (ok, errored, _) = counts(&report);
    assert_eq!(
        ok, served,
        "every request the server finished is in the report"
    );
    assert!(errored >= 1, "requests after the crash are errors");
    let kinds = &report["benchmarks"][0]["llmload"]["errors_by_kind"];
    assert!(
        kinds.as_object().is_some_and(|k| !k.is_empty()),
        "errors are classified: {kinds}"
    );
}

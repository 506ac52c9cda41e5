//! Progress on stderr: what stops each benchmark, said at the start; a plain
//! line every few seconds when stderr is not a terminal; and, in a real
//! 80-column terminal (tmux), a status line redrawn in place.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DATA: &str = "prompt_tokens=16,output_tokens=4";

#[test]
fn a_run_in_a_log_prints_plain_progress_lines_and_what_stops_it() {
    let dir = common::tempdir("progress-plain");
    let out = common::run(&[
        "benchmark",
        "--target",
        "mock",
        "--rate-type",
        "constant",
        "--rate",
        "5",
        "--max-seconds",
        "12",
        "--data",
        DATA,
        "--outputs",
        "json",
        "--output-dir",
        dir.to_str().unwrap_or_default(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l == "llmload: each benchmark stops after 12 s"),
        "the stop condition: {stderr}"
    );
    let status: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("[1] constant@5.00 "))
        .collect();
    // At 5 s, at 10 s, and the last one.
    assert!(status.len() >= 2, "plain progress lines: {stderr}");
    assert!(status.iter().all(|l| l.contains(" ok ")), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "no terminal control in a log: {stderr:?}"
    );
}

#[test]
fn a_run_without_limits_says_it_runs_until_interrupted() {
    let dir = common::tempdir("progress-unbounded");
    let mut child = common::llmload()
        .args(["benchmark", "--target", "mock", "--rate-type", "constant"])
        .args(["--rate", "5", "--data", DATA, "--disable-progress"])
        .args(["--outputs", "json", "--output-dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llmload starts");
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(60);
    let mut said = Vec::new();
    let found = loop {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("runs until interrupted") => break Some(line),
            Ok(line) => said.push(line),
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let line = found.unwrap_or_else(|| panic!("no stop-condition line in 60 s: {said:?}"));
    assert_eq!(
        line,
        "llmload: no --max-seconds or --max-requests: each benchmark runs until \
         interrupted (Ctrl-C)"
    );
}

#[test]
fn the_live_display_fits_an_80_column_tmux_pane() {
    let has_tmux = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_tmux {
        println!("skipped: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/progress-tmux.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("LLMLOAD", env!("CARGO_BIN_EXE_llmload"))
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("PASS"), "{said}");
}

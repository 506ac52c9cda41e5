//! Helpers for running the `llmload` binary in tests.

#![allow(dead_code)]

pub mod keypaths;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The built binary.
pub fn llmload() -> Command {
    Command::new(env!("CARGO_BIN_EXE_llmload"))
}

/// `../shared/...`
pub fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("LLMLOAD_SHARED")).join(rel);
    assert!(
        p.exists(),
        "{} not found: the tests need ../shared beside the checkout (or LLMLOAD_SHARED at build time)",
        p.display()
    );
    p
}

/// A fresh temporary directory.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmload-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `llmload mock-server` process on a free loopback port.
pub struct MockProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl MockProcess {
    /// Start it with extra flags; returns once it listens.
    pub fn start(args: &[&str]) -> MockProcess {
        let mut child = llmload()
            .args(["mock-server", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("listening line")
            .to_string();
        MockProcess { child, url }
    }
}

impl MockProcess {
    /// Kill the server now (SIGKILL): its port closes mid-run.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `llmload` with `args`, capturing everything.
pub fn run(args: &[&str]) -> Output {
    llmload().args(args).stdin(Stdio::null()).output().unwrap()
}

/// The words of a command line (for arguments without spaces).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Run `llmload` with `args` and check it is refused as bad input: exit
/// code 2 and one line on stderr that contains `needle`, no panic.
pub fn refused(args: &[&str], needle: &str) {
    let out = run(args);
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

/// The JSON report in `dir`.
pub fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("benchmarks.json")).unwrap()).unwrap()
}

/// The strategy of every benchmark of a JSON report, in order
/// (`["synchronous", "throughput", "constant", …]`).
pub fn strategy_kinds(report: &serde_json::Value) -> Vec<String> {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["config"]["strategy"]["type_"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `benchmark --target URL --rate-type constant --rate RATE --data DATA
/// --processor <gpt2> --disable-progress --output-dir DIR`: the core of a
/// bounded test run; add limits and outputs.
pub fn constant_run(url: &str, rate: u32, data: &str, out_dir: &Path) -> Vec<String> {
    let gpt2 = shared("tokenizers/gpt2");
    [
        "benchmark",
        "--target",
        url,
        "--rate-type",
        "constant",
        "--rate",
        &rate.to_string(),
        "--data",
        data,
        "--processor",
        gpt2.to_str().unwrap(),
        "--disable-progress",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// `GET path` from `http://HOST:PORT`, the body.
pub fn http_get(url: &str, path: &str) -> String {
    let host = url.trim_start_matches("http://");
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).unwrap();
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
pub fn scrape(url: &str) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
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

/// Run the binary in `dir` (created) with `line`: its output, and stdout and stderr as one text.
pub fn run_in(dir: &Path, line: &str) -> (std::process::Output, String) {
    std::fs::create_dir_all(dir).unwrap();
    let out = llmload()
        .current_dir(dir)
        .args(words(line))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

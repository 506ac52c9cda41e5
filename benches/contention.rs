//! Holding the schedule on a busy host (the OpenNebula appliance runs the
//! load generator beside vLLM, whose CPU engine keeps every core busy).
//!
//! Constant 1, 10 and 50 req/s for 30 s (16-token streams), against the
//! embedded mock (`--target mock`) and an external `llmload mock-server`,
//! first on an idle host, then with two nice-0 busy loops
//! (`sh -c 'while :; do :; done'`) on the two cores: in llmload's own
//! session, then each in a session of its own (as a separate service would
//! be; the kernel's autogroups share the CPU between sessions first). With `LLMLOAD_REAL_TARGET=URL` (and
//! `LLMLOAD_REAL_PROCESSOR=PATH`) it also measures against that server, on
//! an idle host only (the server is the load).
//!
//! Target: p99 dispatch delay (request written minus intended send time)
//! <= 5 ms under the loops, at every rate and for both targets.
//!
//! Run: `cargo bench -p llmload-benches --bench contention [-- SECONDS]`;
//! `LLMLOAD_BIN=PATH` measures another build (an older commit, for a before/after).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use llmload_benches::{llmload_bin, run_measured, shared, Mock};
use serde_json::Value;

/// Busy loops, killed when dropped.
struct Loops(Vec<Child>);

impl Loops {
    /// `n` loops, in llmload's session (as the issue reproduced it: under
    /// autogroup they share its CPU share) or each in its own (as a server
    /// started elsewhere would be).
    fn start(n: usize, own_sessions: bool) -> Loops {
        Loops(
            (0..n)
                .map(|_| {
                    let mut c = if own_sessions {
                        let mut c = Command::new("setsid");
                        c.arg("sh");
                        c
                    } else {
                        Command::new("sh")
                    };
                    c.args(["-c", "while :; do :; done"]).spawn().expect("sh")
                })
                .collect(),
        )
    }
}

impl Drop for Loops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// One constant-rate run; prints and returns the p99 dispatch delay (ms).
fn run(bin: &Path, label: &str, target: &str, processor: &str, rate: u32, secs: u32) -> f64 {
    let dir = std::env::temp_dir().join(format!("llmload-contention-{label}-{rate}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new(bin);
    cmd.args(["benchmark", "--target", target, "--rate-type", "constant"])
        .args([
            "--rate",
            &rate.to_string(),
            "--max-seconds",
            &secs.to_string(),
        ])
        .args(["--data", "prompt_tokens=128,output_tokens=16"])
        .args(["--processor", processor, "--disable-progress"])
        .args(["--disable-console-outputs", "--outputs", "json"])
        .args(["--output-dir", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let usage = run_measured(&mut cmd);
    let text = std::fs::read_to_string(dir.join("benchmarks.json")).unwrap_or_default();
    let report: Value = serde_json::from_str(&text).unwrap_or_default();
    let b = &report["benchmarks"][0];
    let lag = &b["llmload"]["dispatch_delay_ms"];
    let verdict = &b["llmload"]["verdict"];
    println!(
        "{label:40} {rate:>3} req/s: lag ms p50 {:>7.3} p90 {:>7.3} p99 {:>7.3} max {:>7.3}; {} requests; verdict {}; CPU {:.2} s",
        f(&lag["p50"]),
        f(&lag["p90"]),
        f(&lag["p99"]),
        f(&lag["max"]),
        f(&lag["count"]),
        verdict["outcome"].as_str().unwrap_or("-"),
        usage.cpu
    );
    f(&lag["p99"])
}

fn main() {
    let secs: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let bin = llmload_bin();
    let gpt2 = shared("tokenizers/gpt2");
    let gpt2 = gpt2.to_str().unwrap();
    let mock = Mock::start(
        &bin,
        &[
            "--ttft-ms",
            "25",
            "--itl-ms",
            "5",
            "--model",
            "m",
            "--processor",
            gpt2,
        ],
    );
    let rates = [1, 10, 50];
    let mut worst: f64 = 0.0;
    for (busy, own) in [(false, false), (true, false), (true, true)] {
        let _loops = busy.then(|| Loops::start(2, own));
        let host = match (busy, own) {
            (false, _) => "idle host",
            (true, false) => "2 loops, same session",
            (true, true) => "2 loops, own sessions",
        };
        for rate in rates {
            let a = run(
                &bin,
                &format!("mock (embedded), {host}"),
                "mock",
                gpt2,
                rate,
                secs,
            );
            let b = run(
                &bin,
                &format!("external mock, {host}"),
                &mock.url,
                gpt2,
                rate,
                secs,
            );
            if busy {
                worst = worst.max(a).max(b);
            }
        }
    }
    if let Ok(url) = std::env::var("LLMLOAD_REAL_TARGET") {
        let processor = std::env::var("LLMLOAD_REAL_PROCESSOR").unwrap_or_default();
        for rate in [1, 2, 4] {
            run(
                &bin,
                "real server on this host",
                &url,
                &processor,
                rate,
                secs,
            );
        }
    }
    println!(
        "worst p99 dispatch delay under the busy loops: {worst:.3} ms (target <= 5 ms): {}",
        if worst <= 5.0 { "met" } else { "NOT MET" }
    );
}

//! A long, fast run in bounded memory: constant RATE req/s of 16-token
//! streams for SECONDS against `llmload mock-server` (a separate process on
//! the same cores), the output text not kept.
//!
//! Records llmload's peak RSS (the child's `getrusage`), the requests it
//! made, the resident cost per request (peak RSS over the requests, after
//! the ~40 MiB an empty run takes), how long the report took after the
//! last request (process exit - the benchmark's `end_time`), and the p99
//! send lag of the first and the last minute (the report's timeline, log
//! buckets 4.4 % wide).
//!
//! Run: `cargo bench -p llmload-benches --bench soak -- [--rate 2000]
//! [--seconds 1800] [--sample-requests N] [--reexport]` (the soak:
//! the defaults, 3.6 million requests; the report lists every request
//! unless sampled). `--reexport` then times `llmload report` writing the
//! report again in every format, with its peak RSS against the file's size.

use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use llmload_benches::{llmload_bin, run_measured, shared, Mock};
use serde_json::Value;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// p99 of the send lag over the slices `[from, to)` of `timeline`, ms.
fn lag_p99(timeline: &Value, from: usize, to: usize) -> Option<f64> {
    let mut buckets: std::collections::BTreeMap<u64, u64> = Default::default();
    for s in timeline["slices"].as_array()?.get(from..to)? {
        for e in s["send_lag"].as_array()? {
            *buckets.entry(e[0].as_u64()?).or_default() += e[1].as_u64()?;
        }
    }
    let total: u64 = buckets.values().sum();
    let rank = (0.99 * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, n) in buckets {
        seen += n;
        if seen >= rank {
            return Some((b as f64 / 16.0).exp2() / 1000.0);
        }
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate = arg(&args, "--rate").unwrap_or_else(|| "2000".into());
    let seconds = arg(&args, "--seconds").unwrap_or_else(|| "1800".into());
    let sample = arg(&args, "--sample-requests");
    let reexport = args.iter().any(|a| a == "--reexport");
    let bin = llmload_bin();
    let mock = Mock::start(&bin, &["--ttft-ms", "10", "--itl-ms", "1", "--model", "m"]);
    let dir = std::env::temp_dir().join("llmload-bench-soak");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.args([
        "benchmark",
        "--target",
        &mock.url,
        "--rate-type",
        "constant",
    ])
    .args(["--rate", &rate, "--max-seconds", &seconds])
    .args(["--data", "prompt_tokens=32,output_tokens=16"])
    .args(["--processor", shared("tokenizers/gpt2").to_str().unwrap()])
    .args(["--output-dir", dir.to_str().unwrap(), "--outputs", "json"])
    .args(["--disable-progress", "--disable-console-outputs"])
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    if let Some(n) = &sample {
        cmd.args(["--sample-requests", n]);
    }
    let usage = run_measured(&mut cmd);
    let exited = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let size = std::fs::metadata(dir.join("benchmarks.json")).map_or(0, |m| m.len());
    // Before this process reads the report (its memory would count in the
    // child's peak RSS where the child is forked from it).
    if reexport {
        let out = dir.join("re");
        let usage = run_measured(
            Command::new(&bin)
                .arg("report")
                .arg(dir.join("benchmarks.json"))
                .arg("--output-dir")
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        );
        let sizes: Vec<String> = ["json", "yaml", "csv", "html"]
            .iter()
            .map(|ext| {
                let len =
                    std::fs::metadata(out.join(format!("benchmarks.{ext}"))).map_or(0, |m| m.len());
                format!("{ext} {:.1} MB", len as f64 / 1e6)
            })
            .collect();
        println!(
            "reexport: llmload report of the {:.1} MB report: peak RSS {:.0} MiB, {:.1} s, \
             CPU {:.1} s, exit {}; wrote {}",
            size as f64 / 1e6,
            usage.max_rss_mib,
            usage.wall,
            usage.cpu,
            usage.code,
            sizes.join(", ")
        );
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("benchmarks.json")).unwrap()).unwrap();
    let b = &report["benchmarks"][0];
    let made = b["scheduler_metrics"]["requests_made"]["total"]
        .as_u64()
        .unwrap_or(0);
    let end = b["scheduler_metrics"]["end_time"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let tl = &b["llmload"]["timeline"];
    let slice = tl["slice_seconds"].as_f64().unwrap_or(1.0);
    let n = tl["slices"].as_array().map_or(0, Vec::len);
    let minute = ((60.0 / slice).ceil() as usize).clamp(1, n.max(1));
    let (first, last) = (
        lag_p99(tl, 0, minute),
        lag_p99(tl, n.saturating_sub(minute), n),
    );
    println!(
        "soak: constant {rate}/s x {seconds} s, 16-token streams, sample {}: {made} requests; \
         peak RSS {:.0} MiB ({:.0} bytes/request over 40 MiB); report {:.1} s after the end, \
         {:.1} MB; send lag p99 first minute {:?} ms, last minute {:?} ms (dispatch delay p99 \
         over the run {:.3} ms); exit {}; CPU {:.0} s",
        sample.as_deref().unwrap_or("all"),
        usage.max_rss_mib,
        (usage.max_rss_mib - 40.0).max(0.0) * 1048576.0 / made.max(1) as f64,
        exited - end,
        size as f64 / 1e6,
        first,
        last,
        b["llmload"]["dispatch_delay_ms"]["p99"]
            .as_f64()
            .unwrap_or(f64::NAN),
        usage.code,
        usage.cpu,
    );
}

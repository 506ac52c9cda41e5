//! A sharded run merged in bounded memory: SHARDS processes (`--shard k/N`)
//! share the schedule of constant RATE req/s of 16-token streams for
//! SECONDS against `llmload mock-server`, then `llmload merge` makes the
//! one report of the run, once in GuideLLM 0.4's layout and once in 0.8's
//! (schema 2), every request listed.
//!
//! Records the merge's peak RSS (the child's `getrusage`), its wall and CPU
//! time and the report's size, against the requests merged.
//! `--bin PATH` merges with another build of llmload (the shards still run
//! with this one): the figure before a change.
//!
//! Run: `cargo bench -p llmload-benches --bench merge -- [--shards 2]
//! [--rate 2000] [--seconds 120] [--bin PATH] [--again]` (`--again` merges the last
//! run's shards again, with `--bin`'s build).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use llmload_benches::{llmload_bin, run_measured, shared, Mock};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shards: u32 = arg(&args, "--shards").map_or(2, |s| s.parse().expect("--shards N"));
    let rate = arg(&args, "--rate").unwrap_or_else(|| "2000".into());
    let seconds = arg(&args, "--seconds").unwrap_or_else(|| "120".into());
    let bin = llmload_bin();
    let merger = arg(&args, "--bin").map_or_else(|| bin.clone(), PathBuf::from);
    let mock = Mock::start(&bin, &["--ttft-ms", "10", "--itl-ms", "1", "--model", "m"]);
    let dir = std::env::temp_dir().join("llmload-bench-merge");
    let run = dir.join("run");
    // `--again`: merge the shards of the last run again (another `--bin`).
    let again = args.iter().any(|a| a == "--again");
    if !again {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&run).unwrap();
    let children: Vec<_> = (0..if again { 0 } else { shards })
        .map(|k| {
            Command::new(&bin)
                .args([
                    "benchmark",
                    "--target",
                    &mock.url,
                    "--rate-type",
                    "constant",
                ])
                .args(["--rate", &rate, "--max-seconds", &seconds])
                .args(["--data", "prompt_tokens=32,output_tokens=16"])
                .args(["--processor", shared("tokenizers/gpt2").to_str().unwrap()])
                .args(["--outputs", "json"])
                .args(["--disable-progress", "--disable-console-outputs"])
                .args(["--shard", &format!("{k}/{shards}"), "--output-dir"])
                .arg(&run)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn a shard")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a shard failed");
    }
    // The journals' sizes and the requests they hold (one line each).
    let (mut journals, mut requests) = (0u64, 0u64);
    for e in std::fs::read_dir(&run).unwrap().filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().ends_with(".journal") {
            journals += e.metadata().map_or(0, |m| m.len());
            let file = std::io::BufReader::new(std::fs::File::open(e.path()).unwrap());
            requests += file
                .split(b'\n')
                .filter(|l| l.as_ref().is_ok_and(|l| l.starts_with(b"{\"request\":")))
                .count() as u64;
        }
    }
    for schema in ["0.4", "0.8"] {
        let out = dir.join(format!("merged-{schema}"));
        let _ = std::fs::remove_dir_all(&out);
        let usage = run_measured(
            Command::new(&merger)
                .arg("merge")
                .arg(&run)
                .arg("--output-dir")
                .arg(&out)
                .args(["--outputs", "json", "--schema", schema])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let report = out.join("benchmarks.json");
        let size = std::fs::metadata(&report).map_or(0, |m| m.len());
        println!(
            "merge: constant {rate}/s x {seconds} s split over {shards} shards, journals {:.1} MB; \
             {requests} requests; schema {schema}: report {:.1} MB; peak RSS {:.0} MiB, \
             {:.1} s, CPU {:.1} s, exit {} ({})",
            journals as f64 / 1e6,
            size as f64 / 1e6,
            usage.max_rss_mib,
            usage.wall,
            usage.cpu,
            usage.code,
            merger.display()
        );
    }
}

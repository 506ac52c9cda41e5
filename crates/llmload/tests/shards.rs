//! One run split across processes (`--shard`), merged (`llmload merge`):
//! four shards on this machine make the schedule and the bodies of one
//! process exactly, the merge computes its statistics over the union of
//! their records, a shard killed midway is named and what it held is
//! merged, and journals of different runs are refused.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use llmload_clock::Timestamp;
use llmload_engine::{Arrivals, Strategy};
use llmload_metrics::{Measured, RequestRecord, RequestStatus};
use serde_json::Value;

const RATE: f64 = 400.0;

fn base(url: &str, seconds: u32) -> String {
    format!(
        "benchmark --target {url} --rate-type constant --rate {RATE} --max-seconds {seconds} \
         --data prompt_tokens=32,output_tokens=8 --processor {} \
         --outputs json --disable-progress --disable-console-outputs",
        common::shared("tokenizers/gpt2").display()
    )
}

fn shard(args: &str, k: u32, n: u32, dir: &Path) -> Child {
    common::llmload()
        .args(common::words(args))
        .args(["--shard", &format!("{k}/{n}"), "--output-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every record of the shards' journals in `dir`, ordered by intended send time.
fn journal_records(dir: &Path, n: u32) -> Vec<RequestRecord> {
    let mut all = Vec::new();
    for k in 0..n {
        let r = llmload_journal::read(&dir.join(format!("shard-{k}-of-{n}.journal"))).unwrap();
        for (_, records) in r.benchmarks {
            all.extend(records);
        }
    }
    all.sort_by_key(|r| r.timings.targeted_start);
    all
}

fn body(r: &RequestRecord) -> &[u8] {
    r.request_body.as_deref().unwrap_or_default()
}

/// `indices` (ascending) are the schedule's `0..n` but for a few of its
/// last: due within its last 50 ms, where a late wake meets the deadline.
fn assert_tail_only(indices: &[usize], n: usize) {
    let tail = n - (0.05 * RATE) as usize;
    let missing = n - indices.len();
    assert!(
        indices.iter().take(tail).copied().eq(0..tail),
        "a request due before the last 50 ms was not sent"
    );
    assert!(missing <= n - tail, "{missing} requests missing");
}

#[test]
fn four_shards_make_the_schedule_and_bodies_of_one_process() {
    let mock = common::MockProcess::start(&[]);
    let args = base(&mock.url, 20);
    let dir = common::tempdir("shards-four");
    let run = dir.join("run");
    let children: Vec<Child> = (0..4).map(|k| shard(&args, k, 4, &run)).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let records = journal_records(&run, 4);

    // The schedule: the union of the shards' intended send times is the
    // one process's, to the nanosecond.
    let header = llmload_journal::read(&run.join("shard-0-of-4.journal"))
        .unwrap()
        .header;
    let start = records[0].timings.targeted_start.unwrap();
    let agreed = header["shard"]["start_at"].as_f64().unwrap();
    assert!(
        (start.as_secs_f64() - agreed).abs() < 1e-6,
        "request 0 goes at the agreed start"
    );
    let one = Strategy::Constant {
        rate: RATE,
        max_concurrency: 10_240,
    };
    let expected: Vec<Timestamp> = Arrivals::for_strategy(&one, start)
        .unwrap()
        .take_while(|t| t.secs_since(start) < 20.0)
        .collect();
    // Every record is request i of that schedule, once. A send whose wake
    // comes after the deadline (a loaded host) is not made, in one process
    // as in a shard: only the schedule's last instants may be missing.
    let at = |t: Timestamp, start: Timestamp| (t.secs_since(start) * RATE).round() as usize;
    let indices: Vec<usize> = records
        .iter()
        .map(|r| at(r.timings.targeted_start.unwrap(), start))
        .collect();
    for (r, &i) in records.iter().zip(&indices) {
        assert_eq!(r.timings.targeted_start, Some(expected[i]), "request {i}");
    }
    assert!(
        indices.windows(2).all(|w| w[0] < w[1]),
        "a request sent twice"
    );
    assert_eq!(expected.len(), 8000);
    assert_tail_only(&indices, expected.len());

    // The same run in one process: every request index's body byte for byte.
    let single_dir = dir.join("single");
    let out = common::run(
        &[
            common::words(&args).as_slice(),
            &["--output-dir", single_dir.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let single = common::report(&single_dir);
    let b = &single["benchmarks"][0];
    let t = |v: &Value| v["info"]["timings"]["targeted_start"].as_f64().unwrap();
    let kept: Vec<&Value> = ["successful", "incomplete", "errored"]
        .iter()
        .flat_map(|s| b["requests"][s].as_array().unwrap())
        .collect();
    let first = kept.iter().map(|v| t(v)).fold(f64::INFINITY, f64::min);
    let by_index: std::collections::BTreeMap<usize, &Value> = kept
        .iter()
        .map(|v| (((t(v) - first) * RATE).round() as usize, *v))
        .collect();
    assert_eq!(
        by_index.len(),
        kept.len(),
        "one process sent a request twice"
    );
    assert_tail_only(&by_index.keys().copied().collect::<Vec<_>>(), 8000);
    let mut compared = 0;
    for (r, i) in records.iter().zip(&indices) {
        if let Some(s) = by_index.get(i) {
            assert_eq!(
                s["request_args"].as_str().unwrap().as_bytes(),
                body(r),
                "request {i}'s body differs"
            );
            compared += 1;
        }
    }
    assert!(compared >= 7990, "{compared} bodies compared");

    // The merge: statistics over the union of the records.
    let merged_dir = dir.join("merged");
    let out = common::run(&[
        "merge",
        run.to_str().unwrap(),
        "--output-dir",
        merged_dir.to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = common::report(&merged_dir);
    let m = &merged["benchmarks"][0];
    let count = |st: RequestStatus| records.iter().filter(|r| r.status == st).count() as u64;
    let totals = &m["metrics"]["request_totals"];
    assert_eq!(
        totals["successful"].as_u64(),
        Some(count(RequestStatus::Completed))
    );
    assert_eq!(
        totals["incomplete"].as_u64(),
        Some(count(RequestStatus::Cancelled))
    );
    assert_eq!(totals["total"].as_u64(), Some(records.len() as u64));
    let mut ttft: Vec<f64> = records
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .filter_map(RequestRecord::time_to_first_token_ms)
        .collect();
    ttft.sort_by(f64::total_cmp);
    let median = m["metrics"]["time_to_first_token_ms"]["successful"]["median"]
        .as_f64()
        .unwrap();
    assert!(
        ttft.contains(&median),
        "the median is one of the records' TTFTs"
    );
    let out_tokens: u64 = records
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .filter_map(RequestRecord::output_tokens)
        .sum();
    assert_eq!(
        m["metrics"]["output_token_count"]["successful"]["total_sum"].as_f64(),
        Some(out_tokens as f64)
    );
    let shards = &merged["llmload"]["shards"];
    assert_eq!(shards["count"], 4);
    // How the merging process's threads ran is not the run's.
    let scheduling = merged["llmload"]["scheduling"].as_str().unwrap();
    assert!(
        scheduling.starts_with("not known here: merged from 4 shards"),
        "{scheduling}"
    );
    assert_eq!(shards["shards"].as_array().unwrap().len(), 4);
    // The first shard's scrapes of the server, against all shards' records:
    // the server served exactly llmload's requests.
    let sm = &m["llmload"]["server_metrics"];
    assert!(
        sm["cross_checks"]["warnings"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{sm}"
    );
    assert!(sm["scrapes"].as_u64().unwrap() >= 10, "{sm}");
    // A shard's own report does not judge its share against the whole rate.
    let own = common::report(&run.join("shard-1"));
    assert!(own["benchmarks"][0]["llmload"]["verdict"].is_null());
    assert!(own["benchmarks"][0]["llmload"]["server_metrics"].is_null());
    // Within the noise of one process: the rate served and the median TTFT.
    let near = |path: &[&str], tol: f64| {
        let at = |v: &Value| path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap();
        let (x, y) = (at(m), at(b));
        assert!((x / y - 1.0).abs() < tol, "{path:?}: {x} vs {y}");
    };
    near(
        &["metrics", "requests_per_second", "successful", "mean"],
        0.05,
    );
    near(
        &["metrics", "time_to_first_token_ms", "successful", "median"],
        0.25,
    );
}

#[test]
fn a_shard_killed_midway_is_named_and_what_it_held_is_merged() {
    let mock = common::MockProcess::start(&[]);
    let args = base(&mock.url, 8);
    let dir = common::tempdir("shards-killed");
    let run = dir.join("run");
    let mut children: Vec<Child> = (0..3).map(|k| shard(&args, k, 3, &run)).collect();
    // Shard 1 is killed once its journal holds requests.
    let journal = run.join("shard-1-of-3.journal");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "shard 1 never started"
        );
        std::thread::yield_now();
    }
    children[1].kill().unwrap();
    for c in children {
        let _ = c.wait_with_output().unwrap();
    }
    let held = llmload_journal::read(&journal).unwrap();
    let held: usize = held.benchmarks.iter().map(|b| b.1.len()).sum();
    let merged_dir = dir.join("merged");
    let out = common::run(&[
        "merge",
        run.to_str().unwrap(),
        "--output-dir",
        merged_dir.to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "shard 1/3 did not finish (no done-1: killed, or still running): its journal held {held} finished requests"
        )),
        "{stderr}"
    );
    let merged = common::report(&merged_dir);
    assert_eq!(merged["llmload"]["shards"]["unfinished"][0], 1);
    let others: usize = [0, 2]
        .iter()
        .map(|k| {
            let r = llmload_journal::read(&run.join(format!("shard-{k}-of-3.journal"))).unwrap();
            r.benchmarks.iter().map(|b| b.1.len()).sum::<usize>()
        })
        .sum();
    assert_eq!(
        merged["benchmarks"][0]["metrics"]["request_totals"]["total"].as_u64(),
        Some((held + others) as u64)
    );
}

#[test]
fn journals_of_different_runs_are_refused_in_one_line() {
    let mock = common::MockProcess::start(&[]);
    let dir = common::tempdir("shards-different");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let one = base(&mock.url, 1);
    let other = one.replace("--rate 400", "--rate 300");
    // One shard of each run, alone: --start-at keeps the rendezvous from
    // waiting for its partner past it.
    for (args, k, out) in [(&one, 0, &a), (&other, 1, &b)] {
        let soon = format!(
            "{:.3}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                + 1.0
        );
        let out = common::llmload()
            .args(common::words(args))
            .args([
                "--shard",
                &format!("{k}/2"),
                "--start-at",
                &soon,
                "--output-dir",
            ])
            .arg(out)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = common::run(&[
        "merge",
        a.join("shard-0-of-2.journal").to_str().unwrap(),
        b.join("shard-1-of-2.journal").to_str().unwrap(),
        "--output-dir",
        dir.join("m").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not shards of one run"), "{stderr}");
    assert!(stderr.contains("rate"), "{stderr}");
}

#[test]
fn concurrent_streams_and_max_requests_split_across_shards() {
    let mock = common::MockProcess::start(&[]);
    let args = format!(
        "benchmark --target {} --rate-type concurrent --rate 4 --max-requests 41 \
         --data prompt_tokens=16,output_tokens=4 --processor {} --server-metrics off \
         --outputs json --disable-progress --disable-console-outputs",
        mock.url,
        common::shared("tokenizers/gpt2").display()
    );
    let dir = common::tempdir("shards-concurrent");
    let run = dir.join("run");
    let children: Vec<Child> = (0..2).map(|k| shard(&args, k, 2, &run)).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (k, streams, share) in [(0u32, [0u32, 2], 21usize), (1, [1, 3], 20)] {
        let r = llmload_journal::read(&run.join(format!("shard-{k}-of-2.journal"))).unwrap();
        let records = &r.benchmarks[0].1;
        assert_eq!(records.len(), share, "shard {k}: its share of 41");
        let mut workers: Vec<u32> = records.iter().map(|r| r.worker).collect();
        workers.sort_unstable();
        workers.dedup();
        assert_eq!(
            workers, streams,
            "shard {k} runs streams {streams:?} of the 4"
        );
    }
    let out = common::run(&[
        "merge",
        run.to_str().unwrap(),
        "--output-dir",
        dir.join("merged").to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = common::report(&dir.join("merged"));
    let b = &merged["benchmarks"][0];
    assert_eq!(b["config"]["strategy"]["streams"], 4);
    assert_eq!(b["metrics"]["request_totals"]["successful"], 41);
}

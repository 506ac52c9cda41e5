//! The crash-safe journal (SIGKILL mid-run, then `report --from-journal`)
//! and secrets: an API key is sent, and never written anywhere.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const SECRET: &str = "sk-llmload-test-7f3a9c1e5b";

fn journal_request_ids(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("request").is_some())
        .map(|v| v["record"]["request_id"].as_str().unwrap().to_string())
        .collect()
}

fn report_request_ids(report: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for b in report["benchmarks"].as_array().unwrap() {
        for status in ["successful", "errored", "incomplete"] {
            for r in b["requests"][status].as_array().unwrap() {
                ids.insert(r["request_id"].as_str().unwrap().to_string());
            }
        }
    }
    ids
}

#[test]
fn sigkill_at_a_random_moment_then_rebuild_from_the_journal() {
    let dir = common::tempdir("journal-kill");
    let mock = common::MockProcess::start(&["--ttft-ms", "10", "--itl-ms", "2"]);
    let mut child = common::llmload()
        .args(common::constant_run(
            &mock.url,
            50,
            "prompt_tokens=32,output_tokens=16",
            &dir,
        ))
        .args(["--max-seconds", "30", "--backend-args"])
        .arg(format!(r#"{{"api_key": "{SECRET}"}}"#))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A random moment: once the journal holds between 20 and 400 finished requests.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let target = 20 + (nanos % 381) as usize;
    let journal = dir.join("benchmarks.journal.jsonl");
    let until = Instant::now() + Duration::from_secs(40);
    let finished = |p: &Path| {
        if p.exists() {
            journal_request_ids(p).len()
        } else {
            0
        }
    };
    while finished(&journal) < target {
        assert!(Instant::now() < until, "the journal never reached {target}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !dir.join("benchmarks.json").exists(),
        "killed before the end"
    );

    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(SECRET), "the journal holds the API key");
    let recorded = journal_request_ids(&journal);
    assert!(recorded.len() >= target);
    let out_dir = dir.join("rebuilt");
    let out = common::run(&[
        "report",
        "--from-journal",
        journal.to_str().unwrap(),
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--outputs",
        "json,csv,html",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::report(&out_dir);
    assert_eq!(report_request_ids(&report), recorded);
    let b = &report["benchmarks"][0];
    assert_eq!(b["config"]["strategy"]["type_"], "constant");
    assert_eq!(b["config"]["strategy"]["rate"], 50.0);
    let totals = &b["metrics"]["request_totals"];
    assert!(totals["successful"].as_u64().unwrap() > 0);
    assert!(out_dir.join("benchmarks.html").exists());

    // The same journal as a GuideLLM 0.8 report: the same requests.
    let v2_dir = dir.join("rebuilt-0.8");
    let out = common::run(&[
        "report",
        "--from-journal",
        journal.to_str().unwrap(),
        "--schema",
        "0.8",
        "--output-dir",
        v2_dir.to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v2 = common::report(&v2_dir);
    assert_eq!(v2["metadata"]["version"], 2);
    assert_eq!(report_request_ids(&v2), recorded);
    assert!(!serde_json::to_string(&v2).unwrap().contains(SECRET));

    // Not a journal: one line, exit 2.
    let gpt2 = common::shared("tokenizers/gpt2");
    let out = common::run(&[
        "report",
        "--from-journal",
        gpt2.join("tokenizer.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--from-journal") && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_finished_run_leaves_no_journal() {
    let dir = common::tempdir("journal-done");
    let mut args = common::words(
        "benchmark --target mock --rate-type synchronous --max-requests 5 \
         --data prompt_tokens=16,output_tokens=4 --disable-progress --output-dir",
    );
    args.push(dir.to_str().unwrap());
    let out = common::run(&args);
    assert!(out.status.success());
    assert!(dir.join("benchmarks.json").exists());
    assert!(!dir.join("benchmarks.journal.jsonl").exists());
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_api_key_is_sent_and_never_written() {
    let dir = common::tempdir("secrets");
    // The mock answers 401 unless the key comes as a bearer token.
    let mock =
        common::MockProcess::start(&["--api-key", SECRET, "--ttft-ms", "5", "--itl-ms", "1"]);
    let gpt2 = common::shared("tokenizers/gpt2");
    let run = |name: &str, env_key: bool, backend_args: &str| {
        let out_dir = dir.join(name);
        let mut cmd = common::llmload();
        cmd.args(common::constant_run(
            &mock.url,
            20,
            "prompt_tokens=16,output_tokens=4",
            &out_dir,
        ))
        .args([
            "--max-requests",
            "20",
            "--outputs",
            "json,csv,yaml,html,console",
            "--backend-args",
            backend_args,
        ])
        .stdin(Stdio::null());
        if env_key {
            cmd.env("OPENAI_API_KEY", SECRET);
        } else {
            cmd.env_remove("OPENAI_API_KEY");
        }
        let out = cmd.output().unwrap();
        let console = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{name}: {console}");
        let report = common::report(&out_dir);
        let ok = report["benchmarks"][0]["metrics"]["request_totals"]["successful"].as_u64();
        assert_eq!(ok, Some(20), "{name}: the key was not sent: {console}");
        (out_dir, console)
    };
    let header = format!(r#"{{"headers": {{"Authorization": "Bearer {SECRET}"}}}}"#);
    let api_key = format!(r#"{{"api_key": "{SECRET}", "timeout": 30}}"#);
    for (name, env_key, args) in [
        ("env", true, "{}".to_string()),
        ("api-key", false, api_key),
        ("header", false, header),
    ] {
        let (out_dir, console) = run(name, env_key, &args);
        assert!(!console.contains(SECRET), "{name}: console: {console}");
        let mut files = Vec::new();
        files_under(&out_dir, &mut files);
        assert!(files.len() >= 4, "{files:?}");
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(SECRET),
                "{name}: {} holds the key",
                f.display()
            );
        }
    }

    // A wrong key is refused by the mock, and reported as HTTP 401 errors.
    let out_dir = dir.join("wrong");
    let out = common::run(&[
        "benchmark",
        "--target",
        &mock.url,
        "--rate-type",
        "synchronous",
        "--max-requests",
        "3",
        "--data",
        "prompt_tokens=16,output_tokens=4",
        "--processor",
        gpt2.to_str().unwrap(),
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--backend-args",
        r#"{"api_key": "sk-wrong"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = common::report(&out_dir);
    let kinds = &report["benchmarks"][0]["llmload"]["errors_by_kind"];
    assert_eq!(kinds["http_status"], 3, "{kinds}");
}

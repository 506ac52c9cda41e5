//! The Red Hat partner-validation command, verbatim with `guidellm` replaced
//! by `llmload`, against `llmload mock-server --ttft-ms 20 --itl-ms 5`.
//!
//! Checks the counts, the measured TTFT against the mock's logged truth, the
//! output token counts against what each request asked for, and that every
//! key path of GuideLLM 0.4.0's own reports is present with a compatible type.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

struct Run {
    report: Value,
    truth: Vec<Value>,
    stdout: String,
}

/// One run, several checks (nextest gives every test its own process).
#[test]
fn red_hat_command_against_the_mock() {
    let run = the_run();
    fifty_requests_sent_at_five_per_second(&run);
    ttft_is_within_a_millisecond_of_the_mocks_truth_per_request(&run);
    output_tokens_are_what_each_request_asked_for(&run);
    every_key_path_of_guidellms_constant_reports_is_present(&run);
}

fn the_run() -> Run {
    {
        let dir = common::tempdir("redhat");
        let log = dir.join("mock-log.jsonl");
        let qwen = common::shared("tokenizers/qwen2.5");
        let mock = common::MockProcess::start(&[
            "--ttft-ms",
            "20",
            "--itl-ms",
            "5",
            "--processor",
            qwen.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ]);
        let out_dir = dir.join("benchmark_results");
        let out = common::run(&[
            "benchmark",
            "--target", &mock.url,
            "--rate-type", "constant",
            "--rate", "5",
            "--data", "prompt_tokens=512,prompt_tokens_stdev=51,output_tokens=256,output_tokens_stdev=25,samples=50",
            "--max-error-rate", "0.5",
            "--max-seconds", "10",
            "--output-dir", out_dir.to_str().unwrap(),
            "--processor", qwen.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        drop(mock);
        let truth = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        Run {
            report: common::report(&out_dir),
            truth,
            stdout: String::from_utf8(out.stdout).unwrap(),
        }
    }
}

fn fifty_requests_sent_at_five_per_second(run: &Run) {
    let b = &run.report["benchmarks"][0];
    let ok = b["requests"]["successful"].as_array().unwrap().len();
    let inc = b["requests"]["incomplete"].as_array().unwrap().len();
    assert_eq!(b["requests"]["errored"].as_array().unwrap().len(), 0);
    // 5 req/s for 10 s; each takes ~1.3 s, so those sent in the last second are cut off.
    assert_eq!(ok + inc, 50, "{ok} + {inc}");
    assert!(ok >= 40, "{ok}");
    assert_eq!(b["config"]["strategy"]["type_"], "constant");
    assert_eq!(b["config"]["strategy"]["rate"], 5.0);
    assert_eq!(
        b["scheduler_state"]["end_queuing_constraints"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["max_seconds"]
    );
    assert!((b["duration"].as_f64().unwrap() - 10.0).abs() < 1e-6);
    assert!(run.stdout.contains("constant@5.00"));
}

fn ttft_is_within_a_millisecond_of_the_mocks_truth_per_request(run: &Run) {
    let truth: BTreeMap<&str, f64> = run
        .truth
        .iter()
        .filter_map(|t| {
            let first = t["first_token_at"].as_u64()? as f64;
            let recv = t["received_at"].as_u64()? as f64;
            Some((t["response_id"].as_str()?, (first - recv) / 1e6))
        })
        .collect();
    let (mut diffs, mut truths) = (Vec::new(), Vec::new());
    for r in run.report["benchmarks"][0]["requests"]["successful"]
        .as_array()
        .unwrap()
    {
        let id = r["llmload"]["response_id"].as_str().unwrap();
        let measured = r["time_to_first_token_ms"].as_f64().unwrap();
        diffs.push(measured - truth[id]);
        truths.push(truth[id]);
    }
    // Paired per request: what llmload measured minus what the mock logged.
    // The median difference is the loopback round trip plus both sides' own
    // work between stamp and socket: 0.3-0.7 ms with the debug builds tests
    // run (never under 0.2 ms here), ~0.1 ms in release (engine_load's
    // ttft1000 measures that). A busy 2-core host delays a few chunks by
    // milliseconds, which the median ignores and a mean would not.
    diffs.sort_by(f64::total_cmp);
    let median = diffs[diffs.len() / 2];
    assert!(
        (0.0..1.0).contains(&median),
        "median of measured - true TTFT {median:.3} ms; all: {diffs:.3?}"
    );
    let mean_truth = truths.iter().sum::<f64>() / truths.len() as f64;
    // The mock sleeps 20 ms before the first token: never less, and late
    // by its timer on a loaded host (22.7 ms seen in CI beside a build).
    assert!(
        (19.5..26.0).contains(&mean_truth),
        "the mock's own TTFT {mean_truth}"
    );
}

fn output_tokens_are_what_each_request_asked_for(run: &Run) {
    let b = &run.report["benchmarks"][0];
    let mut lengths = BTreeSet::new();
    for r in b["requests"]["successful"].as_array().unwrap() {
        let body: Value = serde_json::from_str(r["request_args"].as_str().unwrap()).unwrap();
        let asked = body["max_completion_tokens"].as_u64().unwrap();
        assert_eq!(body["ignore_eos"], true);
        assert_eq!(r["output_tokens"].as_u64().unwrap(), asked);
        lengths.insert(asked);
        // The mock counts prompt tokens with the same tokenizer.
        assert!(r["prompt_tokens"].as_u64().unwrap() > 0);
    }
    assert!(
        lengths.len() > 5,
        "lengths drawn with stdev 25: {lengths:?}"
    );
    let mean = b["metrics"]["output_token_count"]["successful"]["mean"]
        .as_f64()
        .unwrap();
    assert!((mean - 256.0).abs() < 15.0, "{mean}");
    let prompt = b["metrics"]["prompt_token_count"]["successful"]["mean"]
        .as_f64()
        .unwrap();
    assert!((prompt - 512.0).abs() < 30.0, "{prompt}");
}

fn every_key_path_of_guidellms_constant_reports_is_present(run: &Run) {
    for name in ["mock-constant5", "vllm-constant2"] {
        common::keypaths::assert_covers(&run.report, name);
    }
}

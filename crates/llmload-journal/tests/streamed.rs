//! A long run keeps only its records' numbers in memory (`CompactRecord`)
//! and reads the full records back from its journal for the report's
//! per-request entries. Its statistics and reports must be those of the
//! in-memory path (every full record held) to the bit, in both GuideLLM
//! schemas: here over a few thousand requests of every kind (completed,
//! errored, cut off after or before they started, multi-turn, cached
//! prefixes, one-token and empty outputs, held back by a full cap).

use std::sync::Arc;

use llmload_clock::Timestamp;
use llmload_engine::{BenchmarkRun, Constraints, Profile, RunObserver, RunPlan, Strategy};
use llmload_journal::{Journal, Spilled};
use llmload_metrics::timeline::Timeline;
use llmload_metrics::{
    BenchmarkMetrics, CompactRecord, ErrorKind, RequestError, RequestRecord, RequestStatus,
    RequestType, SchedulerAverages, Selection, Turn,
};
use llmload_report::guidellm::RunInfo;
use serde_json::{json, Value};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const T0: u64 = 1_796_000_000_000_000_000;

fn at(ns: u64) -> Option<Timestamp> {
    Some(Timestamp::from_nanos(T0 + ns))
}

/// `n` requests at 200 req/s, as a constant-rate run against a busy server
/// would leave them, in the order they finished.
fn records(n: u64) -> Vec<RequestRecord> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let conversations: Vec<uuid::Uuid> = (0..64).map(|_| uuid::Uuid::new_v4()).collect();
    let mut out: Vec<RequestRecord> = (0..n)
        .map(|i| {
            let mut r = RequestRecord::new(RequestType::ChatCompletions, (i % 32) as u32);
            let due = i * 5_000_000 + rng.below(1000);
            let t = &mut r.timings;
            t.targeted_start = at(due);
            t.queued = at(due.saturating_sub(3_000_000));
            t.dequeued = at(due.saturating_sub(2_000_000) + rng.below(500_000));
            t.scheduled_at = at(due.saturating_sub(1_000_000));
            if rng.below(10) == 0 {
                t.cap_released = at(due + rng.below(2_000_000));
            }
            let start = due + 20_000 + rng.below(300_000);
            t.resolve_start = at(start - 10_000);
            let kind = rng.below(100);
            let out_tokens = [0, 1, 2, 16, 64, 128][rng.below(6) as usize];
            r.input.text_tokens = Some(100 + rng.below(400));
            r.input.text_words = Some(80 + rng.below(300));
            r.input.text_characters = Some(500 + rng.below(2000));
            r.request_body = Some(format!("{{\"i\":{i}}}").into());
            r.response_id = Some(format!("chatcmpl-{i}"));
            if rng.below(3) == 0 {
                r.cached_tokens = Some(rng.below(100));
            }
            if rng.below(4) == 0 {
                r.turn = Some(Turn {
                    conversation_id: conversations[rng.below(64) as usize],
                    index: 1 + rng.below(3) as u32,
                });
                r.timings.predecessor_completed = at(due.saturating_sub(rng.below(4_000_000)));
            }
            let t = &mut r.timings;
            match kind {
                // Failed before it was sent.
                0..=3 => {
                    r.status = RequestStatus::Errored;
                    t.resolve_end = at(start + 50_000);
                    r.error = Some(RequestError {
                        kind: ErrorKind::Connect,
                        status: None,
                        message: "connection refused".into(),
                    });
                }
                // The server said no.
                4..=9 => {
                    r.status = RequestStatus::Errored;
                    t.request_start = at(start);
                    t.request_end = at(start + 2_000_000);
                    t.resolve_end = at(start + 2_050_000);
                    t.request_iterations = 1;
                    r.error = Some(RequestError {
                        kind: ErrorKind::HttpStatus,
                        status: Some([500, 503][rng.below(2) as usize]),
                        message: "Internal Server Error".into(),
                    });
                }
                // Cut off by the end of the benchmark, mid-stream.
                10..=14 => {
                    r.status = RequestStatus::Cancelled;
                    t.request_start = at(start);
                    let first = start + 30_000_000 + rng.below(20_000_000);
                    t.first_token_iteration = at(first);
                    t.last_token_iteration = at(first + 40_000_000);
                    t.token_iterations = 5;
                    t.request_iterations = 6;
                    t.resolve_end = at(first + 41_000_000);
                    r.output.text_tokens = Some(5);
                    r.error = Some(RequestError {
                        kind: ErrorKind::Cancelled,
                        status: None,
                        message: "the benchmark ended".into(),
                    });
                }
                // Cut off before it was sent.
                15..=16 => {
                    r.status = RequestStatus::Cancelled;
                    t.resolve_start = None;
                    r.error = Some(RequestError {
                        kind: ErrorKind::Cancelled,
                        status: None,
                        message: "the benchmark ended".into(),
                    });
                }
                _ => {
                    r.status = RequestStatus::Completed;
                    t.request_start = at(start);
                    t.first_request_iteration = at(start + 1_000_000);
                    let first = start + 20_000_000 + rng.below(60_000_000);
                    let chunks = out_tokens.max(1);
                    let last = first + (chunks - 1) * (8_000_000 + rng.below(4_000_000));
                    if out_tokens > 0 {
                        t.first_token_iteration = at(first);
                        t.last_token_iteration = at(last);
                    }
                    t.token_iterations = out_tokens;
                    t.request_iterations = out_tokens + 2;
                    t.last_request_iteration = at(last + 100_000);
                    t.request_end = at(last + 200_000);
                    t.resolve_end = at(last + 250_000);
                    r.output.text_tokens = Some(out_tokens);
                    r.output.text_words = Some(out_tokens * 3 / 4);
                    r.output.text_characters = Some(out_tokens * 4);
                }
            }
            let end = t
                .resolve_end
                .or(t.request_end)
                .unwrap_or(Timestamp::from_nanos(T0 + start));
            t.finalized = Some(end + std::time::Duration::from_nanos(rng.below(100_000)));
            r
        })
        .collect();
    out.sort_by_key(|r| r.timings.finalized);
    out
}

fn plan() -> RunPlan {
    RunPlan {
        profile: Profile::Constant(vec![200.0]),
        constraints: Constraints {
            max_seconds: Some(15.0),
            ..Constraints::default()
        },
        max_concurrency: 10_240,
        explicit_max_concurrency: false,
        seed: 42,
        warmup: Default::default(),
        cooldown: Default::default(),
        rampup: Default::default(),
        shard: None,
        start_at: None,
    }
}

fn info(sample_requests: Option<u64>, list_in_memory: u64) -> RunInfo {
    RunInfo {
        args: json!({}),
        run: plan(),
        target: "http://127.0.0.1:8000".into(),
        model: Some("m".into()),
        timeout: None,
        verify: true,
        request_type: RequestType::ChatCompletions,
        data: vec!["prompt_tokens=256,output_tokens=64".into()],
        data_samples: -1,
        sample_requests,
        list_in_memory,
        workers: 2,
        scheduling: "fair".into(),
        run_id: "run".into(),
        search: None,
        aborted: None,
        processor: None,
        outputs: vec![],
        labels: vec![],
        overrides: None,
        shards: None,
    }
}

/// A report without its random ids.
fn without_ids(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("id_");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn statistics_and_reports_from_the_journal_equal_the_in_memory_ones() {
    let full = records(3000);
    let dir = std::env::temp_dir().join(format!("llmload-streamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(llmload_journal::FILE_NAME);
    let strategy = Strategy::Constant {
        rate: 200.0,
        max_concurrency: 10_240,
    };
    let journal = Journal::create(&path, json!({"llmload_journal": 1})).unwrap();
    journal.benchmark_started(0, &strategy, full[0].timings.targeted_start.unwrap());
    for r in &full {
        journal.request_finished(0, r);
    }
    journal.finish().unwrap();

    // The streamed path: numbers read back from the journal, kept compact.
    let back = llmload_journal::read(&path).unwrap();
    assert_eq!(back.skipped, 0);
    let compact: Vec<CompactRecord> = back.benchmarks[0].1.iter().map(Into::into).collect();
    assert_eq!(compact.len(), full.len());
    let (start, end) = (
        full[0].timings.targeted_start.unwrap(),
        Timestamp::from_nanos(T0 + 15_000_000_000),
    );
    // Every distribution, both schemas' statistics, both selections: the
    // in-memory path over the full records and the compact one, its sorts
    // spilled to disk in runs of 1,000 pairs, agree to the bit (`{:?}`
    // prints every f64 in its shortest exact form).
    let spill = |on: bool| {
        llmload_metrics::set_spill_threshold(if on {
            1_000
        } else {
            llmload_metrics::SORT_IN_MEMORY
        })
    };
    for sel in [Selection::Overlap, Selection::StartedWithin] {
        spill(false);
        let a = BenchmarkMetrics::compile_with(&full, start, end, sel);
        let runs = llmload_metrics::spilled_runs();
        spill(true);
        let b = BenchmarkMetrics::compile_with(&compact, start, end, sel);
        assert!(
            llmload_metrics::spilled_runs() > runs + 10,
            "the sorts spilled"
        );
        spill(false);
        assert!(a.request_totals.errored > 100 && a.request_totals.incomplete > 100);
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "0.4 statistics, {sel:?}"
        );
        let a = BenchmarkMetrics::compile_08_with(&full, start, end, sel, true);
        spill(true);
        let b = BenchmarkMetrics::compile_08_with(&compact, start, end, sel, true);
        spill(false);
        assert!(a.turns.is_some());
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "0.8 statistics, {sel:?}"
        );
    }
    assert_eq!(
        format!("{:?}", SchedulerAverages::compile(&full)),
        format!("{:?}", SchedulerAverages::compile(&compact))
    );
    assert_eq!(
        format!("{:?}", Timeline::compile(&full, &[], start, end)),
        format!("{:?}", Timeline::compile(&compact, &[], start, end))
    );

    // Whole reports: a benchmark that kept its records against one whose
    // details are read back from the journal, every request listed and
    // sampled, in both schemas.
    let (numbers, details) = llmload_engine::keep_all(full.clone());
    let kept = llmload_engine::rebuild(0, strategy.clone(), &plan(), numbers, details);
    let mut spilled: BenchmarkRun = kept.clone();
    spilled.records = compact;
    spilled.details = llmload_engine::Details::Spilled(Arc::new(Spilled::open(&path)));
    for sample in [None, Some(7)] {
        let i = info(sample, llmload_report::guidellm::LIST_IN_MEMORY);
        let a = serde_json::to_value(llmload_report::guidellm::report(
            &i,
            std::slice::from_ref(&kept),
        ))
        .unwrap();
        let b = serde_json::to_value(llmload_report::guidellm::report(
            &i,
            std::slice::from_ref(&spilled),
        ))
        .unwrap();
        let listed = &a["benchmarks"][0]["requests"];
        let n = |s: &str| listed[s].as_array().unwrap().len();
        match sample {
            None => assert_eq!(n("successful") + n("errored") + n("incomplete"), 3000),
            Some(k) => assert_eq!(n("errored"), k as usize),
        }
        assert_eq!(
            without_ids(a),
            without_ids(b),
            "0.4 report, sample {sample:?}"
        );
        let a = llmload_report::schema2::report(&i, std::slice::from_ref(&kept))
            .to_value()
            .unwrap();
        let b = llmload_report::schema2::report(&i, std::slice::from_ref(&spilled))
            .to_value()
            .unwrap();
        assert_eq!(
            without_ids(a),
            without_ids(b),
            "0.8 report, sample {sample:?}"
        );
    }

    // A benchmark listing more than a report holds in memory: its requests
    // are read back one at a time as the report is written, the same file.
    let big = info(None, 500);
    let completed = full
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .count();
    let kept_report = llmload_report::guidellm::report(&big, std::slice::from_ref(&kept));
    let streamed_report = llmload_report::guidellm::report(&big, std::slice::from_ref(&spilled));
    let in_memory = &streamed_report.benchmarks[0].requests;
    assert_eq!(
        in_memory.successful.len(),
        1000,
        "an even sample stays in memory"
    );
    assert!(in_memory.streamed.0.is_some());
    for format in [llmload_report::Format::Json, llmload_report::Format::Yaml] {
        let read = |r: &llmload_report::Report, name: &str| -> Value {
            let path = dir.join(name);
            r.write(format, &path).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            without_ids(serde_yaml::from_str(&text).unwrap())
        };
        let (a, b) = (
            read(&kept_report, "kept.out"),
            read(&streamed_report, "streamed.out"),
        );
        assert_eq!(
            a["benchmarks"][0]["requests"]["successful"]
                .as_array()
                .unwrap()
                .len(),
            completed
        );
        assert_eq!(a, b, "{format:?} written from the journal");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run's shards merged (`llmload merge`): each shard's journal read back
/// as numbers only, the full records fetched from the journals joined, give
/// the reports of the union of the full records held in memory.
#[test]
fn shards_read_compact_and_joined_give_the_in_memory_merge() {
    let full = records(3000);
    let dir = std::env::temp_dir().join(format!("llmload-joined-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let strategy = Strategy::Constant {
        rate: 200.0,
        max_concurrency: 10_240,
    };
    // Three shards, each with its share in the order it finished them; the
    // last was killed mid-line.
    let mut errors = llmload_core::ErrorInterner::default();
    let (mut union, mut numbers, mut parts) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..3 {
        let share: Vec<&RequestRecord> = full.iter().skip(k).step_by(3).collect();
        let path = dir.join(format!("shard-{k}-of-3.journal"));
        let journal = Journal::create(&path, json!({"llmload_journal": 1})).unwrap();
        journal.benchmark_started(0, &strategy, full[0].timings.targeted_start.unwrap());
        for r in &share {
            journal.request_finished(0, r);
        }
        journal.finish().unwrap();
        if k == 2 {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            std::io::Write::write_all(&mut f, b"{\"request\":0,\"record\":{\"request_id").unwrap();
        }
        let back = llmload_journal::read_compact(&path, &mut errors).unwrap();
        assert_eq!(back.skipped, usize::from(k == 2));
        assert_eq!(back.benchmarks[0].1.len(), share.len());
        union.extend(share.into_iter().cloned());
        numbers.extend(back.benchmarks.into_iter().next().unwrap().1);
        parts.push(back.store);
    }
    let (all, details) = llmload_engine::keep_all(union);
    let kept = llmload_engine::rebuild(0, strategy.clone(), &plan(), all, details);
    let joined = llmload_engine::Details::Spilled(Arc::new(llmload_journal::Joined::new(parts)));
    let merged = llmload_engine::rebuild(0, strategy, &plan(), numbers, joined);
    for (sample, in_memory) in [
        (None, llmload_report::guidellm::LIST_IN_MEMORY),
        (Some(7), llmload_report::guidellm::LIST_IN_MEMORY),
        (None, 500),
    ] {
        let i = info(sample, in_memory);
        let report = |run: &BenchmarkRun, name: &str| -> Value {
            let path = dir.join(name);
            llmload_report::guidellm::report(&i, std::slice::from_ref(run))
                .write(llmload_report::Format::Json, &path)
                .unwrap();
            without_ids(serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap())
        };
        let (a, b) = (report(&kept, "kept.json"), report(&merged, "merged.json"));
        let listed = &a["benchmarks"][0]["requests"];
        let n = |s: &str| listed[s].as_array().unwrap().len();
        if sample.is_none() {
            assert_eq!(n("successful") + n("errored") + n("incomplete"), 3000);
        }
        assert_eq!(a, b, "0.4 report, sample {sample:?}, {in_memory} in memory");
        // GuideLLM 0.8's, JSON and YAML, listed from the joined journals as
        // written when more than `in_memory` are listed.
        for format in [llmload_report::Format::Json, llmload_report::Format::Yaml] {
            let report = |run: &BenchmarkRun, name: &str| -> Value {
                let path = dir.join(name);
                llmload_report::schema2::report(&i, std::slice::from_ref(run))
                    .write(format, &path)
                    .unwrap();
                let text = std::fs::read_to_string(&path).unwrap();
                without_ids(serde_yaml::from_str(&text).unwrap())
            };
            let (a, b) = (report(&kept, "kept.v2"), report(&merged, "merged.v2"));
            assert_eq!(
                a["benchmarks"][0]["requests"]["errored"]
                    .as_array()
                    .map(Vec::len),
                b["benchmarks"][0]["requests"]["errored"]
                    .as_array()
                    .map(Vec::len)
            );
            assert_eq!(
                a, b,
                "0.8 report, {format:?}, sample {sample:?}, {in_memory} in memory"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

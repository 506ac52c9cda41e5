//! Harness: compiling a finished benchmark's GuideLLM statistics.
//!
//! `cargo bench -p llmload-benches --bench metrics_compile`
//!
//! Builds 30,000 synthetic requests of 64 streamed tokens (2,000 req/s for
//! 15 s, 10 ms TTFT, 1 ms between tokens; the last 300 cut off by the end of
//! the run, as with `--max-seconds`) and times
//! `BenchmarkMetrics::compile_with` over them, best and median of 5. GuideLLM's
//! statistics take every output token as a timed event (about 1.9 million
//! here), so this is the cost of the report at the end of a run.

use std::time::{Duration, Instant};

use llmload_clock::Timestamp;
use llmload_metrics::{
    BenchmarkMetrics, RequestRecord, RequestStatus, RequestType, Selection, UsageMetrics,
};

fn records(n: u64, tokens: u64) -> Vec<RequestRecord> {
    let t0 = Timestamp::from_nanos(1_800_000_000_000_000_000);
    (0..n)
        .map(|i| {
            let start = t0 + Duration::from_micros(i * 500);
            let first = start + Duration::from_micros(10_000 + (i * 7919) % 900);
            let last = first + Duration::from_micros((tokens - 1) * 1000 + (i * 104_729) % 700);
            let mut r = RequestRecord::new(RequestType::ChatCompletions, (i % 64) as u32);
            // The last 300 were still streaming when the run stopped.
            r.status = if i + 300 >= n {
                RequestStatus::Cancelled
            } else {
                RequestStatus::Completed
            };
            let t = &mut r.timings;
            t.targeted_start = Some(start);
            t.queued = Some(start);
            t.dequeued = Some(start);
            t.scheduled_at = Some(start);
            t.resolve_start = Some(start);
            t.request_start = Some(start + Duration::from_micros(30));
            t.first_request_iteration = Some(first);
            t.first_token_iteration = Some(first);
            t.last_token_iteration = Some(last);
            t.last_request_iteration = Some(last + Duration::from_micros(50));
            t.request_iterations = 2 * tokens + 4;
            t.token_iterations = tokens;
            t.request_end = Some(last + Duration::from_micros(60));
            t.resolve_end = t.request_end;
            t.finalized = t.request_end;
            r.input = UsageMetrics {
                text_tokens: Some(32),
                text_words: Some(25),
                text_characters: Some(140),
            };
            r.output = UsageMetrics {
                text_tokens: Some(tokens),
                text_words: Some(tokens),
                text_characters: Some(tokens * 5),
            };
            r
        })
        .collect()
}

fn main() {
    let recs = records(30_000, 64);
    let start = recs[0].timings.request_start.unwrap();
    let end = recs.last().unwrap().timings.request_end.unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let m = BenchmarkMetrics::compile_with(&recs, start, end, Selection::Overlap);
        times.push(t.elapsed());
        assert_eq!(m.request_totals.successful, 29_700);
        assert_eq!(m.request_totals.incomplete, 300);
    }
    times.sort();
    println!(
        "compile 30,000 requests x 64 tokens: best {:.0} ms, median {:.0} ms ({:.1} us/request)",
        times[0].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e6 / 30_000.0
    );
}

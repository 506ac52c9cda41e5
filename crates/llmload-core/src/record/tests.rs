//! Tests of the request record's formulas.

use super::*;

fn ts(ms: u64) -> Option<Timestamp> {
    Some(Timestamp::from_nanos(1_000_000_000_000 + ms * 1_000_000))
}

fn record(out_tokens: u64, iters: u64) -> RequestRecord {
    let mut r = RequestRecord::new(RequestType::ChatCompletions, 0);
    r.status = RequestStatus::Completed;
    r.timings.targeted_start = ts(0);
    r.timings.request_start = ts(2);
    r.timings.first_token_iteration = ts(52);
    r.timings.last_token_iteration = ts(52 + 10 * (iters - 1));
    r.timings.request_end = ts(53 + 10 * (iters - 1));
    r.timings.token_iterations = iters;
    r.input.text_tokens = Some(100);
    r.output.text_tokens = Some(out_tokens);
    r
}

#[test]
fn guidellm_formulas() {
    let r = record(11, 11);
    assert!((r.time_to_first_token_ms().unwrap() - 50.0).abs() < 1e-9);
    // ITL excludes the first token: 100 ms over 10 gaps.
    assert!((r.inter_token_latency_ms().unwrap() - 10.0).abs() < 1e-9);
    // TPOT includes TTFT: 150 ms over 11 tokens.
    assert!((r.time_per_output_token_ms().unwrap() - 150.0 / 11.0).abs() < 1e-9);
    assert!((r.request_latency().unwrap() - 0.151).abs() < 1e-12);
    assert_eq!(r.total_tokens(), Some(111));
    assert!((r.dispatch_delay().unwrap() - 0.002).abs() < 1e-12);
    assert!((r.scheduled_latency().unwrap() - 0.153).abs() < 1e-12);
}

fn events(r: &RequestRecord) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    r.output_token_events(&mut v);
    v
}

#[test]
fn single_token_has_no_itl() {
    let r = record(1, 1);
    assert_eq!(r.inter_token_latency_ms(), None);
    assert_eq!(r.iter_tokens_per_iteration(), None);
    assert_eq!(events(&r).len(), 1);
    assert_eq!(r.output_tokens_per_chunk(), vec![(1.0, 1.0)]);
    assert!(r.iter_tokens_per_chunk().is_empty());
}

#[test]
fn output_token_events_sum_to_output_tokens() {
    // 3 tokens per chunk after the first: 1 + 4 * 3 = 13 tokens in 5 chunks.
    let r = record(13, 5);
    let ev = events(&r);
    assert_eq!(ev.len(), 5);
    let sum: f64 = ev.iter().map(|e| e.1).sum();
    assert!((sum - 13.0).abs() < 1e-12);
    let (first, last) = (
        r.timings.first_token_iteration.unwrap().as_secs_f64(),
        r.timings.last_token_iteration.unwrap().as_secs_f64(),
    );
    assert_eq!((ev[0].0, ev[4].0), (first, last));
    // Evenly spaced in between, as numpy's linspace computes them.
    let step = (last - first) / 4.0;
    assert_eq!(ev[2].0, 2.0 * step + first);
    assert!(ev[1..].iter().all(|e| e.1 == 3.0));
}

#[test]
fn chunk_counts_match_the_events() {
    for r in [record(13, 5), record(5, 5), record(0, 3), record(1, 1)] {
        let mut counts: Vec<(f64, f64)> = Vec::new();
        for (_, tokens) in events(&r) {
            match counts.iter_mut().find(|c| c.0 == tokens) {
                Some(c) => c.1 += 1.0,
                None => counts.push((tokens, 1.0)),
            }
        }
        assert_eq!(r.output_tokens_per_chunk(), counts);
        let later = &events(&r)[1..];
        let n = later.len() as f64;
        let expect: Vec<(f64, f64)> = later.first().map(|e| (e.1, n)).into_iter().collect();
        assert_eq!(r.iter_tokens_per_chunk(), expect);
    }
}

#[test]
fn zero_usage_counts_as_missing_total() {
    let mut r = record(5, 5);
    r.input.text_tokens = Some(0);
    assert_eq!(r.input_tokens(), None);
    assert_eq!(r.total_tokens(), Some(5));
}

#[test]
fn a_compact_record_is_small_and_answers_as_the_full_one() {
    // What a long run holds per request (docs/performance.md).
    assert!(std::mem::size_of::<CompactRecord>() <= 136);
    let mut r = record(13, 5);
    r.cached_tokens = Some(7);
    r.timings.cap_released = ts(1);
    let c = CompactRecord::from(&r);
    for t in Timing::ALL {
        assert_eq!(c.timing(t), r.timing(t), "{t:?}");
    }
    assert_eq!(c.input(), r.input);
    assert_eq!(c.output(), r.output);
    assert_eq!(c.cached_tokens(), Some(7));
    assert_eq!(c.token_iterations(), 5);
    assert_eq!(c.send_lag(), r.send_lag());
    assert_eq!(events(&r), {
        let mut v = Vec::new();
        c.output_token_events(&mut v);
        v
    });
}

#[test]
fn compact_instants_survive_any_spread() {
    // Offsets from the earliest: none, small, one at the last 40-bit
    // offset, one past it (every instant kept in full), an hour; instants
    // missing between them; near the end of the u64 range.
    let near = (1u64 << 40) - 2;
    for base in [1_796_188_000_123_456_789u64, u64::MAX - (1 << 42)] {
        for spread in [
            0,
            1,
            999_999_999,
            near,
            near + 1,
            near + 2,
            3_600_000_000_000,
        ] {
            let at = |d: u64| Some(Timestamp::from_nanos(base + d));
            let mut r = record(13, 5);
            r.timings = Default::default();
            r.timings.targeted_start = at(0);
            r.timings.request_start = at(1_000);
            r.timings.first_token_iteration = at(2_000);
            r.timings.request_end = at(spread / 2);
            r.timings.predecessor_completed = at(spread);
            let c = CompactRecord::from(&r);
            for t in Timing::ALL {
                assert_eq!(
                    c.timing(t),
                    r.timing(t),
                    "{t:?}, base {base} spread {spread}"
                );
            }
        }
    }
    let mut none = record(0, 1);
    none.timings = Default::default();
    let c = CompactRecord::from(&none);
    assert!(Timing::ALL.iter().all(|&t| c.timing(t).is_none()));
}

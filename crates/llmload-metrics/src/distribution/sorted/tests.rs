//! The streamed passes against the in-memory oracle (the code they
//! replaced), bit for bit, and spilled runs against one sort in memory.

use super::oracle::{self, Old};
use super::*;
use crate::distribution::by_both;

/// xorshift: reproducible inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Every field, every bit (`{:?}` tells -0.0 from 0.0 and prints NaN).
fn same(a: &Distribution, b: &Distribution) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn pairwise_in_a_stream_is_the_slice_sum() {
    let mut rng = Rng(7);
    for n in [
        0, 1, 2, 127, 128, 129, 136, 255, 256, 257, 1000, 4097, 100_003,
    ] {
        let v: Vec<f64> = (0..n)
            .map(|_| (rng.unit() - 0.3) * 10f64.powi(rng.below(12) as i32 - 4))
            .collect();
        let mut p = Pairwise::new(n);
        v.iter().for_each(|&x| p.push(x));
        assert_eq!(
            p.finish().to_bits(),
            oracle::pairwise_sum(&v).to_bits(),
            "n = {n}"
        );
    }
}

/// Values with repeats, zero weights, negative values, all weights tiny.
fn weighted_case(rng: &mut Rng, case: usize) -> Vec<(f64, f64)> {
    let n = 1 + rng.below([5, 200, 3000][case % 3]) as usize;
    let distinct = 1 + rng.below(50);
    (0..n)
        .map(|_| {
            let v = match case % 4 {
                0 => rng.below(distinct) as f64 * 0.25,
                1 => (rng.unit() - 0.5) * 1e3,
                2 => rng.unit() * 1e-6,
                _ => rng.below(3) as f64,
            };
            let w = match case % 5 {
                0 => 1.0,
                1 => rng.below(4) as f64,
                2 => rng.unit() * 1e-9,
                3 => rng.unit() * 5.0,
                _ => [0.0, 1.0, 2.5][rng.below(3) as usize],
            };
            (v, w)
        })
        .collect()
}

#[test]
fn weighted_summaries_equal_the_in_memory_ones() {
    let mut rng = Rng(11);
    for case in 0..600 {
        let v = weighted_case(&mut rng, case);
        let count = (case % 2 == 0).then_some(rng.below(10_000));
        let new = Distribution::from_weighted(v.clone(), count);
        let old = Old::from_weighted(v, count);
        assert!(same(&new, &old), "case {case}: {new:?} != {old:?}");
    }
}

/// Timed events: bursts denser than the merge threshold, ties, sparse gaps.
fn events_case(rng: &mut Rng, case: usize) -> Vec<(f64, f64)> {
    let n = rng.below([3, 300, 5000][case % 3]) as usize;
    let scale = [2e-5, 1e-4, 3e-4, 1e-2, 1.0][case % 5];
    let mut t = 1.7e9 + rng.unit();
    let mut ev = Vec::with_capacity(n);
    for _ in 0..n {
        t += rng.unit() * scale;
        ev.push((t, [1.0, 2.0, 0.0, 1.5][rng.below(4) as usize]));
        if rng.below(8) == 0 {
            ev.push((t, 1.0));
        }
    }
    // Out of order, as records give them.
    for i in (1..ev.len()).rev() {
        ev.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ev
}

fn window(rng: &mut Rng, ev: &[(f64, f64)], case: usize) -> (Option<f64>, Option<f64>) {
    let (lo, hi) = ev
        .iter()
        .fold((f64::MAX, f64::MIN), |a, e| (a.0.min(e.0), a.1.max(e.0)));
    let (lo, hi) = if ev.is_empty() { (0.0, 1.0) } else { (lo, hi) };
    let at = |x: f64| lo + (hi - lo) * x;
    match case % 6 {
        0 => (None, None),
        1 => (Some(at(0.2)), Some(at(0.8))),
        2 => (Some(at(-0.1)), Some(at(1.1))),
        3 => (Some(at(0.5)), None),
        4 => (None, Some(at(rng.unit()))),
        // An end before the start.
        _ => (Some(at(0.7)), Some(at(0.3))),
    }
}

#[test]
fn rates_equal_the_in_memory_ones() {
    let mut rng = Rng(23);
    for case in 0..600 {
        let ev = events_case(&mut rng, case);
        let (start, end) = window(&mut rng, &ev, case);
        let new = Distribution::rate_from_events(ev.clone(), start, end);
        let old = Old::rate_from_events(ev, start, end);
        assert!(same(&new, &old), "case {case}: {new:?} != {old:?}");
    }
}

#[test]
fn concurrency_equals_the_in_memory_one() {
    let mut rng = Rng(31);
    for case in 0..600 {
        let starts = events_case(&mut rng, case);
        let intervals: Vec<(f64, f64, f64)> = starts
            .iter()
            .map(|&(t, w)| (t, t + rng.unit() * [1e-4, 1e-2, 3.0][case % 3], w.max(1.0)))
            .collect();
        let (start, end) = window(&mut rng, &starts, case);
        let new = Distribution::concurrency_from_intervals(intervals.clone(), start, end);
        let old = Old::concurrency_from_intervals(intervals, start, end);
        assert!(same(&new, &old), "case {case}: {new:?} != {old:?}");
    }
}

#[test]
fn merged_times_equal_the_slice_merge() {
    let mut rng = Rng(43);
    for case in 0..300 {
        let mut ev = events_case(&mut rng, case);
        ev.sort_unstable_by(by_both);
        let streamed: Vec<_> =
            super::super::streams::merge_times(ev.clone().into_iter(), MERGE).collect();
        assert_eq!(
            streamed,
            oracle::merge_sorted_times(ev, MERGE),
            "case {case}"
        );
    }
}

const MERGE: f64 = crate::distribution::MERGE_THRESHOLD;

#[test]
fn spilled_runs_read_back_as_one_sort() {
    let mut rng = Rng(53);
    for (n, limit) in [
        (0, 4),
        (1, 4),
        (1000, 7),
        (20_000, 1000),
        (5000, 5000),
        (5001, 5000),
        (70_000, 1000),
    ] {
        let pairs: Vec<(f64, f64)> = (0..n)
            .map(|_| (rng.below(300) as f64 / 7.0, rng.below(5) as f64))
            .collect();
        let mut sorter = PairSorter::with_limit(limit);
        pairs.iter().for_each(|&p| sorter.push(p));
        let sorted = sorter.finish();
        assert_eq!(sorted.len(), n);
        let spilled = n > limit;
        assert_eq!(sorted.runs.len() > 1, spilled, "n {n} limit {limit}");
        assert!(sorted.runs.len() <= MAX_RUNS);
        let mut expect = pairs.clone();
        expect.sort_unstable_by(by_both);
        // Read twice: each read starts over.
        for _ in 0..2 {
            assert_eq!(sorted.pairs().collect::<Vec<_>>(), expect);
        }
        if n > 0 {
            let a = Distribution::from_sorted(&sorted, n as u64);
            let b = Old::from_weighted(pairs, Some(n as u64));
            assert!(same(&a, &b), "n {n}: {a:?} != {b:?}");
        }
    }
}

#[test]
fn logged_values_come_back_in_order() {
    let mut rng = Rng(61);
    for (n, limit) in [(0, 3), (1, 3), (2, 3), (7, 3), (1001, 7), (20_001, 1000)] {
        let values: Vec<f64> = (0..n).map(|_| rng.unit() * 1e3 - 10.0).collect();
        let mut log = ValueLog::with_limit(limit);
        values.iter().for_each(|&v| log.push(v));
        assert_eq!(log.len(), n);
        assert_eq!(log.runs.is_empty(), n <= 2 * limit, "n {n} limit {limit}");
        for _ in 0..2 {
            assert_eq!(
                log.values().collect::<Vec<_>>(),
                values,
                "n {n} limit {limit}"
            );
        }
    }
}

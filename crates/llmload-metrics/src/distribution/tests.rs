//! The statistics against numpy's and GuideLLM's own results.

use super::*;

fn merge_sorted_times(ev: Vec<(f64, f64)>, threshold: f64) -> Vec<(f64, f64)> {
    streams::merge_times(ev.into_iter(), threshold).collect()
}

#[test]
fn unweighted_stats_match_numpy() {
    let d = Distribution::from_values([3.0, 1.0, 2.0, 2.0, 10.0]);
    assert_eq!(d.count, 5);
    assert!((d.mean - 3.6).abs() < 1e-12);
    // population variance
    let var = [3.0, 1.0, 2.0, 2.0, 10.0f64]
        .iter()
        .map(|x| (x - 3.6) * (x - 3.6))
        .sum::<f64>()
        / 5.0;
    assert!((d.variance - var).abs() < 1e-12);
    assert_eq!(d.mode, 2.0);
    assert_eq!((d.min, d.max), (1.0, 10.0));
    // cdf = [.2, .6, .8, 1.0] over values [1, 2, 3, 10]: no interpolation.
    assert_eq!(d.percentiles.p10, 1.0);
    assert_eq!(d.percentiles.p25, 2.0);
    assert_eq!(d.median, 2.0);
    assert_eq!(d.percentiles.p75, 3.0);
    assert_eq!(d.percentiles.p90, 10.0);
    assert!((d.total_sum - 18.0).abs() < 1e-12);
}

#[test]
fn weights_shift_the_mean_and_count() {
    let d = Distribution::from_weighted(vec![(10.0, 3.0), (20.0, 1.0)], None);
    assert!((d.mean - 12.5).abs() < 1e-12);
    assert_eq!(d.count, 4);
    let zero = Distribution::from_weighted(vec![(10.0, 0.0), (20.0, 2.0)], None);
    assert_eq!(zero.min, 20.0);
}

#[test]
fn empty_is_all_zero() {
    let d = Distribution::from_values([]);
    assert_eq!(d, Distribution::empty(0));
}

#[test]
fn rate_mean_is_events_over_window() {
    // 20 events evenly over 2 s inside a [0, 2] window.
    let ev: Vec<(f64, f64)> = (1..=20).map(|i| (i as f64 * 0.1 - 0.05, 1.0)).collect();
    let d = Distribution::rate_from_events(ev, Some(0.0), Some(2.0));
    assert!((d.mean - 10.0).abs() < 1e-9, "{}", d.mean);
    assert_eq!(d.count, 20);
}

#[test]
fn close_events_merge() {
    let merged = merge_sorted_times(
        vec![(0.0, 1.0), (0.00005, 1.0), (0.00009, 1.0), (0.5, 1.0)],
        1e-4,
    );
    assert_eq!(merged, vec![(0.0, 3.0), (0.5, 1.0)]);
    // A chain longer than the threshold merges in rounds from each group start.
    let chain = merge_sorted_times(vec![(0.0, 1.0), (0.00008, 1.0), (0.00016, 1.0)], 1e-4);
    assert_eq!(chain, vec![(0.0, 2.0), (0.00016, 1.0)]);
}

/// GuideLLM's algorithm, pass by pass, as the oracle for the greedy one.
fn merge_guidellm(sorted: Vec<(f64, f64)>, threshold: f64) -> Vec<(f64, f64)> {
    let mut ev: Vec<(f64, f64)> = Vec::new();
    for (t, w) in sorted {
        match ev.last_mut() {
            Some(last) if last.0 == t => last.1 += w,
            _ => ev.push((t, w)),
        }
    }
    while ev.len() > 1 {
        let within: Vec<bool> = ev
            .windows(2)
            .map(|p| p[1].0 - p[0].0 <= threshold)
            .collect();
        if !within.iter().any(|&b| b) {
            break;
        }
        let mut groups = Vec::new();
        for (i, &w) in within.iter().enumerate() {
            if w && (i == 0 || !within[i - 1]) {
                let limit = ev[i].0 + threshold;
                groups.push((i, ev.partition_point(|e| e.0 <= limit) - 1));
            }
        }
        let mut out = Vec::new();
        let mut i = 0;
        let mut g = groups.iter().peekable();
        while i < ev.len() {
            match g.peek() {
                Some(&&(s, e)) if s == i => {
                    out.push((ev[s].0, ev[s..=e].iter().map(|x| x.1).sum()));
                    i = e + 1;
                    g.next();
                }
                _ => {
                    out.push(ev[i]);
                    i += 1;
                }
            }
        }
        ev = out;
    }
    ev
}

#[test]
fn greedy_merge_equals_guidellms_passes() {
    // A small deterministic generator: sparse, dense and mixed event sets.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for case in 0..2000 {
        let n = 1 + (next() % 400) as usize;
        let scale = [1e-5, 5e-5, 1e-4, 3e-4, 1e-3][case % 5];
        let mut t = 0.0;
        let mut ev = Vec::new();
        for _ in 0..n {
            t += (next() % 1000) as f64 / 1000.0 * scale * 2.0;
            ev.push((t, (next() % 5) as f64));
            if next() % 10 == 0 {
                ev.push((t, 1.0)); // exact duplicate time
            }
        }
        let a = merge_sorted_times(ev.clone(), 1e-4);
        let b = merge_guidellm(ev, 1e-4);
        assert_eq!(a.len(), b.len(), "case {case}");
        for (p, q) in a.iter().zip(&b) {
            assert_eq!(p.0, q.0, "case {case}");
            assert!((p.1 - q.1).abs() < 1e-9, "case {case}");
        }
    }
}

#[test]
fn concurrency_is_time_weighted() {
    // Two overlapping requests: level 1 for 1 s, 2 for 1 s, 1 for 1 s.
    let d = Distribution::concurrency_from_intervals(
        vec![(0.0, 2.0, 1.0), (1.0, 3.0, 1.0)],
        None,
        None,
    );
    assert!((d.mean - 4.0 / 3.0).abs() < 1e-12);
    assert_eq!(d.max, 2.0);
    assert_eq!(d.count, 2);
    // Windowed: only [1, 2] where both are open.
    let w = Distribution::concurrency_from_intervals(
        vec![(0.0, 2.0, 1.0), (1.0, 3.0, 1.0)],
        Some(1.0),
        Some(2.0),
    );
    assert!((w.mean - 2.0).abs() < 1e-12);
}

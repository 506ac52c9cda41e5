//! The in-memory computation this crate used before it could stream (one
//! array per step), kept verbatim as the oracle the streamed passes must
//! equal to the bit.

use super::super::{by_both, round_count, Distribution, Percentiles, EPSILON, MERGE_THRESHOLD};

pub(super) struct Old;

impl Old {
    /// `(value, weight)` pairs; `count` defaults to the rounded sum of weights.
    pub(super) fn from_weighted(mut values: Vec<(f64, f64)>, count: Option<u64>) -> Distribution {
        if values.is_empty() {
            // GuideLLM ignores the given count for an empty set.
            return Distribution::empty(0);
        }
        let count = count.unwrap_or_else(|| round_count(values.iter().map(|v| v.1).sum()));
        // Ties broken by weight so the order (and so the float sums) never
        // depends on the input order; numpy's default argsort is not stable either.
        values.sort_unstable_by(by_both);
        // Merge equal values, summing weights in sorted order (np.unique + add.at).
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(values.len());
        for (v, w) in values {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += w,
                _ => merged.push((v, w)),
            }
        }
        merged.retain(|&(_, w)| w > 0.0);
        let mut total_weight = pairwise_sum(&merged.iter().map(|m| m.1).collect::<Vec<_>>());
        if total_weight <= EPSILON {
            for m in &mut merged {
                m.1 = 1.0;
            }
            total_weight = merged.len() as f64;
        }
        if merged.is_empty() {
            return Distribution::empty(count);
        }
        let pdf: Vec<(f64, f64)> = merged.iter().map(|&(v, w)| (v, w / total_weight)).collect();
        Old::from_pdf(&pdf, count)
    }

    pub(super) fn from_pdf(pdf: &[(f64, f64)], count: u64) -> Distribution {
        let mut cdf = Vec::with_capacity(pdf.len());
        let mut acc = 0.0;
        for &(_, p) in pdf {
            acc += p;
            cdf.push(acc);
        }
        let pct = Percentiles::POINTS.map(|(_, q)| {
            let idx = cdf.partition_point(|&c| c < q).min(pdf.len() - 1);
            pdf[idx].0
        });
        let percentiles = Percentiles::from_values(pct);
        let mean = pairwise_sum(&pdf.iter().map(|&(v, p)| v * p).collect::<Vec<_>>());
        let mut mode_idx = 0;
        for (i, &(_, p)) in pdf.iter().enumerate() {
            if p > pdf[mode_idx].1 {
                mode_idx = i;
            }
        }
        let variance = pairwise_sum(
            &pdf.iter()
                .map(|&(v, p)| (v - mean) * (v - mean) * p)
                .collect::<Vec<_>>(),
        );
        Distribution {
            mean,
            median: percentiles.p50,
            mode: pdf[mode_idx].0,
            variance,
            std_dev: variance.sqrt(),
            min: pdf[0].0,
            max: pdf[pdf.len() - 1].0,
            count,
            total_sum: mean * count as f64,
            percentiles,
            intervals: None,
        }
    }

    /// Rate of events over time: GuideLLM's `rate_distribution_from_timings`.
    ///
    /// `events` are `(seconds, weight)`; times may be relative to any origin.
    /// Each event's rate is its weight over the half-gaps to its neighbours;
    /// the distribution is weighted by those durations, so the mean is the
    /// total weight over the window.
    pub(super) fn rate_from_events(
        mut events: Vec<(f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Distribution {
        if let Some(s) = start {
            events.retain(|e| e.0 >= s);
            events.insert(0, (s, 0.0));
        }
        if let Some(e) = end {
            events.retain(|ev| ev.0 <= e);
            events.push((e, 0.0));
        }
        events.sort_unstable_by(by_both);
        let events = merge_sorted_times(events, MERGE_THRESHOLD);
        if events.len() <= 1 {
            return Distribution::empty(0);
        }
        let n = events.len();
        let times: Vec<f64> = events.iter().map(|e| e.0).collect();
        let mids: Vec<f64> = times.windows(2).map(|w| (w[1] + w[0]) / 2.0).collect();
        let mut durations = vec![0.0; n];
        durations[0] = mids[0] - times[0];
        for i in 1..n - 1 {
            durations[i] = mids[i] - mids[i - 1];
        }
        durations[n - 1] = (times[n - 1] - mids[n - 2]).max(EPSILON);
        let count = round_count(pairwise_sum(
            &events.iter().map(|e| e.1).collect::<Vec<_>>(),
        ));
        let weighted = events
            .iter()
            .zip(&durations)
            .map(|(e, &d)| (e.1 / d, d))
            .collect();
        Old::from_weighted(weighted, Some(count))
    }

    /// Concurrency over time: GuideLLM's `concurrency_distribution_from_timings`.
    ///
    /// `intervals` are `(start, end, weight)` in seconds; the distribution is
    /// the level of overlapping weight, weighted by time spent at each level.
    pub(super) fn concurrency_from_intervals(
        intervals: Vec<(f64, f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Distribution {
        let (events, count) = concurrency_events(intervals, start, end);
        Old::concurrency_from_events(events, count, start, end)
    }

    /// The rest of [`Distribution::concurrency_from_intervals`], from the
    /// sorted open/close events of `count` intervals.
    pub(super) fn concurrency_from_events(
        events: Vec<(f64, f64)>,
        count: u64,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Distribution {
        let mut events = merge_sorted_times(events, MERGE_THRESHOLD);
        if let (Some(s), false) = (start, events.is_empty()) {
            let idx = events.partition_point(|e| e.0 < s);
            let prior: f64 = events[..idx].iter().map(|e| e.1).sum();
            events.drain(..idx);
            events.insert(0, (s, prior));
        }
        if let (Some(e), false) = (end, events.is_empty()) {
            let idx = events.partition_point(|ev| ev.0 <= e);
            events.truncate(idx);
            events.push((e, 0.0));
        }
        let mut level = 0.0;
        let levels: Vec<f64> = events
            .iter()
            .map(|e| {
                level += e.1;
                level.max(0.0)
            })
            .collect();
        if levels.len() <= 1 {
            return if count == 0 || levels.is_empty() {
                Old::from_weighted(Vec::new(), None)
            } else {
                Old::from_weighted(vec![(levels[0], 1.0)], None)
            };
        }
        let values: Vec<(f64, f64)> = events
            .windows(2)
            .zip(&levels)
            .map(|(w, &l)| (l, (w[1].0 - w[0].0).max(0.0)))
            .collect();
        if values.iter().any(|v| v.1 > 0.0) {
            Old::from_weighted(values, Some(count))
        } else {
            Old::from_weighted(Vec::new(), Some(count))
        }
    }
}

fn concurrency_events(
    mut intervals: Vec<(f64, f64, f64)>,
    start: Option<f64>,
    end: Option<f64>,
) -> (Vec<(f64, f64)>, u64) {
    if let Some(s) = start {
        intervals.retain(|i| i.1 >= s);
    }
    if let Some(e) = end {
        intervals.retain(|i| i.0 <= e);
    }
    let mut events: Vec<(f64, f64)> = Vec::with_capacity(intervals.len() * 2);
    events.extend(intervals.iter().map(|i| (i.0, i.2)));
    events.extend(intervals.iter().map(|i| (i.1, -i.2)));
    events.sort_unstable_by(by_both);
    (events, intervals.len() as u64)
}

/// numpy's pairwise summation (close enough: blocks of 128, then halves).
pub(super) fn pairwise_sum(v: &[f64]) -> f64 {
    if v.len() <= 128 {
        let mut s = 0.0;
        for x in v {
            s += x;
        }
        s
    } else {
        let half = (v.len() / 2) / 8 * 8;
        pairwise_sum(&v[..half]) + pairwise_sum(&v[half..])
    }
}

/// Merge events closer than `threshold`, as GuideLLM's
/// `_merge_sorted_times_with_weights` does: each group starts at an event and
/// takes in every later event within `threshold` of that start; the group
/// keeps the start's time and the sum of the weights.
///
/// GuideLLM reaches this by repeated vectorized passes (each pass merges the
/// next group of every chain), which is quadratic when events are denser
/// than the threshold; one greedy pass gives the same groups in linear time.
pub(super) fn merge_sorted_times(mut ev: Vec<(f64, f64)>, threshold: f64) -> Vec<(f64, f64)> {
    // Equal times first (numpy.unique), summing their weights; in place.
    let mut n = 0;
    for i in 0..ev.len() {
        let (t, w) = ev[i];
        if n > 0 && ev[n - 1].0 == t {
            ev[n - 1].1 += w;
        } else {
            ev[n] = (t, w);
            n += 1;
        }
    }
    ev.truncate(n);
    // A group starts where the gap to the next event (a difference) is within
    // the threshold, and takes every event up to `start + threshold` (a sum):
    // the two float tests GuideLLM uses, so rounding ties fall the same way.
    // Groups are written back over the events they consumed.
    let mut out = 0;
    let mut i = 0;
    while i < ev.len() {
        let (t, mut w) = ev[i];
        let mut j = i + 1;
        if j < ev.len() && ev[j].0 - t <= threshold {
            let limit = t + threshold;
            while j < ev.len() && ev[j].0 <= limit {
                w += ev[j].1;
                j += 1;
            }
        }
        ev[out] = (t, w);
        out += 1;
        i = j;
    }
    ev.truncate(out);
    ev
}

//! GuideLLM's distribution summaries, computed exactly as GuideLLM 0.4.0 does.
//!
//! Ported from `guidellm/schemas/statistics.py` (0.4.0): weighted discrete
//! distributions with duplicate values merged, population variance,
//! percentiles without interpolation (`value[searchsorted(cdf, q, "left")]`),
//! time-weighted rate and concurrency distributions, and event merging within
//! 0.1 ms. A test replays GuideLLM's own reports through this code and checks
//! every number (tests/guidellm_fixtures.rs).

use serde::{Deserialize, Serialize};

/// Events closer together than this (seconds) are merged, as GuideLLM does.
pub const MERGE_THRESHOLD: f64 = 1e-4;
const EPSILON: f64 = 1e-6;

/// The percentile points GuideLLM reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// 0.1th percentile
    pub p001: f64,
    /// 1st percentile
    pub p01: f64,
    /// 5th percentile
    pub p05: f64,
    /// 10th percentile
    pub p10: f64,
    /// 25th percentile
    pub p25: f64,
    /// median
    pub p50: f64,
    /// 75th percentile
    pub p75: f64,
    /// 90th percentile
    pub p90: f64,
    /// 95th percentile
    pub p95: f64,
    /// 99th percentile
    pub p99: f64,
    /// 99.9th percentile
    pub p999: f64,
}

impl Percentiles {
    /// `(name, quantile)` for each reported percentile, in order.
    pub const POINTS: [(&'static str, f64); 11] = [
        ("p001", 0.001),
        ("p01", 0.01),
        ("p05", 0.05),
        ("p10", 0.1),
        ("p25", 0.25),
        ("p50", 0.5),
        ("p75", 0.75),
        ("p90", 0.9),
        ("p95", 0.95),
        ("p99", 0.99),
        ("p999", 0.999),
    ];

    /// The values in [`Percentiles::POINTS`] order.
    pub fn values(&self) -> [f64; 11] {
        [
            self.p001, self.p01, self.p05, self.p10, self.p25, self.p50, self.p75, self.p90,
            self.p95, self.p99, self.p999,
        ]
    }

    fn from_values(v: [f64; 11]) -> Self {
        Percentiles {
            p001: v[0],
            p01: v[1],
            p05: v[2],
            p10: v[3],
            p25: v[4],
            p50: v[5],
            p75: v[6],
            p90: v[7],
            p95: v[8],
            p99: v[9],
            p999: v[10],
        }
    }
}

/// One distribution: GuideLLM's `DistributionSummary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Weighted mean.
    pub mean: f64,
    /// p50.
    pub median: f64,
    /// Value with the largest weight (first on ties).
    pub mode: f64,
    /// Population variance.
    pub variance: f64,
    /// `sqrt(variance)`.
    pub std_dev: f64,
    /// Smallest value with non-zero weight.
    pub min: f64,
    /// Largest value with non-zero weight.
    pub max: f64,
    /// Number of observations (sum of weights, rounded, unless given).
    pub count: u64,
    /// `mean * count`.
    pub total_sum: f64,
    /// Percentiles without interpolation.
    pub percentiles: Percentiles,
    /// Confidence intervals of the mean and percentiles (GuideLLM 0.8's
    /// `mean_ci`, `percentile_cis`): only for metrics recorded once per
    /// request, with two observations or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<crate::confidence::Intervals>,
}

impl Distribution {
    /// The empty distribution: all zeros with the given count.
    pub fn empty(count: u64) -> Self {
        Distribution {
            count,
            ..Default::default()
        }
    }

    /// Unweighted values.
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Self {
        let weighted: Vec<(f64, f64)> = values.into_iter().map(|v| (v, 1.0)).collect();
        Self::from_weighted(weighted, None)
    }

    /// `(value, weight)` pairs; `count` defaults to the rounded sum of weights.
    pub fn from_weighted(mut values: Vec<(f64, f64)>, count: Option<u64>) -> Self {
        if values.is_empty() {
            // GuideLLM ignores the given count for an empty set.
            return Self::empty(0);
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
            return Self::empty(count);
        }
        let pdf: Vec<(f64, f64)> = merged.iter().map(|&(v, w)| (v, w / total_weight)).collect();
        Self::from_pdf(&pdf, count)
    }

    fn from_pdf(pdf: &[(f64, f64)], count: u64) -> Self {
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
    pub fn rate_from_events(
        mut events: Vec<(f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
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
            return Self::empty(0);
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
        Self::from_weighted(weighted, Some(count))
    }

    /// Concurrency over time: GuideLLM's `concurrency_distribution_from_timings`.
    ///
    /// `intervals` are `(start, end, weight)` in seconds; the distribution is
    /// the level of overlapping weight, weighted by time spent at each level.
    pub fn concurrency_from_intervals(
        intervals: Vec<(f64, f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let (events, count) = concurrency_events(intervals, start, end);
        Self::concurrency_from_events(events, count, start, end)
    }

    /// The rest of [`Distribution::concurrency_from_intervals`], from the
    /// sorted open/close events of `count` intervals.
    fn concurrency_from_events(
        events: Vec<(f64, f64)>,
        count: u64,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
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
                Self::from_weighted(Vec::new(), None)
            } else {
                Self::from_weighted(vec![(levels[0], 1.0)], None)
            };
        }
        let values: Vec<(f64, f64)> = events
            .windows(2)
            .zip(&levels)
            .map(|(w, &l)| (l, (w[1].0 - w[0].0).max(0.0)))
            .collect();
        if values.iter().any(|v| v.1 > 0.0) {
            Self::from_weighted(values, Some(count))
        } else {
            Self::from_weighted(Vec::new(), Some(count))
        }
    }
}

/// The intervals that reach into the window, as open (`+weight`) and close
/// (`-weight`) events sorted by [`by_both`], and how many intervals.
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

/// Order `(value, weight)` pairs by value, then weight.
fn by_both(a: &(f64, f64), b: &(f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

fn round_count(x: f64) -> u64 {
    // Python's round(): half to even.
    let r = x.round_ties_even();
    if r <= 0.0 {
        0
    } else {
        r as u64
    }
}

/// numpy's pairwise summation (close enough: blocks of 128, then halves).
fn pairwise_sum(v: &[f64]) -> f64 {
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
fn merge_sorted_times(mut ev: Vec<(f64, f64)>, threshold: f64) -> Vec<(f64, f64)> {
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

/// A metric split by request status: GuideLLM's `StatusDistributionSummary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDistribution {
    /// Completed requests.
    pub successful: Distribution,
    /// Errored requests.
    pub errored: Distribution,
    /// Requests cut off by the end of the benchmark.
    pub incomplete: Distribution,
    /// All three together.
    pub total: Distribution,
}

/// Values of one metric, split by status.
#[derive(Clone, Debug)]
pub struct ByStatus<T> {
    /// Completed requests.
    pub successful: Vec<T>,
    /// Requests cut off by the end of the benchmark.
    pub incomplete: Vec<T>,
    /// Errored requests.
    pub errored: Vec<T>,
}

impl<T> Default for ByStatus<T> {
    fn default() -> Self {
        ByStatus {
            successful: Vec::new(),
            incomplete: Vec::new(),
            errored: Vec::new(),
        }
    }
}

impl<T: Clone> ByStatus<T> {
    /// successful, then incomplete, then errored (GuideLLM's concatenation order).
    pub fn all(&self) -> Vec<T> {
        let mut v =
            Vec::with_capacity(self.successful.len() + self.incomplete.len() + self.errored.len());
        v.extend_from_slice(&self.successful);
        v.extend_from_slice(&self.incomplete);
        v.extend_from_slice(&self.errored);
        v
    }

    /// Apply `f` to each status's values and to their concatenation.
    pub fn summarize(&self, f: impl Fn(Vec<T>) -> Distribution) -> StatusDistribution {
        let successful = f(self.successful.clone());
        // With nothing but successes the total is the same computation.
        let total = if self.incomplete.is_empty() && self.errored.is_empty() {
            successful
        } else {
            f(self.all())
        };
        StatusDistribution {
            total,
            successful,
            incomplete: f(self.incomplete.clone()),
            errored: f(self.errored.clone()),
        }
    }
}

impl ByStatus<(f64, f64)> {
    /// Sort each status's pairs by value, then weight.
    pub fn sort_each(&mut self) {
        self.successful.sort_unstable_by(by_both);
        self.incomplete.sort_unstable_by(by_both);
        self.errored.sort_unstable_by(by_both);
    }

    /// Status by status, the sorted merge of two sorted lists.
    pub fn merge_sorted(&self, other: &Self) -> Self {
        ByStatus {
            successful: merge_pairs(&self.successful, &other.successful),
            incomplete: merge_pairs(&self.incomplete, &other.incomplete),
            errored: merge_pairs(&self.errored, &other.errored),
        }
    }
}

/// Merge two lists sorted by [`by_both`] into one sorted list.
fn merge_pairs(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if by_both(&b[j], &a[i]).is_lt() {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

impl StatusDistribution {
    /// Weighted values split by status.
    pub fn from_weighted(v: &ByStatus<(f64, f64)>) -> Self {
        v.summarize(|x| Distribution::from_weighted(x, None))
    }

    /// Values recorded once per request, split by status, each status with
    /// its confidence intervals at `confidence` (GuideLLM 0.8's
    /// `SampleUncertainty`: none when any weight is not 1 or under two values).
    pub fn with_intervals(v: &ByStatus<(f64, f64)>, confidence: f64) -> Self {
        v.summarize(|x| {
            let intervals = if x.iter().all(|p| p.1 == 1.0) {
                let values: Vec<f64> = x.iter().map(|p| p.0).collect();
                crate::confidence::Intervals::of_values(&values, confidence)
            } else {
                None
            };
            Distribution {
                intervals,
                ..Distribution::from_weighted(x, None)
            }
        })
    }

    /// Rate distributions split by status. Each status's events are sorted
    /// (in linear time when they already are), so the largest lists are
    /// sorted once and never copied whole.
    pub fn rates(v: ByStatus<(f64, f64)>, start: Option<f64>, end: Option<f64>) -> Self {
        let mut v = v;
        v.sort_each();
        let n = [0; 3];
        Self::of_sorted_events(v, n, |x, _| Distribution::rate_from_events(x, start, end))
    }

    /// Concurrency distributions split by status, from each status's sorted
    /// open/close events.
    pub fn concurrency(
        v: &ByStatus<(f64, f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let part = |x: &Vec<(f64, f64, f64)>| concurrency_events(x.clone(), start, end);
        let (s, i, e) = (part(&v.successful), part(&v.incomplete), part(&v.errored));
        let events = ByStatus {
            successful: s.0,
            incomplete: i.0,
            errored: e.0,
        };
        Self::of_sorted_events(events, [s.1, i.1, e.1], |ev, n| {
            Distribution::concurrency_from_events(ev, n, start, end)
        })
    }

    /// `f` of each status's sorted events (given with that status's count)
    /// and of their merge for the total (never a second sort); with nothing
    /// but successes the total is the successful one.
    fn of_sorted_events(
        v: ByStatus<(f64, f64)>,
        [ok, inc, err]: [u64; 3],
        f: impl Fn(Vec<(f64, f64)>, u64) -> Distribution,
    ) -> Self {
        let total = if v.incomplete.is_empty() && v.errored.is_empty() {
            None
        } else {
            let all = merge_pairs(&merge_pairs(&v.successful, &v.incomplete), &v.errored);
            Some(f(all, ok + inc + err))
        };
        let successful = f(v.successful, ok);
        StatusDistribution {
            total: total.unwrap_or(successful),
            successful,
            incomplete: f(v.incomplete, inc),
            errored: f(v.errored, err),
        }
    }
}

#[cfg(test)]
mod tests;

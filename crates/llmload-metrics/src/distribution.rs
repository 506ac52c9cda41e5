//! GuideLLM's distribution summaries, computed exactly as GuideLLM 0.4.0 does.
//!
//! Ported from `guidellm/schemas/statistics.py` (0.4.0): weighted discrete
//! distributions with duplicate values merged, population variance,
//! percentiles without interpolation (`value[searchsorted(cdf, q, "left")]`),
//! time-weighted rate and concurrency distributions, and event merging within
//! 0.1 ms. A test replays GuideLLM's own reports through this code and checks
//! every number (tests/guidellm_fixtures.rs).

use serde::{Deserialize, Serialize};

use sorted::{PairSorter, SortedPairs};

mod picked;
mod sorted;
mod streams;

pub(crate) use picked::Pick;

pub use sorted::{scratch_file, set_spill_threshold, spilled_runs, SORT_IN_MEMORY};

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
        Self::from_sorted(&values, count)
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
        events.sort_unstable_by(by_both);
        Self::rate_from_sorted(events.iter().copied(), start, end)
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
        let mut events = PairSorter::new();
        let count = concurrency_events(intervals.into_iter(), start, end, &mut events);
        Self::concurrency_from_sorted(events.finish().pairs(), count, start, end)
    }
}

/// The open (`+weight`) and close (`-weight`) events of the intervals that
/// reach into the window, pushed to `out`; how many intervals.
fn concurrency_events(
    intervals: impl Iterator<Item = (f64, f64, f64)>,
    start: Option<f64>,
    end: Option<f64>,
    out: &mut PairSorter,
) -> u64 {
    let inside =
        |i: &(f64, f64, f64)| start.is_none_or(|s| i.1 >= s) && end.is_none_or(|e| i.0 <= e);
    let mut n = 0;
    for i in intervals.filter(inside) {
        out.push((i.0, i.2));
        out.push((i.1, -i.2));
        n += 1;
    }
    n
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
        self.clone().into_summary(f)
    }

    /// [`ByStatus::summarize`], taking the lists: each goes to `f` as it
    /// is, so no list is copied but the concatenation (and that only when
    /// there is more than one status).
    pub fn into_summary(self, f: impl Fn(Vec<T>) -> Distribution) -> StatusDistribution {
        // With nothing but successes the total is the same computation.
        let total =
            (!self.incomplete.is_empty() || !self.errored.is_empty()).then(|| f(self.all()));
        let successful = f(self.successful);
        StatusDistribution {
            total: total.unwrap_or(successful),
            successful,
            incomplete: f(self.incomplete),
            errored: f(self.errored),
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
}

/// Timed `(seconds, weight)` events sorted by time, then weight, that can be
/// read more than once (a sorted list, or events made from records as they
/// are read).
pub(crate) trait EventSource {
    /// The events, in order.
    fn events(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_>;
    /// Whether there are none.
    fn is_empty(&self) -> bool;
}

impl EventSource for Vec<(f64, f64)> {
    fn events(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        Box::new(self.iter().copied())
    }
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

/// Two sources read as one.
pub(crate) struct Both<A, B>(pub A, pub B);

impl<A: EventSource, B: EventSource> EventSource for Both<A, B> {
    fn events(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        Box::new(streams::merge(self.0.events(), self.1.events()))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
}

/// One source of events per status.
pub(crate) struct Parts<S> {
    pub successful: S,
    pub incomplete: S,
    pub errored: S,
}

impl<A: EventSource, B: EventSource> Parts<Both<A, B>> {
    /// Status by status, the two sources read as one.
    pub(crate) fn zip(a: Parts<A>, b: Parts<B>) -> Self {
        Parts {
            successful: Both(a.successful, b.successful),
            incomplete: Both(a.incomplete, b.incomplete),
            errored: Both(a.errored, b.errored),
        }
    }
}

impl StatusDistribution {
    /// Weighted values split by status.
    pub fn from_weighted(v: &ByStatus<(f64, f64)>) -> Self {
        Self::from_weighted_lists(v.clone())
    }

    /// [`StatusDistribution::from_weighted`], taking the lists.
    pub fn from_weighted_lists(v: ByStatus<(f64, f64)>) -> Self {
        v.into_summary(|x| Distribution::from_weighted(x, None))
    }

    /// Values recorded once per request, split by status, each status with
    /// its confidence intervals at `confidence` (GuideLLM 0.8's
    /// `SampleUncertainty`: none when any weight is not 1 or under two values).
    pub fn with_intervals(v: ByStatus<(f64, f64)>, confidence: f64) -> Self {
        v.into_summary(|x| {
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

    /// Rate distributions split by status, each status's events sorted.
    pub fn rates(v: ByStatus<(f64, f64)>, start: Option<f64>, end: Option<f64>) -> Self {
        let mut v = v;
        v.sort_each();
        let parts = Parts {
            successful: v.successful,
            incomplete: v.incomplete,
            errored: v.errored,
        };
        Self::rates_of(&parts, start, end)
    }

    /// Rate distributions of each status's sorted events, and of their merge
    /// for the total (with nothing but successes, the successful one).
    pub(crate) fn rates_of<S: EventSource>(
        v: &Parts<S>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let rate = |s: &S| Distribution::rate_from_sorted(s.events(), start, end);
        let successful = rate(&v.successful);
        let total = if v.incomplete.is_empty() && v.errored.is_empty() {
            successful
        } else {
            let ok_inc = streams::merge(v.successful.events(), v.incomplete.events());
            Distribution::rate_from_sorted(streams::merge(ok_inc, v.errored.events()), start, end)
        };
        StatusDistribution {
            total,
            successful,
            incomplete: rate(&v.incomplete),
            errored: rate(&v.errored),
        }
    }

    /// Concurrency distributions split by status, from each status's
    /// open/close events (sorted once, spilled past the sort bound).
    pub fn concurrency(
        v: &ByStatus<(f64, f64, f64)>,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let part = |x: &Vec<(f64, f64, f64)>| {
            let mut sorter = PairSorter::new();
            let n = concurrency_events(x.iter().copied(), start, end, &mut sorter);
            (sorter.finish(), n)
        };
        let parts = [part(&v.successful), part(&v.incomplete), part(&v.errored)];
        Self::concurrency_of_sorted(parts, start, end)
    }

    /// Concurrency of each status's sorted open/close events (with how many
    /// intervals), and of their merge for the total.
    fn concurrency_of_sorted(
        [s, i, e]: [(sorted::Sorted, u64); 3],
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let of = |ev: Box<dyn Iterator<Item = (f64, f64)> + '_>, n| {
            Distribution::concurrency_from_sorted(ev, n, start, end)
        };
        let successful = of(s.0.pairs(), s.1);
        let total = if i.0.len() == 0 && e.0.len() == 0 {
            successful
        } else {
            let all = streams::merge(streams::merge(s.0.pairs(), i.0.pairs()), e.0.pairs());
            of(Box::new(all), s.1 + i.1 + e.1)
        };
        StatusDistribution {
            total,
            successful,
            incomplete: of(i.0.pairs(), i.1),
            errored: of(e.0.pairs(), e.1),
        }
    }
}

#[cfg(test)]
mod tests;

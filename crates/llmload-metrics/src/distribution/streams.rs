//! Rate and concurrency distributions from event streams sorted by time,
//! then weight: GuideLLM's `rate_distribution_from_timings` and
//! `concurrency_distribution_from_timings` one event at a time, so a run's
//! every output token need never be held at once. The `(value, weight)`
//! pairs they yield go to a [`PairSorter`], which spills past its bound.

use super::sorted::{PairSorter, Pairwise, ValueLog};
use super::{by_both, Distribution, EPSILON, MERGE_THRESHOLD};

/// Merge two streams sorted by [`by_both`] into one.
pub(crate) fn merge<A, B>(a: A, b: B) -> impl Iterator<Item = (f64, f64)>
where
    A: Iterator<Item = (f64, f64)>,
    B: Iterator<Item = (f64, f64)>,
{
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if by_both(y, x).is_lt() => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// `_merge_sorted_times_with_weights` on a sorted stream: equal times
/// summed, then each group from an event through `start + threshold`
/// (see `merge_sorted_times`, which does the same on a slice).
pub(crate) fn merge_times(
    events: impl Iterator<Item = (f64, f64)>,
    threshold: f64,
) -> impl Iterator<Item = (f64, f64)> {
    let mut it = events.peekable();
    let mut unique = std::iter::from_fn(move || {
        let (t, mut w) = it.next()?;
        while let Some(&(next, nw)) = it.peek() {
            if next != t {
                break;
            }
            w += nw;
            it.next();
        }
        Some((t, w))
    })
    .peekable();
    std::iter::from_fn(move || {
        let (t, mut w) = unique.next()?;
        if unique.peek().is_some_and(|n| n.0 - t <= threshold) {
            let limit = t + threshold;
            while let Some(&(next, nw)) = unique.peek() {
                if next > limit {
                    break;
                }
                w += nw;
                unique.next();
            }
        }
        Some((t, w))
    })
}

impl Distribution {
    /// [`Distribution::rate_from_events`] of `events`,
    /// sorted by time, then weight; read once.
    pub(crate) fn rate_from_sorted<I>(events: I, start: Option<f64>, end: Option<f64>) -> Self
    where
        I: Iterator<Item = (f64, f64)>,
    {
        // The window's own zero-weight events, kept as `rate_from_events`
        // keeps them (an end before the start drops the start's).
        let mut marks: Vec<(f64, f64)> = Vec::with_capacity(2);
        if let Some(s) = start {
            if end.is_none_or(|e| s <= e) {
                marks.push((s, 0.0));
            }
        }
        if let Some(e) = end {
            marks.push((e, 0.0));
        }
        marks.sort_unstable_by(by_both);
        let inside = events
            .filter(move |ev| start.is_none_or(|s| ev.0 >= s) && end.is_none_or(|e| ev.0 <= e));
        let merged = merge_times(merge(inside, marks.iter().copied()), MERGE_THRESHOLD);
        // One pass: the pairs to sort, and the weights in order (for their
        // pairwise sum, whose tree needs how many there are).
        let mut weights = ValueLog::new();
        let mut pairs = PairSorter::new();
        let mut it = merged.peekable();
        let mut prev_mid: Option<f64> = None;
        while let Some((t, w)) = it.next() {
            weights.push(w);
            let d = match (it.peek(), prev_mid) {
                (Some(&(next, _)), prev) => {
                    let mid = (next + t) / 2.0;
                    prev_mid = Some(mid);
                    mid - prev.unwrap_or(t)
                }
                (None, Some(prev)) => (t - prev).max(EPSILON),
                // One event alone: no rate (below).
                (None, None) => EPSILON,
            };
            pairs.push((w / d, d));
        }
        let n = weights.len();
        if n <= 1 {
            return Self::empty(0);
        }
        let mut count = Pairwise::new(n);
        weights.values().for_each(|w| count.push(w));
        let count = super::round_count(count.finish());
        Self::from_sorted(&pairs.finish(), count)
    }

    /// The end of [`Distribution::concurrency_from_intervals`]: `events()`
    /// are the open (`+weight`) and close (`-weight`) events of `count`
    /// intervals, sorted by time, then weight; read once.
    pub(crate) fn concurrency_from_sorted(
        events: impl Iterator<Item = (f64, f64)>,
        count: u64,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let mut it = merge_times(events, MERGE_THRESHOLD).peekable();
        let any = it.peek().is_some();
        let head = match (start, any) {
            (Some(s), true) => {
                let prior: f64 = std::iter::from_fn(|| it.next_if(|e| e.0 < s).map(|e| e.1)).sum();
                Some((s, prior))
            }
            _ => None,
        };
        let body = head.into_iter().chain(it);
        let clipped: Box<dyn Iterator<Item = (f64, f64)>> = match (end, any) {
            (Some(e), true) => Box::new(
                body.take_while(move |ev| ev.0 <= e)
                    .chain(std::iter::once((e, 0.0))),
            ),
            _ => Box::new(body),
        };
        let mut pairs = PairSorter::new();
        let (mut level, mut len, mut first_level, mut timed) = (0.0, 0usize, 0.0, false);
        let mut prev: Option<(f64, f64)> = None;
        for (t, w) in clipped {
            level += w;
            let l = level.max(0.0);
            if let Some((pt, pl)) = prev {
                let d = (t - pt).max(0.0);
                timed |= d > 0.0;
                pairs.push((pl, d));
            } else {
                first_level = l;
            }
            prev = Some((t, l));
            len += 1;
        }
        match len {
            0 => Self::empty(0),
            1 if count == 0 => Self::empty(0),
            1 => Self::from_weighted(vec![(first_level, 1.0)], None),
            _ if !timed => Self::empty(0),
            _ => Self::from_sorted(&pairs.finish(), count),
        }
    }
}

//! Status distributions of values projected from items as they are needed,
//! through a [`PairSorter`] (which spills past its bound), so no list of
//! every request's pairs is built for them: a text summary's values, rates
//! and concurrency, and their input-and-output totals.
//!
//! `picks` are applied item by item within a projection, projection by
//! projection within a status, status by status (successful, incomplete,
//! errored): the order in which `concat` and [`ByStatus::all`] lay out the
//! lists these replace, so the weight sums add in the same order.

use super::sorted::{PairSorter, Sorted};
use super::{round_count, ByStatus, Distribution, EventSource, Parts, StatusDistribution};

/// One item to at most one value.
pub(crate) type Pick<'p, T, P> = &'p dyn Fn(&T) -> Option<P>;

impl EventSource for Sorted {
    fn events(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        super::sorted::SortedPairs::pairs(self)
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn statuses<T>(v: &ByStatus<T>) -> [&[T]; 3] {
    [&v.successful, &v.incomplete, &v.errored]
}

/// The picked pairs of `lists`, sorted, with the sum of their weights.
fn sort_pairs<T>(lists: &[&[T]], picks: &[Pick<T, (f64, f64)>]) -> (Sorted, f64) {
    let (mut sorter, mut sum) = (PairSorter::new(), 0.0);
    for items in lists {
        for pick in picks {
            for p in items.iter().filter_map(pick) {
                sorter.push(p);
                sum += p.1;
            }
        }
    }
    (sorter.finish(), sum)
}

impl StatusDistribution {
    /// [`StatusDistribution::from_weighted`] of the picked pairs.
    pub(crate) fn weighted_of<T>(v: &ByStatus<T>, picks: &[Pick<T, (f64, f64)>]) -> Self {
        let of = |(sorted, sum): (Sorted, f64)| match sorted.len() {
            0 => Distribution::empty(0),
            _ => Distribution::from_sorted(&sorted, round_count(sum)),
        };
        let [ok, inc, err] = statuses(v);
        let (i, e) = (sort_pairs(&[inc], picks), sort_pairs(&[err], picks));
        let only_successes = i.0.len() == 0 && e.0.len() == 0;
        let (incomplete, errored) = (of(i), of(e));
        let successful = of(sort_pairs(&[ok], picks));
        StatusDistribution {
            total: match only_successes {
                true => successful,
                false => of(sort_pairs(&[ok, inc, err], picks)),
            },
            successful,
            incomplete,
            errored,
        }
    }

    /// [`StatusDistribution::rates`] of the picked `(seconds, weight)` events.
    pub(crate) fn rates_picked<T>(
        v: &ByStatus<T>,
        picks: &[Pick<T, (f64, f64)>],
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let [ok, inc, err] = statuses(v);
        let parts = Parts {
            successful: sort_pairs(&[ok], picks).0,
            incomplete: sort_pairs(&[inc], picks).0,
            errored: sort_pairs(&[err], picks).0,
        };
        Self::rates_of(&parts, start, end)
    }

    /// [`StatusDistribution::concurrency`] of the picked intervals.
    pub(crate) fn concurrency_picked<T>(
        v: &ByStatus<T>,
        picks: &[Pick<T, (f64, f64, f64)>],
        start: Option<f64>,
        end: Option<f64>,
    ) -> Self {
        let [ok, inc, err] = statuses(v);
        let part = |items: &[T]| {
            let mut sorter = PairSorter::new();
            let mut n = 0;
            for pick in picks {
                let picked = items.iter().filter_map(pick);
                n += super::concurrency_events(picked, start, end, &mut sorter);
            }
            (sorter.finish(), n)
        };
        Self::concurrency_of_sorted([part(ok), part(inc), part(err)], start, end)
    }
}

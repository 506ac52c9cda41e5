//! Which requests a report lists, and their full records.
//!
//! GuideLLM lists a benchmark's requests per status in the order they
//! started, every one of them or `--sample-requests` of each evenly spread.
//! The choice is made on the compact records; only the chosen ones are
//! fetched in full (from memory, or from the journal where a long run
//! spilled them), or, for a benchmark listing more than a report holds in
//! memory, read one at a time as the report is written
//! ([`crate::guidellm::wire::Streamed`]).

use std::collections::BTreeMap;

use llmload_core::{BenchmarkRun, Details, Measured, RequestRecord, RequestStatus};

/// `n` of `items`, evenly spread (GuideLLM's sampling), or all of them.
pub(crate) fn sample<T: Copy>(items: Vec<T>, n: Option<u64>) -> Vec<T> {
    spread(|| items.iter().copied(), n)
}

/// `n` of the items `of()` yields, evenly spread: for `i < n`, the
/// `i * len / n`-th (GuideLLM's sampling), or all of them. `of` is read
/// twice (once to count), so no list of every item is made.
fn spread<T, I: Iterator<Item = T>>(of: impl Fn() -> I, n: Option<u64>) -> Vec<T> {
    let len = of().count();
    let take = n.map_or(len, |n| len.min(n as usize));
    let mut out = Vec::with_capacity(take);
    for (k, item) in of().enumerate() {
        if out.len() == take {
            break;
        }
        if k == out.len() * len / take {
            out.push(item);
        }
    }
    out
}

/// The requests a report lists, per status: positions into a run's
/// records (completed, errored, cancelled after they started), each list in
/// the order the requests started.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing(pub [Vec<usize>; 3]);

impl Listing {
    /// Requests listed.
    pub fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    /// `n` of each list, evenly spread.
    pub fn sampled(&self, n: u64) -> Listing {
        Listing(self.0.clone().map(|v| sample(v, Some(n))))
    }
}

/// The requests of `run` to list, sampled to `n` per status: in the order
/// they started (ties in the order they finished).
pub(crate) fn listing(run: &BenchmarkRun, n: Option<u64>) -> Listing {
    let mut order: Vec<usize> = (0..run.records.len()).collect();
    order.sort_by_key(|&i| run.records[i].request_start_time());
    let pick = |s: RequestStatus| {
        spread(
            || {
                order
                    .iter()
                    .copied()
                    .filter(|&i| run.records[i].status() == s)
            },
            n,
        )
    };
    Listing([
        pick(RequestStatus::Completed),
        pick(RequestStatus::Errored),
        pick(RequestStatus::Cancelled),
    ])
}

/// Each full record at `positions` of benchmark `index` in `details`, in
/// that order, one at a time (a record lost with the journal, a torn
/// line, left out): a long run's listing read as its report is written.
pub(crate) fn each_record(
    details: &Details,
    index: usize,
    positions: &[usize],
    mut f: impl FnMut(&RequestRecord) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut reader = details.reader(index)?;
    for &p in positions {
        if let Some(r) = reader.get(p)? {
            f(&r)?;
        }
    }
    Ok(())
}

/// The full records of `listing`, list by list (a record lost with the
/// journal left out, and said so).
pub(crate) fn fetch(run: &BenchmarkRun, listing: &Listing) -> [Vec<RequestRecord>; 3] {
    let mut wanted: Vec<usize> = listing.0.iter().flatten().copied().collect();
    wanted.sort_unstable();
    let mut full: BTreeMap<usize, RequestRecord> = match run.full(&wanted) {
        Ok(v) => v.into_iter().collect(),
        Err(e) => {
            eprintln!("llmload: cannot read the requests back from the journal ({e})");
            BTreeMap::new()
        }
    };
    if full.len() < wanted.len() {
        eprintln!(
            "llmload: benchmark {}: {} of {} requests to list were lost with the journal; \
             the report lists the others (its statistics cover all)",
            run.index,
            wanted.len() - full.len(),
            wanted.len()
        );
    }
    listing
        .0
        .clone()
        .map(|p| p.iter().filter_map(|i| full.remove(i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_guidellms_sample() {
        for len in 0..40usize {
            for n in [
                None,
                Some(0),
                Some(1),
                Some(2),
                Some(7),
                Some(39),
                Some(40),
                Some(90),
            ] {
                let items: Vec<usize> = (100..100 + len).collect();
                let expect: Vec<usize> = match n {
                    Some(n) if (n as usize) < len => {
                        let n = n as usize;
                        (0..n).map(|i| items[i * len / n]).collect()
                    }
                    _ => items.clone(),
                };
                assert_eq!(sample(items, n), expect, "len {len} n {n:?}");
            }
        }
    }
}

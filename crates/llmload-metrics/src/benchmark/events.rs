//! Timed events made from records as they are read, in time order, never
//! all at once: a run's every output token is an event (GuideLLM's token
//! rates), and 3.6 million 16-token requests would be 58 million of them.
//!
//! Records are ordered once by their first event (4 bytes each); reading
//! merges the events of the records in flight at that moment on a heap, so
//! what is held is the events of the requests that overlap in time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::distribution::{EventSource, Parts};

/// Appends a record's events, in any order, to the vector.
pub(crate) type Make<R> = fn(&R, &mut Vec<(f64, f64)>);

/// The events of some records, read in order of time, then weight.
pub(crate) struct RecordEvents<'a, R> {
    records: Vec<&'a R>,
    make: Make<R>,
}

impl<'a, R> RecordEvents<'a, R> {
    /// The events `make` gives for `records`.
    pub(crate) fn new(records: &[&'a R], make: Make<R>) -> Self {
        let mut scratch = Vec::new();
        // By first time alone: a record is taken in when its first time is
        // not after the earliest event held, so none taken in later can
        // hold an event before one given.
        let mut keyed: Vec<(f64, u32)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(first) = first_event(*r, make, &mut scratch) {
                keyed.push((first.0, i as u32));
            }
        }
        keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        RecordEvents {
            records: keyed.into_iter().map(|k| records[k.1 as usize]).collect(),
            make,
        }
    }
}

/// Every status's events.
pub(crate) fn by_status<'a, R>(parts: [&[&'a R]; 3], make: Make<R>) -> Parts<RecordEvents<'a, R>> {
    let [successful, incomplete, errored] = parts;
    Parts {
        successful: RecordEvents::new(successful, make),
        incomplete: RecordEvents::new(incomplete, make),
        errored: RecordEvents::new(errored, make),
    }
}

fn by_both(a: &(f64, f64), b: &(f64, f64)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

fn first_event<R>(r: &R, make: Make<R>, scratch: &mut Vec<(f64, f64)>) -> Option<(f64, f64)> {
    scratch.clear();
    make(r, scratch);
    scratch.iter().copied().min_by(by_both)
}

/// One record's events, sorted, and the next to give.
struct Cursor {
    events: Vec<(f64, f64)>,
    at: usize,
}

impl Cursor {
    fn head(&self) -> (f64, f64) {
        self.events[self.at]
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Cursor {}
impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cursor {
    /// Reversed: the heap's top is the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        by_both(&other.head(), &self.head())
    }
}

impl<R> EventSource for RecordEvents<'_, R> {
    fn events(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        let mut next = 0;
        let mut pending: Option<Cursor> = None;
        let mut heap: BinaryHeap<Cursor> = BinaryHeap::new();
        Box::new(std::iter::from_fn(move || loop {
            if pending.is_none() && next < self.records.len() {
                let mut events = Vec::new();
                (self.make)(self.records[next], &mut events);
                events.sort_unstable_by(by_both);
                next += 1;
                pending = Some(Cursor { events, at: 0 });
            }
            let take_pending = match (&pending, heap.peek()) {
                (Some(p), Some(top)) => p.head().0.total_cmp(&top.head().0).is_le(),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if take_pending {
                heap.extend(pending.take());
                continue;
            }
            let mut top = heap.pop()?;
            let event = top.head();
            top.at += 1;
            if top.at < top.events.len() {
                heap.push(top);
            }
            return Some(event);
        }))
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each "record" is its own events, in any order.
    #[allow(clippy::ptr_arg)] // the record type is the vector
    fn make(r: &Vec<(f64, f64)>, out: &mut Vec<(f64, f64)>) {
        out.extend_from_slice(r);
    }

    #[test]
    fn events_come_in_the_order_of_one_sort() {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for case in 0..200 {
            // Requests that overlap (long streams beside short ones), ties,
            // records without events.
            let records: Vec<Vec<(f64, f64)>> = (0..next(60))
                .map(|_| {
                    let start = next(1000) as f64 / 100.0;
                    let len = [0, 1, 16, 300][next(4) as usize];
                    (0..len)
                        .map(|_| {
                            (
                                start + next(500 * (1 + case % 3)) as f64 / 100.0,
                                next(3) as f64,
                            )
                        })
                        .collect()
                })
                .collect();
            let refs: Vec<&Vec<(f64, f64)>> = records.iter().collect();
            let source = RecordEvents::new(&refs, make);
            let mut expect: Vec<(f64, f64)> = records.concat();
            expect.sort_unstable_by(by_both);
            for _ in 0..2 {
                assert_eq!(source.events().collect::<Vec<_>>(), expect, "case {case}");
            }
            assert_eq!(source.is_empty(), records.iter().all(Vec::is_empty));
        }
    }
}

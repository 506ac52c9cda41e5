//! A benchmark's requests written as they are read: a long run lists more
//! requests than a report can hold in memory (3 KB each), so each is read
//! back from the journal (or, re-exporting a saved report, from where its
//! entries were set aside: `saved.rs`), turned into its entry and written,
//! one at a time.

use llmload_clock::Timestamp;
use llmload_core::Details;
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::convert::request_stats;
use crate::listed::Listing;

/// Past this many listed requests, a benchmark whose records were spilled
/// is listed from the journal as the report is written.
pub const LIST_IN_MEMORY: u64 = 100_000;

/// Of a streamed benchmark's requests, this many of each status stay in
/// memory, evenly spread, for the HTML report and the console.
pub(crate) const SAMPLE_IN_MEMORY: u64 = 1_000;

/// What a streamed benchmark lists, and where its records are.
#[derive(Debug)]
pub struct Lazy(pub(crate) Source);

/// Where a [`Lazy`] reads its entries.
#[derive(Debug)]
pub(crate) enum Source {
    /// A run's records, in its journal.
    Run {
        details: Details,
        index: usize,
        start: Timestamp,
        listing: Listing,
    },
    /// A saved report's entries, set aside on disk as it was read.
    Saved(std::sync::Arc<super::saved::Entries>),
}

impl Lazy {
    /// Requests listed.
    pub fn len(&self) -> usize {
        match &self.0 {
            Source::Run { listing, .. } => listing.len(),
            Source::Saved(e) => e.len(),
        }
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each entry of the `k`-th list (completed, errored, incomplete), in
    /// order, one at a time.
    pub(crate) fn each(
        &self,
        k: usize,
        mut f: impl FnMut(&super::wire::RequestStats) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match &self.0 {
            Source::Run {
                details,
                index,
                start,
                listing,
            } => crate::listed::each_record(details, *index, &listing.0[k], |r| {
                f(&request_stats(r, *start))
            })?,
            Source::Saved(entries) => {
                for i in 0..entries.list_len(k) {
                    f(&entries.get(k, i)?)?;
                }
            }
        }
        Ok(())
    }

    /// The `k`-th list (completed, errored, incomplete), to serialize.
    pub(crate) fn list(&self, k: usize) -> List<'_> {
        List(self, k)
    }
}

/// One list of a [`Lazy`], serialized as it is read.
pub(crate) struct List<'a>(&'a Lazy, usize);

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let mut failed = None;
        let read = self.0.each(self.1, |entry| {
            seq.serialize_element(entry).map_err(|e| {
                failed = Some(e);
                std::io::Error::other("the entry could not be written")
            })
        });
        match (failed, read) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(S::Error::custom(e)),
            (None, Ok(())) => seq.end(),
        }
    }
}

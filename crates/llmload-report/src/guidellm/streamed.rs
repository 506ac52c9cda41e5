//! A benchmark's requests written as they are read: a long run lists more
//! requests than a report can hold in memory (3 KB each), so each is read
//! back from the journal, turned into its entry and written, one at a time.

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
pub struct Lazy {
    pub(crate) details: Details,
    pub(crate) index: usize,
    pub(crate) start: Timestamp,
    pub(crate) listing: Listing,
}

impl Lazy {
    /// Requests listed.
    pub fn len(&self) -> usize {
        self.listing.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let lazy = self.0;
        let mut reader = lazy.details.reader(lazy.index).map_err(S::Error::custom)?;
        let mut seq = s.serialize_seq(None)?;
        for &p in &lazy.listing.0[self.1] {
            // A record lost with the journal (a torn line) is left out.
            if let Some(r) = reader.get(p).map_err(S::Error::custom)? {
                seq.serialize_element(&request_stats(&r, lazy.start))?;
            }
        }
        seq.end()
    }
}

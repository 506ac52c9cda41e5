//! A finished benchmark: what ran, every record it produced, how it ended
//! and what was measured. Plain data: the engine fills it, reports read it.

use std::sync::Arc;
use std::time::Duration;

use llmload_clock::Timestamp;

use crate::{
    CompactRecord, Constraints, ErrorWindow, Measured, RequestRecord, RequestStatus, Stop,
    Strategy, Verdict,
};

/// One finished benchmark.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BenchmarkRun {
    /// Position in the run (0-based).
    pub index: usize,
    /// How it issued requests.
    pub strategy: Strategy,
    /// Its stop conditions.
    pub constraints: Constraints,
    /// Every request that started, in completion order: its numbers,
    /// all that statistics read.
    #[serde(skip)]
    pub records: Vec<CompactRecord>,
    /// The same requests in full (ids, bodies, text, error messages), for
    /// a report's per-request entries: kept here, or where they were
    /// spilled (the journal).
    #[serde(skip)]
    pub details: Details,
    /// The intended send time of the first request.
    pub start: Timestamp,
    /// When the last request reported back.
    pub end: Timestamp,
    /// What stopped sending.
    pub end_queuing: Option<Stop>,
    /// What cancelled requests in flight, if anything did.
    pub end_processing: Option<Stop>,
    /// Start of the measurement window.
    pub measure_start: Timestamp,
    /// End of the measurement window.
    pub measure_end: Timestamp,
    /// Whether requests are measured when they *start* in the window
    /// (warmup/cooldown set) rather than GuideLLM's "overlap" rule.
    pub measure_by_start: bool,
    /// When requests stopped being sent for good: the deadline for
    /// `max_seconds`, else the last completion (GuideLLM's `request_end`).
    pub request_end: Timestamp,
    /// Requests created (started or not).
    pub created: u64,
    /// Requests cancelled before they were sent.
    pub never_started: u64,
    /// Final error-window state.
    pub error_window: ErrorWindow,
    /// The rampup of its arrival schedule.
    pub rampup: Duration,
    /// How busy the host was when it ended (unknown for a rebuilt benchmark).
    pub host: Option<HostLoad>,
    /// The engine's verdict on it (rate-based benchmarks only): judged as
    /// the run's max-throughput search judges, or with the search's default
    /// settings when the profile is not a search.
    pub verdict: Option<Verdict>,
    /// The server's metrics scraped from just before its first request to
    /// just after its last (empty when not scraped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server: Vec<crate::ServerScrape>,
}

/// How busy the host's CPUs were.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostLoad {
    /// The 1-minute load average (runnable threads, all processes).
    pub load_1m: f64,
    /// CPUs this process may use.
    pub cores: usize,
}

impl BenchmarkRun {
    /// Whether any request completed.
    pub fn any_success(&self) -> bool {
        self.records
            .iter()
            .any(|r| r.status() == RequestStatus::Completed)
    }

    /// The full records, when they were kept in memory (empty when they
    /// were spilled).
    pub fn kept(&self) -> &[RequestRecord] {
        match &self.details {
            Details::Kept(all) => all,
            Details::Spilled(_) => &[],
        }
    }

    /// The full records at `positions` (indices into
    /// [`BenchmarkRun::records`]), in that order, each with its position;
    /// a record lost where it was spilled is left out.
    pub fn full(&self, positions: &[usize]) -> std::io::Result<Vec<(usize, RequestRecord)>> {
        let mut reader = self.details.reader(self.index)?;
        let mut out = Vec::with_capacity(positions.len());
        for &p in positions {
            if let Some(r) = reader.get(p)? {
                out.push((p, r));
            }
        }
        Ok(out)
    }
}

/// Where a benchmark's full records are.
#[derive(Clone)]
pub enum Details {
    /// In memory, in the order of [`BenchmarkRun::records`].
    Kept(Vec<RequestRecord>),
    /// Written out as the run went (the journal), read back on demand.
    Spilled(Arc<dyn RecordStore>),
}

impl Details {
    /// A reader of benchmark `index`'s full records by position.
    pub fn reader(&self, index: usize) -> std::io::Result<Box<dyn RecordReader + '_>> {
        match self {
            Details::Kept(all) => Ok(Box::new(Kept(all))),
            Details::Spilled(store) => store.reader(index),
        }
    }
}

/// Reads records kept in memory.
struct Kept<'a>(&'a [RequestRecord]);

impl RecordReader for Kept<'_> {
    fn get(&mut self, position: usize) -> std::io::Result<Option<RequestRecord>> {
        Ok(self.0.get(position).cloned())
    }
}

impl Default for Details {
    fn default() -> Self {
        Details::Kept(Vec::new())
    }
}

impl std::fmt::Debug for Details {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Details::Kept(v) => write!(f, "Kept({} records)", v.len()),
            Details::Spilled(_) => f.write_str("Spilled"),
        }
    }
}

/// Full records written out during a run, read back by position.
pub trait RecordStore: Send + Sync {
    /// A reader of benchmark `index`'s records, by their position in the
    /// order the run finished them.
    fn reader(&self, index: usize) -> std::io::Result<Box<dyn RecordReader + '_>>;
}

/// One benchmark's full records, by position, in any order.
pub trait RecordReader {
    /// The record at `position`; `None` when there is none there, or the
    /// store lost it (a torn write).
    fn get(&mut self, position: usize) -> std::io::Result<Option<RequestRecord>>;
}

/// The compact records of `full`, errors shared, and `full` kept as the details.
pub fn keep_all(full: Vec<RequestRecord>) -> (Vec<CompactRecord>, Details) {
    let mut interner = crate::ErrorInterner::default();
    let compact = full.iter().map(|r| interner.compact(r)).collect();
    (compact, Details::Kept(full))
}

//! A finished benchmark: what ran, every record it produced, how it ended
//! and what was measured. Plain data: the engine fills it, reports read it.

use std::time::Duration;

use llmload_clock::Timestamp;

use crate::{Constraints, ErrorWindow, RequestRecord, RequestStatus, Stop, Strategy, Verdict};

/// One finished benchmark.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BenchmarkRun {
    /// Position in the run (0-based).
    pub index: usize,
    /// How it issued requests.
    pub strategy: Strategy,
    /// Its stop conditions.
    pub constraints: Constraints,
    /// Every request that started, in completion order.
    pub records: Vec<RequestRecord>,
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
            .any(|r| r.status == RequestStatus::Completed)
    }
}

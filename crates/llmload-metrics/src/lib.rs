//! Measurements of llmload runs: what was recorded per request, and the
//! statistics computed from it.
//!
//! # What this crate owns
//! - [`Distribution`] / [`StatusDistribution`]: GuideLLM 0.4.0's statistics,
//!   ported exactly (weighted, non-interpolated percentiles, population
//!   variance, time-weighted rates and concurrency).
//! - [`BenchmarkMetrics`]: every metric of one benchmark, from its records
//!   and measurement window, as GuideLLM 0.4.0 compiles it
//!   ([`BenchmarkMetrics::compile`]) or as 0.8.1 does
//!   ([`BenchmarkMetrics::compile_08`]); [`successful_rate`], the rate
//!   GuideLLM's sweep measures.
//! - Bounded memory for all of it: distributions are computed in passes
//!   over sorted pairs that spill to temporary files past
//!   [`SORT_IN_MEMORY`], and token-rate events are made from the records as
//!   they are read, never listed all at once.
//! - [`LatencyHistograms`] / [`LiveStats`]: HDR histograms and counts that
//!   merge exactly across workers and shards, for live views.
//!
//! # What it does not own
//! [`RequestRecord`] and its parts ([`RequestTimings`], [`UsageMetrics`],
//! [`RequestError`] with its [`ErrorKind`]): the plain record the client
//! fills for each request, with the per-request formulas, is llmload-core's
//! (re-exported here). No I/O, no HTTP, no file formats: the client produces
//! records, the report crate serializes what this crate computes.

mod benchmark;
pub mod confidence;
mod distribution;
mod histograms;
mod scheduler;
pub mod server;
pub mod timeline;

pub use benchmark::{
    successful_rate, BenchmarkMetrics, MetricsSummary, Selection, StatusCounts, TextMetrics,
    TurnMetrics, CONFIDENCE,
};
pub use distribution::{
    scratch_file, set_spill_threshold, spilled_runs, ByStatus, Distribution, Percentiles,
    StatusDistribution, MERGE_THRESHOLD, SORT_IN_MEMORY,
};
pub use histograms::{summarize, LatencyHistograms, LiveStats};
pub use llmload_core::{
    CompactRecord, ErrorKind, Measured, RequestError, RequestRecord, RequestStatus, RequestTimings,
    RequestType, Timing, Turn, UsageMetrics,
};
pub use scheduler::SchedulerAverages;

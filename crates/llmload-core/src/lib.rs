//! The shared vocabulary of llmload: the plain, serializable types that the
//! engine, the metrics and the reports all speak.
//!
//! # What this crate owns
//! - [`Strategy`]: how one benchmark issues requests, with GuideLLM's names
//!   (`constant@5.00`); [`Profile`]: which benchmarks a run is made of, and
//!   the max-throughput search's [`SearchConfig`] and [`client_ceiling`].
//! - [`Constraints`] (with [`SaturationConfig`]): when a benchmark stops;
//!   [`Stop`] / [`StopKind`]: why it stopped, with GuideLLM's keys;
//!   [`ErrorWindow`]: where the error-rate window stood.
//! - [`TransientPhase`] / [`PhaseMode`]: warmup and cooldown settings;
//!   [`RunPlan`]: all of what a run was asked to do (profile, constraints,
//!   concurrency cap, seed, warmup, cooldown, rampup), planned once and
//!   shared by the flows, the engine and the report.
//! - [`Verdict`] / [`Outcome`] / [`Slo`]: what a judged rate-based benchmark
//!   says, and [`best_rate`] of a search.
//! - [`RequestRecord`] and its parts ([`RequestTimings`], [`UsageMetrics`],
//!   [`RequestError`] with its [`ErrorKind`]): the plain record the client
//!   fills for each request; its serde form is the journal's line.
//!   [`CompactRecord`]: its numbers alone (136 bytes), what a long run
//!   keeps in memory. [`Measured`]: what statistics read of either, with the
//!   per-request metric formulas (TTFT, ITL, TPOT, latency) defined once.
//! - [`BenchmarkRun`]: a finished benchmark (its strategy, records, how it
//!   ended, its measured window and its verdict), as the engine assembled it,
//!   with the [`ServerScrape`]s of the server's `/metrics` taken meanwhile.
//!
//! # What it does not own
//! No I/O, no HTTP, no randomness beyond request ids, no scheduling, no
//! statistics, no file formats: arrival schedules, evaluating constraints,
//! judging and assembling runs belong to llmload-engine; statistics to
//! llmload-metrics; report formats to llmload-report. It depends on nothing
//! that pulls hyper, rustls or tokio's networking, so a crate that only
//! reads results can depend on it alone.
//! Except for the request record, the serde derives are for in-memory use;
//! no file format is defined by them.

mod constraints;
mod phase;
mod plan;
mod profile;
mod record;
mod run;
mod server;
mod strategy;
mod verdict;

pub use constraints::{
    Constraints, ErrorWindow, SaturationConfig, Stop, StopKind, ERROR_MIN_PROCESSED, ERROR_WINDOW,
};
pub use phase::{PhaseMode, ResolvedPhase, TransientPhase};
pub use plan::{RunPlan, Shard};
pub use profile::{client_ceiling, Profile, SearchConfig, SWEEP_MAX_CONCURRENCY};
pub use record::{
    CompactRecord, ErrorInterner, ErrorKind, Measured, RequestError, RequestRecord, RequestStatus,
    RequestTimings, RequestType, Timing, Turn, UsageMetrics,
};
pub use run::{keep_all, BenchmarkRun, Details, HostLoad, RecordReader, RecordStore};
pub use server::ServerScrape;
pub use strategy::Strategy;
pub use verdict::{best_rate, Outcome, Slo, Verdict, MAX_FAILED, MAX_SEND_LAG_S, MIN_REQUESTS};

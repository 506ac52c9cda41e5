//! Driving a benchmark run: which requests to send, when, and when to stop.
//!
//! # What this crate owns
//! - Playing a [`Profile`] as a sequence of [`Strategy`]s
//!   ([`next_benchmark`]: sweep and the max-throughput search adapt to the
//!   benchmarks before); open-loop strategies follow an [`Arrivals`]
//!   schedule of intended send times computed from the benchmark start.
//! - Evaluating [`Constraints`] (max seconds/requests/errors, sliding and
//!   global error rates, over-saturation) as requests finish.
//! - [`judge`]: the verdict on a rate-based benchmark.
//! - [`run`]: one executor for every combination. It prepares request
//!   bodies ahead of the schedule, sends each request at its intended
//!   instant (or as closed-loop streams allow), records the intended time
//!   with every request, collects records, applies constraints, publishes
//!   [`Progress`], tells a [`RunObserver`] (the journal) of each finished
//!   request, and handles interruption.
//! - Assembling each finished [`BenchmarkRun`] (its measured window and its
//!   verdict), and [`rebuild`]: a benchmark reassembled from its records
//!   alone (a crash journal, or merged shards).
//!
//! # What it does not own
//! The vocabulary ([`Strategy`], [`Profile`], [`Constraints`], [`Stop`],
//! [`Verdict`], [`BenchmarkRun`], ...: llmload-core, re-exported here), HTTP
//! (llmload-client), prompts (llmload-data), statistics and reports.

mod constraints;
mod executor;
mod producer;
mod profile;
pub mod progress;
mod saturation;
mod scrape;
mod strategy;
mod turns;
mod verdict;
mod window;

use llmload_client::{CancellationToken, Client};
use llmload_clock::Timestamp;
use llmload_core::{CompactRecord, Measured};
use llmload_data::DataPlan;
use llmload_metrics::RequestRecord;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use executor::INTERRUPT_GRACE;
pub use llmload_core::{
    best_rate, client_ceiling, keep_all, BenchmarkRun, Constraints, Details, ErrorWindow, HostLoad,
    Outcome, PhaseMode, Profile, RecordReader, RecordStore, RunPlan, SaturationConfig,
    SearchConfig, ServerScrape, Shard, Slo, Stop, StopKind, Strategy, TransientPhase, Verdict,
    ERROR_MIN_PROCESSED, ERROR_WINDOW, MAX_FAILED, MAX_SEND_LAG_S, MIN_REQUESTS,
    SWEEP_MAX_CONCURRENCY,
};
pub use profile::{judge_all, next_benchmark, Next};
pub use progress::{Phase, Progress, ProgressSender, ServerNow};
pub use scrape::{probe_server_metrics, scrape_once, ServerMetricsConfig};
pub use strategy::Arrivals;
pub use verdict::{judge, seconds_to_judge, successful_rate};
pub use window::Window;

/// What goes into every request body besides the prompt.
#[derive(Clone, Debug, Default)]
pub struct BodyOptions {
    /// The model (resolved from `/v1/models` when not given).
    pub model: Option<String>,
    /// Output limit for requests without an output length.
    pub max_tokens: Option<u64>,
    /// Merged over the body's top-level keys (`--backend-args extra_body`).
    pub extra: Option<Map<String, Value>>,
    /// Keep each request's body in its record (for the report).
    pub keep_body: bool,
}

/// Everything a run needs besides its plan.
#[derive(Debug)]
pub struct RunContext {
    /// The client to the target.
    pub client: Client,
    /// Where requests come from.
    pub data: DataPlan,
    /// Body options.
    pub body: BodyOptions,
    /// Fired on Ctrl-C: stop sending, wait up to `interrupt_grace`, cancel the rest.
    pub interrupt: CancellationToken,
    /// How long an interrupted benchmark waits for requests in flight
    /// ([`INTERRUPT_GRACE`] by default).
    pub interrupt_grace: std::time::Duration,
    /// Fired on a second Ctrl-C: cancel requests in flight at once.
    pub abort: CancellationToken,
    /// Where progress snapshots go.
    pub progress: Option<ProgressSender>,
    /// Told of each benchmark's start and of every finished request as it
    /// arrives (a crash-safe journal, for instance).
    pub observer: Option<std::sync::Arc<dyn RunObserver>>,
    /// Scrape the server's `/metrics` during the run (each benchmark keeps
    /// the scrapes from just before its first request to just after its last).
    pub server_metrics: Option<ServerMetricsConfig>,
}

/// Watches a run as it goes. Called from the collector: keep it cheap
/// (hand the work to another thread).
pub trait RunObserver: Send + Sync + std::fmt::Debug {
    /// Benchmark `index` starts: its first request is due at `start`.
    fn benchmark_started(&self, index: usize, strategy: &Strategy, start: Timestamp);
    /// A request of benchmark `index` finished (or failed, or was cancelled after it started).
    fn request_finished(&self, index: usize, record: &RequestRecord);
    /// Benchmark `index` ended: the server's scrapes over it (none when not scraped).
    fn benchmark_scraped(&self, _index: usize, _scrapes: &[ServerScrape]) {}
    /// Where the records it was told of can be read back, when it writes
    /// them all out: the engine then keeps only their numbers in memory.
    fn store(&self) -> Option<Arc<dyn RecordStore>> {
        None
    }
}

/// Default cap on requests in flight for rate-based strategies (GuideLLM
/// 0.7+'s `GUIDELLM__MAX_CONCURRENCY`; 0.4 used 512).
pub const DEFAULT_MAX_CONCURRENCY: u32 = 10_240;

/// How busy the host's CPUs are now (`/proc/loadavg`; `None` where there is none).
pub fn host_load() -> Option<HostLoad> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let load_1m = text.split_whitespace().next()?.parse().ok()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some(HostLoad { load_1m, cores })
}

/// The first stop `constraints` would have made over `records` taken in
/// the order they finished, all together: what one process would have done
/// where shards each judged their own share (`llmload merge` says so).
pub fn first_stop<R: Measured>(constraints: &Constraints, records: &[R]) -> Option<Stop> {
    let mut order: Vec<&R> = records.iter().collect();
    order.sort_by_key(|r| r.finalized().or(r.request_end_time()));
    let mut state = constraints::ConstraintState::new(constraints.clone());
    order.into_iter().find_map(|r| {
        let at = r.finalized().or(r.request_end_time()).unwrap_or_default();
        state.on_finished(r, at)
    })
}

/// A benchmark reassembled from its records alone (a journal after a
/// crash, or shards merged): it started at the earliest intended or
/// actual send time and ended at the last report; no stop is known.
/// `records` are the records' numbers, `details` where the full records
/// are, by the same positions ([`llmload_core::keep_all`] of full records
/// in memory; a journal's store for a long run).
pub fn rebuild(
    index: usize,
    strategy: Strategy,
    plan: &RunPlan,
    records: Vec<CompactRecord>,
    details: Details,
) -> BenchmarkRun {
    let start = records
        .iter()
        .filter_map(|r| r.targeted_start().or(r.request_start()))
        .min()
        .unwrap_or_default();
    let end = records
        .iter()
        .filter_map(|r| r.finalized().or(r.request_end_time()))
        .max()
        .unwrap_or(start);
    let mut state = constraints::ConstraintState::new(plan.constraints.clone());
    for r in &records {
        let _ = state.on_finished(r, end);
    }
    let request_end = last_request_end(&records).unwrap_or(start);
    assemble(
        index,
        strategy,
        plan,
        (records, details),
        Ending {
            start,
            end,
            request_end,
            end_queuing: None,
            end_processing: None,
            never_started: 0,
            error_window: state.window_state(),
            host: None,
        },
    )
}

/// A finished benchmark: its records, how it ended, the measured window
/// those give (warmup and cooldown applied), and its verdict.
pub(crate) fn assemble(
    index: usize,
    strategy: Strategy,
    plan: &RunPlan,
    (records, details): (Vec<CompactRecord>, Details),
    e: Ending,
) -> BenchmarkRun {
    let w = window::measure(
        (e.start, e.request_end),
        &records,
        &plan.constraints,
        &plan.warmup,
        &plan.cooldown,
    );
    let mut run = BenchmarkRun {
        index,
        strategy,
        constraints: plan.constraints.clone(),
        created: records.len() as u64 + e.never_started,
        records,
        details,
        start: e.start,
        end: e.end,
        end_queuing: e.end_queuing,
        end_processing: e.end_processing,
        measure_start: w.start,
        measure_end: w.end,
        measure_by_start: w.by_start,
        request_end: e.request_end,
        never_started: e.never_started,
        error_window: e.error_window,
        rampup: plan.rampup,
        host: e.host,
        verdict: None,
        server: Vec::new(),
    };
    // Judged as the search judges its steps; other profiles with its defaults.
    let default = SearchConfig::default();
    let judging = match &plan.profile {
        Profile::Search(cfg) => cfg,
        _ => &default,
    };
    // A shard sends a share of the rate: the merged run is judged, not it.
    if plan.shard.is_none_or(|s| s.count <= 1) {
        run.verdict = judge(&run, judging.min_achieved, &judging.slo);
    }
    run
}

/// How a benchmark ended, besides its records.
pub(crate) struct Ending {
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) request_end: Timestamp,
    pub(crate) end_queuing: Option<Stop>,
    pub(crate) end_processing: Option<Stop>,
    pub(crate) never_started: u64,
    pub(crate) error_window: ErrorWindow,
    pub(crate) host: Option<HostLoad>,
}

/// When the last request that reported an end ended.
pub(crate) fn last_request_end<R: Measured>(records: &[R]) -> Option<Timestamp> {
    records.iter().filter_map(R::request_end_time).max()
}

/// A problem that stops a run before it measures anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError(pub String);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EngineError {}

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// The benchmarks that ran.
    pub benchmarks: Vec<BenchmarkRun>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Why the profile stopped early, if it did.
    pub aborted: Option<String>,
    /// The max-throughput search's judgement of each step.
    pub search: Option<Vec<Verdict>>,
}

/// Run every benchmark of `plan`. Stops early when interrupted; what ran is kept.
pub async fn run(plan: &RunPlan, ctx: &RunContext) -> Result<RunOutcome, EngineError> {
    let mut out = RunOutcome::default();
    let scraper = match &ctx.server_metrics {
        Some(cfg) => Some(scrape::Scraper::start(cfg).map_err(EngineError)?),
        None => None,
    };
    loop {
        let next = next_benchmark(
            &plan.profile,
            &out.benchmarks,
            plan.max_concurrency,
            plan.explicit_max_concurrency,
            plan.seed,
        );
        let (strategy, seconds) = match next {
            Next::Run(s) => (s, None),
            Next::RunFor(s, secs) => (s, Some(secs)),
            Next::Done => break,
            Next::Abort(why) => {
                out.aborted = Some(why);
                break;
            }
        };
        if ctx.interrupt.is_cancelled() {
            out.interrupted = true;
            break;
        }
        let index = out.benchmarks.len();
        // A step that needs longer than asked runs longer (never shorter).
        let longer = match (seconds, plan.constraints.max_seconds) {
            (Some(secs), Some(asked)) if secs > asked => {
                let mut p = plan.clone();
                p.constraints.max_seconds = Some(secs);
                Some(p)
            }
            _ => None,
        };
        let before = match &scraper {
            Some(s) => s.scrape_now().await,
            None => None,
        };
        let mut run = executor::run_benchmark(
            ctx,
            index,
            strategy,
            longer.as_ref().unwrap_or(plan),
            scraper.as_ref().map(|s| s.latest.clone()),
        )
        .await?;
        if let (Some(s), Some(from)) = (&scraper, before) {
            if let Some(to) = s.scrape_now().await {
                run.server = s.between(from, to);
                if let Some(o) = &ctx.observer {
                    o.benchmark_scraped(index, &run.server);
                }
            }
        }
        let interrupted = matches!(
            run.end_queuing,
            Some(Stop {
                kind: StopKind::Interrupted,
                ..
            })
        );
        out.benchmarks.push(run);
        if interrupted {
            out.interrupted = true;
            break;
        }
    }
    if let Profile::Search(cfg) = &plan.profile {
        out.search = Some(judge_all(&out.benchmarks, cfg));
    }
    Ok(out)
}

//! Live progress snapshots of the running benchmark.
//!
//! The collector publishes a snapshot a few times per second on a watch
//! channel; whoever renders (the CLI) reads the latest one at its own pace.
//! Nothing here runs per request.

use llmload_clock::{now, Timestamp};
use llmload_core::Strategy;
use llmload_metrics::{LiveStats, StatusCounts};
use tokio::sync::watch;

/// Where a benchmark is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Sending requests.
    Running,
    /// No longer sending; waiting for (or cancelling) requests in flight.
    Draining,
    /// Finished.
    Done,
}

/// One snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Benchmark index in the run (0-based).
    pub benchmark: usize,
    /// Strategy name (`constant@5.00`).
    pub strategy: String,
    /// Asked rate, for open-loop strategies.
    pub rate: Option<f64>,
    /// Phase.
    pub phase: Phase,
    /// Benchmark start.
    pub start: Timestamp,
    /// When `--max-seconds` expires.
    pub deadline: Option<Timestamp>,
    /// `--max-requests`, if set.
    pub max_requests: Option<u64>,
    /// When the snapshot was taken.
    pub at: Timestamp,
    /// Finished requests by status.
    pub counts: StatusCounts,
    /// Requests sent and not finished.
    pub in_flight: u64,
    /// Finished requests per second since the start.
    pub achieved_rate: f64,
    /// Output tokens per second since the start.
    pub output_tokens_per_second: f64,
    /// TTFT p50 / p99 in ms (completed requests).
    pub ttft_ms: Option<(f64, f64)>,
    /// ITL p50 / p99 in ms (completed requests).
    pub itl_ms: Option<(f64, f64)>,
    /// The server's latest scrape, when its metrics are scraped.
    pub server: Option<ServerNow>,
}

/// What the server's latest scrape said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerNow {
    /// Requests running.
    pub running: f64,
    /// Requests waiting.
    pub waiting: f64,
    /// KV cache use, 0-1 (`None` when the server does not say).
    pub kv_cache: Option<f64>,
}

fn p50_p99(h: &hdrhistogram::Histogram<u64>) -> Option<(f64, f64)> {
    (!h.is_empty()).then(|| {
        (
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
        )
    })
}

impl Progress {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn snapshot(
        benchmark: usize,
        strategy: &Strategy,
        start: Timestamp,
        deadline: Option<Timestamp>,
        max_requests: Option<u64>,
        phase: Phase,
        live: &LiveStats,
        created: u64,
    ) -> Progress {
        let at = now();
        let elapsed = at.secs_since(start).max(1e-9);
        Progress {
            benchmark,
            strategy: strategy.to_string(),
            rate: strategy.rate(),
            phase,
            start,
            deadline,
            max_requests,
            at,
            counts: live.counts,
            in_flight: created.saturating_sub(live.counts.total),
            achieved_rate: live.counts.total as f64 / elapsed,
            output_tokens_per_second: live.output_tokens as f64 / elapsed,
            ttft_ms: p50_p99(&live.latency.ttft_us),
            itl_ms: p50_p99(&live.latency.itl_us),
            server: None,
        }
    }
}

/// The sending side, held by the engine.
#[derive(Clone, Debug)]
pub struct ProgressSender(watch::Sender<Option<Progress>>);

impl ProgressSender {
    pub(crate) fn publish(&self, p: Progress) {
        self.0.send_replace(Some(p));
    }
}

/// A progress channel: give the sender to [`crate::RunContext`], read the receiver.
pub fn channel() -> (ProgressSender, watch::Receiver<Option<Progress>>) {
    let (tx, rx) = watch::channel(None);
    (ProgressSender(tx), rx)
}

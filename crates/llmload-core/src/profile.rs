//! Profiles: which benchmarks a run is made of (the engine chooses them one
//! at a time from the results of the ones before: sweep and search adapt;
//! the others are lists), and what the max-throughput search concluded.

use crate::verdict::{best_rate, Outcome, Slo, Verdict};

/// GuideLLM 0.4's concurrency cap for sweep stages (its `max_concurrency` default).
pub const SWEEP_MAX_CONCURRENCY: u32 = 512;

/// What a run is made of.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// One synchronous benchmark.
    Synchronous,
    /// One concurrent benchmark per stream count.
    Concurrent(Vec<u32>),
    /// One throughput benchmark.
    Throughput,
    /// One constant-rate benchmark per rate.
    Constant(Vec<f64>),
    /// One Poisson benchmark per rate.
    Poisson(Vec<f64>),
    /// GuideLLM's sweep: synchronous, throughput, then `size - 2` constant
    /// rates evenly spaced between the two measured rates (the last one at
    /// the throughput rate).
    Sweep {
        /// Benchmarks in all (at least 2).
        size: u32,
    },
    /// llmload's max-throughput search: constant rates rising until the
    /// server stops keeping up, then bisection.
    Search(SearchConfig),
}

impl Profile {
    /// GuideLLM's profile type name (the search reports as constant rates).
    pub fn type_name(&self) -> &'static str {
        match self {
            Profile::Synchronous => "synchronous",
            Profile::Concurrent(_) => "concurrent",
            Profile::Throughput => "throughput",
            Profile::Constant(_) | Profile::Search(_) => "constant",
            Profile::Poisson(_) => "poisson",
            Profile::Sweep { .. } => "sweep",
        }
    }
}

/// How the max-throughput search proceeds and judges a rate.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchConfig {
    /// First rate tried (req/s).
    pub start: f64,
    /// Factor between rates while every rate is sustained.
    pub growth: f64,
    /// Stop bisecting when the bracket is this narrow (relative).
    pub precision: f64,
    /// Benchmarks at most.
    pub max_steps: u32,
    /// A rate is sustained when the server started serving at least this
    /// fraction of the requests due.
    pub min_achieved: f64,
    /// Latency limits (p99) a sustained rate must also meet.
    pub slo: Slo,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            start: 1.0,
            growth: 2.0,
            precision: 0.05,
            max_steps: 12,
            min_achieved: 0.95,
            slo: Slo::default(),
        }
    }
}

/// The lowest rate llmload could not measure between the highest sustained
/// rate and the lowest saturated one: the search's answer is then a lower
/// bound set by the client (its host), not the server's maximum.
pub fn client_ceiling(verdicts: &[Verdict]) -> Option<f64> {
    let best = best_rate(verdicts).unwrap_or(0.0);
    let saturated = verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Saturated)
        .map(|v| v.rate)
        .fold(f64::INFINITY, f64::min);
    verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Invalid && v.rate > best && v.rate < saturated)
        .map(|v| v.rate)
        .reduce(f64::min)
}

//! What a run was asked to do, as one plain value.

use crate::{Constraints, Profile, TransientPhase};

/// What to run: the benchmarks, when each stops, how many requests may be
/// in flight, the seed and the warmup, cooldown and rampup. Planned once
/// from the options; the engine runs it and the report records it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunPlan {
    /// The benchmarks.
    pub profile: Profile,
    /// Stop conditions of each benchmark.
    pub constraints: Constraints,
    /// Requests in flight at most (throughput, constant, poisson).
    pub max_concurrency: u32,
    /// Whether the user set `max_concurrency` (sweep uses GuideLLM's 512 otherwise).
    pub explicit_max_concurrency: bool,
    /// Seed for Poisson gaps.
    pub seed: u64,
    /// Warmup: requests starting in it are sent but not measured.
    pub warmup: TransientPhase,
    /// Cooldown: likewise at the end.
    pub cooldown: TransientPhase,
    /// Rampup: constant rates climb linearly to the asked rate over it;
    /// concurrent and throughput streams start spread evenly over it.
    pub rampup: std::time::Duration,
}

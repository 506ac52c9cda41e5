//! What a run was asked to do, as one plain value.

use llmload_clock::Timestamp;

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
    /// This process's share of a run split across processes (`--shard`).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// When the first benchmark starts (a common instant for shards);
    /// `None`: as soon as its first requests are ready.
    #[serde(default)]
    pub start_at: Option<Timestamp>,
}

/// One of `count` processes running one schedule: of the run's requests
/// (by their index in the one-process schedule) it sends those with
/// `i mod count == index`, at the times the one process would; of its
/// streams, likewise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    /// Processes in all (>= 1).
    pub count: u32,
}

impl Shard {
    /// Whether request `i` of the schedule is this shard's.
    pub fn owns(&self, i: u64) -> bool {
        i % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// This shard's share of the first `n` (requests or streams): how many
    /// of `0..n` it owns.
    pub fn share(&self, n: u64) -> u64 {
        let (k, c) = (u64::from(self.index), u64::from(self.count.max(1)));
        if n <= k {
            0
        } else {
            (n - k - 1) / c + 1
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_whole_and_each_index_has_one_owner() {
        for count in 1..=7u32 {
            for n in 0..50u64 {
                let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
                assert_eq!(shards.iter().map(|s| s.share(n)).sum::<u64>(), n);
                for s in &shards {
                    assert_eq!(s.share(n), (0..n).filter(|&i| s.owns(i)).count() as u64);
                }
                for i in 0..n {
                    assert_eq!(shards.iter().filter(|s| s.owns(i)).count(), 1);
                }
            }
        }
    }
}

//! Scheduling strategies: how one benchmark issues requests.
//!
//! A strategy is either closed-loop (a fixed number of streams, each sending
//! its next request when the previous one ends) or open-loop (requests sent
//! at a rate, on a schedule computed from the benchmark start; the engine
//! owns the schedule). Stop conditions are separate ([`crate::Constraints`]).

use std::fmt;

/// How one benchmark issues requests.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One request at a time.
    Synchronous,
    /// `streams` requests in flight, each sent when another ends.
    Concurrent {
        /// Parallel streams.
        streams: u32,
    },
    /// As many as `max_concurrency` allows, each sent as soon as a slot frees.
    Throughput {
        /// Requests in flight at most.
        max_concurrency: u32,
    },
    /// `rate` requests per second, evenly spaced.
    Constant {
        /// Requests per second.
        rate: f64,
        /// Requests in flight at most; late ones wait in order.
        max_concurrency: u32,
    },
    /// `rate` requests per second on average, exponential gaps (seeded).
    Poisson {
        /// Mean requests per second.
        rate: f64,
        /// Requests in flight at most.
        max_concurrency: u32,
        /// Seed of the gaps.
        seed: u64,
    },
}

impl Strategy {
    /// GuideLLM's strategy type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Strategy::Synchronous => "synchronous",
            Strategy::Concurrent { .. } => "concurrent",
            Strategy::Throughput { .. } => "throughput",
            Strategy::Constant { .. } => "constant",
            Strategy::Poisson { .. } => "poisson",
        }
    }

    /// Requests in flight at most.
    pub fn max_concurrency(&self) -> u32 {
        match *self {
            Strategy::Synchronous => 1,
            Strategy::Concurrent { streams } => streams,
            Strategy::Throughput { max_concurrency }
            | Strategy::Constant {
                max_concurrency, ..
            }
            | Strategy::Poisson {
                max_concurrency, ..
            } => max_concurrency,
        }
    }

    /// The asked rate of open-loop strategies.
    pub fn rate(&self) -> Option<f64> {
        match *self {
            Strategy::Constant { rate, .. } | Strategy::Poisson { rate, .. } => Some(rate),
            _ => None,
        }
    }

    /// Whether the strategy follows an arrival schedule (open loop).
    pub fn is_open_loop(&self) -> bool {
        self.rate().is_some()
    }
}

impl fmt::Display for Strategy {
    /// GuideLLM's names: `synchronous`, `concurrent@4`, `throughput@512`, `constant@5.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Synchronous => write!(f, "synchronous"),
            Strategy::Concurrent { streams } => write!(f, "concurrent@{streams}"),
            Strategy::Throughput { max_concurrency } => write!(f, "throughput@{max_concurrency}"),
            Strategy::Constant { rate, .. } => write!(f, "constant@{rate:.2}"),
            Strategy::Poisson { rate, .. } => write!(f, "poisson@{rate:.2}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_guidellm() {
        assert_eq!(
            Strategy::Constant {
                rate: 5.0,
                max_concurrency: 1
            }
            .to_string(),
            "constant@5.00"
        );
        assert_eq!(
            Strategy::Concurrent { streams: 4 }.to_string(),
            "concurrent@4"
        );
        assert_eq!(
            Strategy::Throughput {
                max_concurrency: 512
            }
            .to_string(),
            "throughput@512"
        );
        assert_eq!(
            Strategy::Poisson {
                rate: 2.5,
                max_concurrency: 1,
                seed: 3
            }
            .to_string(),
            "poisson@2.50"
        );
        assert_eq!(Strategy::Synchronous.to_string(), "synchronous");
    }
}

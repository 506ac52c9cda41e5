//! Scheduling strategies (how one benchmark issues requests) and profiles
//! (which benchmarks a run is made of).
//!
//! A strategy is either closed-loop (a fixed number of streams, each sending
//! its next request when the previous one ends) or open-loop (an arrival
//! schedule of intended send times computed from the benchmark start, never
//! from "now"). Stop conditions are separate ([`crate::Constraints`]).

use std::fmt;
use std::time::Duration;

use llmload_clock::Timestamp;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

/// How one benchmark issues requests.
#[derive(Clone, Debug, PartialEq)]
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

    /// The arrival schedule of an open-loop strategy starting at `start`.
    pub fn arrivals(&self, start: Timestamp) -> Option<Arrivals> {
        match *self {
            Strategy::Constant { rate, .. } => Some(Arrivals::Constant {
                start,
                rate,
                index: 0,
            }),
            Strategy::Poisson { rate, seed, .. } => Some(Arrivals::Poisson {
                next: start,
                exp: rand_distr::Exp::new(rate).expect("rate > 0"),
                rng: Box::new(ChaCha8Rng::seed_from_u64(seed)),
            }),
            _ => None,
        }
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

/// Intended send times of an open-loop benchmark.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// `start + i / rate` for i = 0, 1, 2, ...
    Constant {
        /// Benchmark start.
        start: Timestamp,
        /// Requests per second.
        rate: f64,
        /// Next index.
        index: u64,
    },
    /// `start + sum of i seeded exponential gaps`.
    Poisson {
        /// Next intended time.
        next: Timestamp,
        /// Gap distribution.
        exp: rand_distr::Exp<f64>,
        /// Seeded generator.
        rng: Box<ChaCha8Rng>,
    },
}

impl Iterator for Arrivals {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        match self {
            Arrivals::Constant { start, rate, index } => {
                // Computed from the start each time: no accumulated rounding.
                let at = *start + Duration::from_secs_f64(*index as f64 / *rate);
                *index += 1;
                Some(at)
            }
            Arrivals::Poisson { next, exp, rng } => {
                let at = *next;
                *next = at + Duration::from_secs_f64(exp.sample(rng.as_mut()));
                Some(at)
            }
        }
    }
}

/// What a run is made of: GuideLLM's profile types.
#[derive(Clone, Debug, PartialEq)]
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
}

impl Profile {
    /// GuideLLM's profile type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Profile::Synchronous => "synchronous",
            Profile::Concurrent(_) => "concurrent",
            Profile::Throughput => "throughput",
            Profile::Constant(_) => "constant",
            Profile::Poisson(_) => "poisson",
        }
    }

    /// The strategy of benchmark `index`, or `None` when the profile is done.
    /// `max_concurrency` caps open-loop and throughput strategies.
    pub fn strategy(&self, index: usize, max_concurrency: u32, seed: u64) -> Option<Strategy> {
        match self {
            Profile::Synchronous => (index == 0).then_some(Strategy::Synchronous),
            Profile::Concurrent(streams) => streams
                .get(index)
                .map(|&streams| Strategy::Concurrent { streams }),
            Profile::Throughput => (index == 0).then_some(Strategy::Throughput { max_concurrency }),
            Profile::Constant(rates) => rates.get(index).map(|&rate| Strategy::Constant {
                rate,
                max_concurrency,
            }),
            Profile::Poisson(rates) => rates.get(index).map(|&rate| Strategy::Poisson {
                rate,
                max_concurrency,
                seed: seed.wrapping_add(index as u64),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_arrivals_are_computed_from_the_start() {
        let start = Timestamp::from_nanos(1_000_000_000);
        let s = Strategy::Constant {
            rate: 3.0,
            max_concurrency: 10,
        };
        let times: Vec<_> = s.arrivals(start).unwrap().take(301).collect();
        assert_eq!(times[0], start);
        assert_eq!(times[300], start + Duration::from_secs(100));
        // 1/3 s gaps, rounded to the nanosecond, never drifting.
        assert!(times
            .windows(2)
            .all(|w| (w[1].as_nanos() - w[0].as_nanos()).abs_diff(333_333_333) <= 1));
    }

    #[test]
    fn poisson_is_seeded() {
        let start = Timestamp::from_nanos(0);
        let s = |seed| Strategy::Poisson {
            rate: 100.0,
            max_concurrency: 1,
            seed,
        };
        let a: Vec<_> = s(1).arrivals(start).unwrap().take(100).collect();
        let b: Vec<_> = s(1).arrivals(start).unwrap().take(100).collect();
        let c: Vec<_> = s(2).arrivals(start).unwrap().take(100).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

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
        let p = Profile::Constant(vec![1.0, 2.0]);
        assert_eq!(
            p.strategy(1, 8, 0),
            Some(Strategy::Constant {
                rate: 2.0,
                max_concurrency: 8
            })
        );
        assert_eq!(p.strategy(2, 8, 0), None);
    }
}

//! Arrival schedules: when an open-loop strategy sends each request.
//!
//! A [`Strategy`] (llmload-core) is either closed-loop (a fixed number of
//! streams, each sending its next request when the previous one ends) or
//! open-loop: an arrival schedule of intended send times computed from the
//! benchmark start, never from "now". Stop conditions are separate
//! ([`crate::Constraints`]).

use std::time::Duration;

use llmload_clock::Timestamp;
use llmload_core::Strategy;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

/// Intended send times of an open-loop benchmark.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// `start + i / rate` for i = 0, 1, 2, ...; with a rampup of R seconds
    /// the rate first climbs linearly from 0 to `rate` over R.
    Constant {
        /// Benchmark start.
        start: Timestamp,
        /// Requests per second.
        rate: f64,
        /// Rampup in seconds (0: none).
        rampup: f64,
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

impl Arrivals {
    /// The arrival schedule of an open-loop strategy starting at `start`
    /// (`None` for closed-loop ones).
    pub fn for_strategy(strategy: &Strategy, start: Timestamp) -> Option<Arrivals> {
        match *strategy {
            Strategy::Constant { rate, .. } => Some(Arrivals::Constant {
                start,
                rate,
                rampup: 0.0,
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

    /// Ramp the rate up linearly over `rampup` (constant arrivals only;
    /// GuideLLM's `rampup_duration`).
    pub fn with_rampup(mut self, rampup: Duration) -> Self {
        if let Arrivals::Constant { rampup: r, .. } = &mut self {
            *r = rampup.as_secs_f64();
        }
        self
    }
}

/// Seconds after the start of request `i` (0-based) at `rate`, after a
/// linear rampup of `rampup` seconds: while the rate climbs as `rate·t/R`,
/// `rate·t²/(2R)` requests have been sent by `t`, so request `i` goes at
/// `sqrt(2iR/rate)`; the `rate·R/2` requests of the ramp end at `R`, and
/// the rest follow at `1/rate` spacing (GuideLLM's formula).
fn constant_offset(i: u64, rate: f64, rampup: f64) -> f64 {
    let i = i as f64;
    let ramp_requests = rate * rampup / 2.0;
    if rampup > 0.0 && i < ramp_requests {
        (2.0 * i * rampup / rate).sqrt()
    } else {
        rampup.max(0.0) + (i - ramp_requests.max(0.0)) / rate
    }
}

impl Iterator for Arrivals {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        match self {
            Arrivals::Constant {
                start,
                rate,
                rampup,
                index,
            } => {
                // Computed from the start each time: no accumulated rounding.
                let at = *start + Duration::from_secs_f64(constant_offset(*index, *rate, *rampup));
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
        let times: Vec<_> = Arrivals::for_strategy(&s, start)
            .unwrap()
            .take(301)
            .collect();
        assert_eq!(times[0], start);
        assert_eq!(times[300], start + Duration::from_secs(100));
        // 1/3 s gaps, rounded to the nanosecond, never drifting.
        assert!(times
            .windows(2)
            .all(|w| (w[1].as_nanos() - w[0].as_nanos()).abs_diff(333_333_333) <= 1));
    }

    #[test]
    fn poisson_gaps_fit_an_exponential() {
        // Kolmogorov-Smirnov: the empirical CDF of 20,000 seeded gaps stays
        // within the 1% critical distance (1.63 / sqrt(n)) of 1 - exp(-rate x).
        let rate = 250.0;
        let s = Strategy::Poisson {
            rate,
            max_concurrency: 1,
            seed: 42,
        };
        let times: Vec<_> = Arrivals::for_strategy(&s, Timestamp::from_nanos(1_000_000_000))
            .unwrap()
            .take(20_001)
            .collect();
        let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1].secs_since(w[0])).collect();
        gaps.sort_by(f64::total_cmp);
        let n = gaps.len() as f64;
        let d = gaps
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                let cdf = 1.0 - (-rate * g).exp();
                (cdf - i as f64 / n)
                    .abs()
                    .max(((i + 1) as f64 / n - cdf).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.63 / n.sqrt(), "KS distance {d}");
        let mean = gaps.iter().sum::<f64>() / n;
        assert!((mean * rate - 1.0).abs() < 0.02, "mean gap {mean}");
        // And constant gaps do not pass for exponential ones.
        let c = Strategy::Constant {
            rate,
            max_concurrency: 1,
        };
        let ct: Vec<_> = Arrivals::for_strategy(&c, Timestamp::from_nanos(0))
            .unwrap()
            .take(1001)
            .collect();
        let cgaps: Vec<f64> = ct.windows(2).map(|w| w[1].secs_since(w[0])).collect();
        let cdf = 1.0 - (-rate * cgaps[0]).exp();
        assert!(
            cdf > 0.6,
            "a constant gap sits at one point of the exponential CDF"
        );
    }

    #[test]
    fn poisson_is_seeded() {
        let start = Timestamp::from_nanos(0);
        let s = |seed| Strategy::Poisson {
            rate: 100.0,
            max_concurrency: 1,
            seed,
        };
        let a: Vec<_> = Arrivals::for_strategy(&s(1), start)
            .unwrap()
            .take(100)
            .collect();
        let b: Vec<_> = Arrivals::for_strategy(&s(1), start)
            .unwrap()
            .take(100)
            .collect();
        let c: Vec<_> = Arrivals::for_strategy(&s(2), start)
            .unwrap()
            .take(100)
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn rampup_climbs_linearly_then_holds_the_rate() {
        let start = Timestamp::from_nanos(1_000_000_000);
        let s = Strategy::Constant {
            rate: 100.0,
            max_concurrency: 10,
        };
        let times: Vec<f64> = Arrivals::for_strategy(&s, start)
            .unwrap()
            .with_rampup(Duration::from_secs(2))
            .take(400)
            .map(|t| t.secs_since(start))
            .collect();
        assert_eq!(times[0], 0.0);
        // 100 req/s reached after 2 s: the ramp holds 100 requests.
        assert!((times[100] - 2.0).abs() < 1e-9, "{}", times[100]);
        assert!((times[99] - (2.0 * 99.0 * 2.0 / 100.0f64).sqrt()).abs() < 1e-9);
        // Gaps shrink during the ramp, then stay at 1/rate.
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[..99].windows(2).all(|g| g[1] < g[0]));
        assert!(gaps[100..].iter().all(|g| (g - 0.01).abs() < 1e-9));
        // Requests in the first second: rate·t²/(2R) = 25.
        assert_eq!(times.iter().filter(|&&t| t < 1.0).count(), 25);
    }
}

//! Failures the mock injects: each a probability per completion request
//! (drawn from the request's seeded generator, so a run is reproducible) or
//! a count. Faults drawn by probability exclude each other: one request gets
//! at most one.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Size of the one oversized chunk of [`Fault::HugeChunk`].
pub const HUGE_CHUNK_BYTES: usize = 10 << 20;

/// Failures to inject, each off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// Probability that a completion request answers HTTP 500.
    pub fail_rate: f64,
    /// Completion requests after this many answer HTTP 500 (GuideLLM's `--fail-after-requests`).
    pub fail_after_requests: Option<u64>,
    /// Probability of HTTP 429 with `Retry-After: 1`.
    pub rate_limit_rate: f64,
    /// Probability of HTTP 400 with vLLM's body for a prompt over the context length.
    pub bad_request_rate: f64,
    /// Probability that a stream is cut (connection closed) halfway through its tokens.
    pub reset_rate: f64,
    /// Probability that a stream sends one chunk that is not JSON halfway through.
    pub malformed_rate: f64,
    /// Probability that a stream sends its headers, then nothing.
    pub stall_rate: f64,
    /// Probability that a stream's first token is a 10 MiB chunk.
    pub huge_chunk_rate: f64,
    /// Delay before the response headers, for `slow_headers_rate` of the requests.
    pub slow_headers: Option<Duration>,
    /// Probability that a request gets the `slow_headers` delay.
    pub slow_headers_rate: f64,
    /// After this many completion requests the mock closes its port and every
    /// connection: the next request is cut, later ones are refused.
    pub close_after_requests: Option<u64>,
    /// Completion requests served at once; the others wait (GuideLLM's `--max-concurrent-requests`).
    pub max_concurrent_requests: Option<usize>,
}

/// The fault one request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500.
    ServerError,
    /// HTTP 429 with `Retry-After`.
    RateLimited,
    /// HTTP 400, vLLM's body.
    BadRequest,
    /// The stream is cut halfway.
    Reset,
    /// One chunk is not JSON.
    Malformed,
    /// Headers, then silence.
    Stall,
    /// The first token is a 10 MiB chunk.
    HugeChunk,
    /// The port closed at this request.
    Closed,
}

impl Faults {
    /// The probabilities, in the order they partition `[0, 1)`.
    fn table(&self) -> [(f64, Fault); 7] {
        [
            (self.fail_rate, Fault::ServerError),
            (self.rate_limit_rate, Fault::RateLimited),
            (self.bad_request_rate, Fault::BadRequest),
            (self.reset_rate, Fault::Reset),
            (self.malformed_rate, Fault::Malformed),
            (self.stall_rate, Fault::Stall),
            (self.huge_chunk_rate, Fault::HugeChunk),
        ]
    }

    /// `Err(flag name)` unless every probability is in `[0, 1]` and they sum to at most 1.
    pub fn check(&self) -> Result<(), &'static str> {
        let names = [
            "--fail-rate",
            "--rate-limit-rate",
            "--bad-request-rate",
            "--reset-rate",
            "--malformed-rate",
            "--stall-rate",
            "--huge-chunk-rate",
        ];
        for ((p, _), name) in self.table().iter().zip(names) {
            if !(0.0..=1.0).contains(p) {
                return Err(name);
            }
        }
        if !(0.0..=1.0).contains(&self.slow_headers_rate) {
            return Err("--slow-headers-rate");
        }
        if self.table().iter().map(|t| t.0).sum::<f64>() > 1.0 + 1e-9 {
            return Err("the fault probabilities (their sum exceeds 1)");
        }
        Ok(())
    }

    /// The fault of request `serial` (1-based), drawing from its generator.
    pub(crate) fn draw(&self, serial: u64, rng: &mut ChaCha8Rng) -> Option<Fault> {
        if self.close_after_requests.is_some_and(|n| serial == n + 1) {
            return Some(Fault::Closed);
        }
        if self.fail_after_requests.is_some_and(|n| serial > n) {
            return Some(Fault::ServerError);
        }
        let table = self.table();
        if table.iter().all(|t| t.0 <= 0.0) {
            return None;
        }
        let u: f64 = rng.random();
        let mut edge = 0.0;
        for (p, fault) in table {
            edge += p;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }

    /// Whether this request's headers are delayed, and by how much.
    pub(crate) fn header_delay(&self, rng: &mut ChaCha8Rng) -> Option<Duration> {
        let d = self.slow_headers?;
        (self.slow_headers_rate >= 1.0 || rng.random_bool(self.slow_headers_rate.max(0.0)))
            .then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn probabilities_partition_and_are_reproducible() {
        let f = Faults {
            fail_rate: 0.2,
            reset_rate: 0.3,
            ..Default::default()
        };
        let draw = |seed| {
            (1..=10_000u64)
                .map(|s| f.draw(s, &mut ChaCha8Rng::seed_from_u64(seed ^ s)))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        let n = |k| a.iter().filter(|x| **x == k).count() as f64 / 1e4;
        assert!((n(Some(Fault::ServerError)) - 0.2).abs() < 0.02);
        assert!((n(Some(Fault::Reset)) - 0.3).abs() < 0.02);
        assert!((n(None) - 0.5).abs() < 0.02);
    }

    #[test]
    fn counts_and_bad_probabilities() {
        let f = Faults {
            close_after_requests: Some(3),
            fail_after_requests: Some(5),
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let got: Vec<_> = (1..=7).map(|s| f.draw(s, &mut rng)).collect();
        assert_eq!(got[..3], [None, None, None]);
        assert_eq!(got[3], Some(Fault::Closed));
        assert_eq!(got[5..], [Some(Fault::ServerError); 2]);
        let bad = Faults {
            stall_rate: 1.5,
            ..Default::default()
        };
        assert_eq!(bad.check(), Err("--stall-rate"));
        let sum = Faults {
            stall_rate: 0.6,
            reset_rate: 0.6,
            ..Default::default()
        };
        assert!(sum.check().unwrap_err().contains("sum"));
    }
}

//! The headline figures of a benchmark, each with one definition that the
//! console tables, the HTML report, `compare` and `check monotonic` share
//! (docs/metrics.md, "Headline figures").

use crate::model::Benchmark;

/// Output tokens per second: the output tokens of the benchmark's
/// completed requests over its measurement window
/// (`metrics.output_tokens_per_second.successful.mean`). Tokens of
/// requests that errored or were cut off at the end do not count.
pub fn output_tokens_per_second(b: &Benchmark) -> f64 {
    b.metrics.output_tokens_per_second.successful.mean
}

/// Prompt plus output tokens per second of the completed requests
/// (`metrics.tokens_per_second.successful.mean`).
pub fn total_tokens_per_second(b: &Benchmark) -> f64 {
    b.metrics.tokens_per_second.successful.mean
}

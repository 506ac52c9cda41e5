//! Mergeable latency histograms (HDR, microsecond resolution).
//!
//! Each worker (or shard of a split run) records into its own
//! [`LatencyHistograms`]; adding two of them gives exactly the histogram of
//! the combined requests, so live progress snapshots and multi-machine runs
//! merge without approximation beyond HDR's 3 significant digits. The
//! GuideLLM-compatible report itself is computed from the records
//! ([`crate::BenchmarkMetrics`]); these serve live views and shard merges.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use hdrhistogram::Histogram;

use crate::benchmark::StatusCounts;
use crate::distribution::Distribution;
use llmload_core::{ErrorKind, Measured, RequestRecord, RequestStatus};

/// Histograms of the per-request latencies, in microseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistograms {
    /// Time to first token.
    pub ttft_us: Histogram<u64>,
    /// Inter-token latency (one value per request).
    pub itl_us: Histogram<u64>,
    /// Time per output token (TTFT included).
    pub tpot_us: Histogram<u64>,
    /// End-to-end latency.
    pub e2e_us: Histogram<u64>,
    /// Scheduling lag: actual minus intended send time.
    pub lag_us: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

fn us(ms: f64) -> u64 {
    (ms * 1000.0).round().max(0.0) as u64
}

impl Default for LatencyHistograms {
    fn default() -> Self {
        LatencyHistograms {
            ttft_us: new_hist(),
            itl_us: new_hist(),
            tpot_us: new_hist(),
            e2e_us: new_hist(),
            lag_us: new_hist(),
        }
    }
}

impl LatencyHistograms {
    /// Record one request's latencies (those it has).
    pub fn record(&mut self, r: &RequestRecord) {
        let put = |h: &mut Histogram<u64>, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                // Auto-resizing: never fails for u64 values.
                let _ = h.record(us(v));
            }
        };
        put(&mut self.ttft_us, r.time_to_first_token_ms());
        put(&mut self.itl_us, r.inter_token_latency_ms());
        put(&mut self.tpot_us, r.time_per_output_token_ms());
        put(&mut self.e2e_us, r.request_latency().map(|s| s * 1000.0));
        put(&mut self.lag_us, r.dispatch_delay().map(|s| s * 1000.0));
    }
}

/// Summarize a microsecond histogram as GuideLLM's distribution, in units
/// of `unit_us` microseconds (1000.0 for ms, 1e6 for seconds).
///
/// Each bucket contributes its representative value weighted by its count,
/// so the summary equals the exact one up to HDR's 3 significant digits.
/// Used where only merged histograms exist (e.g. shards without records).
pub fn summarize(h: &Histogram<u64>, unit_us: f64) -> Distribution {
    let weighted = h
        .iter_recorded()
        .map(|v| {
            (
                h.median_equivalent(v.value_iterated_to()) as f64 / unit_us,
                v.count_at_value() as f64,
            )
        })
        .collect();
    Distribution::from_weighted(weighted, Some(h.len()))
}

impl AddAssign<&LatencyHistograms> for LatencyHistograms {
    fn add_assign(&mut self, o: &LatencyHistograms) {
        // Auto-resizing histograms of equal precision always add.
        let _ = self.ttft_us.add(&o.ttft_us);
        let _ = self.itl_us.add(&o.itl_us);
        let _ = self.tpot_us.add(&o.tpot_us);
        let _ = self.e2e_us.add(&o.e2e_us);
        let _ = self.lag_us.add(&o.lag_us);
    }
}

/// Counts and histograms of a set of finished requests; mergeable.
#[derive(Clone, Debug, Default)]
pub struct LiveStats {
    /// Finished requests by status.
    pub counts: StatusCounts,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Output tokens of finished requests.
    pub output_tokens: u64,
    /// Latency histograms of completed requests.
    pub latency: LatencyHistograms,
}

impl LiveStats {
    /// Add one finished request.
    pub fn record(&mut self, r: &RequestRecord) {
        match r.status {
            RequestStatus::Completed => {
                self.counts.successful += 1;
                self.latency.record(r);
            }
            RequestStatus::Errored => self.counts.errored += 1,
            RequestStatus::Cancelled => self.counts.incomplete += 1,
        }
        self.counts.total += 1;
        if let Some(e) = &r.error {
            *self.errors.entry(e.kind).or_insert(0) += 1;
        }
        self.output_tokens += r.output_tokens().unwrap_or(0);
    }
}

impl AddAssign<&LiveStats> for LiveStats {
    fn add_assign(&mut self, o: &LiveStats) {
        self.counts.successful += o.counts.successful;
        self.counts.errored += o.counts.errored;
        self.counts.incomplete += o.counts.incomplete;
        self.counts.total += o.counts.total;
        for (k, v) in &o.errors {
            *self.errors.entry(*k).or_insert(0) += v;
        }
        self.output_tokens += o.output_tokens;
        self.latency += &o.latency;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_clock::Timestamp;
    use llmload_core::{RequestError, RequestType};

    fn rec(i: u64, ok: bool) -> RequestRecord {
        let mut r = RequestRecord::new(RequestType::ChatCompletions, 0);
        let t = |ms: u64| {
            Some(Timestamp::from_nanos(
                1_000_000_000_000 + ms * 1_000_000 + i * 7_919,
            ))
        };
        r.timings.request_start = t(0);
        r.timings.first_token_iteration = t(20 + i % 13);
        r.timings.last_token_iteration = t(100 + i % 17);
        r.timings.request_end = t(101 + i % 17);
        r.output.text_tokens = Some(16);
        if ok {
            r.status = RequestStatus::Completed;
        } else {
            r.error = Some(RequestError {
                kind: ErrorKind::HttpStatus,
                status: Some(500),
                message: "x".into(),
            });
        }
        r
    }

    #[test]
    fn merging_shards_equals_recording_everything() {
        let records: Vec<_> = (0..1000).map(|i| rec(i, i % 10 != 0)).collect();
        let mut whole = LiveStats::default();
        records.iter().for_each(|r| whole.record(r));
        let mut merged = LiveStats::default();
        for shard in records.chunks(333) {
            let mut s = LiveStats::default();
            shard.iter().for_each(|r| s.record(r));
            merged += &s;
        }
        assert_eq!(merged.counts, whole.counts);
        assert_eq!(merged.errors, whole.errors);
        assert_eq!(merged.output_tokens, whole.output_tokens);
        assert_eq!(merged.latency.ttft_us, whole.latency.ttft_us);
        assert_eq!(merged.latency.e2e_us, whole.latency.e2e_us);
        assert_eq!(whole.counts.successful, 900);
        assert_eq!(whole.errors[&ErrorKind::HttpStatus], 100);
        // The merged histogram summarizes like the exact records, within HDR precision.
        let ok: Vec<_> = records
            .iter()
            .filter(|r| r.status == RequestStatus::Completed)
            .collect();
        let exact =
            Distribution::from_values(ok.iter().map(|r| r.time_to_first_token_ms().unwrap()));
        let hdr = summarize(&merged.latency.ttft_us, 1000.0);
        assert_eq!(hdr.count, exact.count);
        for (a, b) in [
            (hdr.mean, exact.mean),
            (hdr.median, exact.median),
            (hdr.percentiles.p99, exact.percentiles.p99),
            (hdr.max, exact.max),
        ] {
            assert!((a - b).abs() <= 1e-3 * b, "hdr {a} exact {b}");
        }
        // Microsecond resolution, 3 significant digits.
        let p50 = whole.latency.ttft_us.value_at_quantile(0.5) as f64 / 1000.0;
        assert!((20.0..=33.0).contains(&p50), "{p50}");
    }
}

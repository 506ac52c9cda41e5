//! A benchmark over time, client and server on one grid of fixed slices
//! from its start: what llmload sent and received in each slice, and what
//! the server's scrapes said in it. Every slice holds sums, counts and
//! bucketed latencies only, so timelines of shards add up slice by slice
//! ([`Timeline::merge`]); percentiles are read from the merged buckets.

use llmload_clock::Timestamp;
use llmload_core::{Measured, RequestStatus, ServerScrape};
use serde::{Deserialize, Serialize};

/// Latency buckets: 16 per doubling from 1 µs (about 4.4 % wide).
const PER_DOUBLING: f64 = 16.0;

fn bucket_of(us: f64) -> u16 {
    if us <= 1.0 {
        return 0;
    }
    (us.log2() * PER_DOUBLING).ceil().min(f64::from(u16::MAX)) as u16
}

fn bucket_upper_us(b: u16) -> f64 {
    (f64::from(b) / PER_DOUBLING).exp2()
}

/// Latencies in log buckets, `(bucket, count)` in bucket order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Buckets(pub Vec<(u16, u32)>);

impl Buckets {
    fn add(&mut self, ms: f64) {
        let b = bucket_of(ms * 1000.0);
        match self.0.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (b, 1)),
        }
    }

    fn merge(&mut self, other: &Buckets) {
        for &(b, n) in &other.0 {
            match self.0.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => self.0[i].1 += n,
                Err(i) => self.0.insert(i, (b, n)),
            }
        }
    }

    /// The upper bound of the bucket holding quantile `q`, in ms.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.0.iter().map(|e| u64::from(e.1)).sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for &(b, n) in &self.0 {
            seen += u64::from(n);
            if seen >= rank {
                return Some(bucket_upper_us(b) / 1000.0);
            }
        }
        None
    }
}

/// One slice of the grid.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// Requests llmload sent in the slice.
    pub started: u64,
    /// Requests that completed in it.
    pub finished: u64,
    /// Requests that failed in it.
    pub errored: u64,
    /// Output tokens of the requests that completed in it.
    pub output_tokens: u64,
    /// Request-seconds in flight within the slice (mean concurrency =
    /// this / the slice's length).
    pub in_flight_seconds: f64,
    /// TTFT of requests whose first token came in the slice.
    pub ttft: Buckets,
    /// ITL of requests that completed in the slice.
    pub itl: Buckets,
    /// llmload's own send lag (`request_start - max(targeted_start,
    /// cap_released)`) of the requests sent in it: whether the schedule
    /// held all along a long run.
    #[serde(default)]
    pub send_lag: Buckets,
    /// Scrapes taken in the slice, and the sums of their gauges.
    pub scrapes: u32,
    pub running_sum: f64,
    pub waiting_sum: f64,
    pub kv_cache_sum: f64,
    /// Tokens the server generated in the slice (its counter, interpolated
    /// at the slice's edges).
    pub server_generated_tokens: f64,
}

/// A benchmark on a grid of `slice_seconds` from `start`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The grid's origin (the benchmark's start).
    pub start: Timestamp,
    /// The length of each slice, seconds.
    pub slice_seconds: f64,
    /// The slices, from `start` on.
    pub slices: Vec<Slice>,
}

impl Timeline {
    /// The grid for a benchmark from `start` to `end`: 1 s slices, longer
    /// ones (whole seconds) so that there are at most 600.
    pub fn grid(start: Timestamp, end: Timestamp) -> (f64, usize) {
        let span = end.secs_since(start).max(0.0);
        let slice = (span / 600.0).ceil().max(1.0);
        (slice, ((span / slice).ceil() as usize).max(1))
    }

    /// Build the timeline of a benchmark's records and scrapes.
    pub fn compile<R: Measured>(
        records: &[R],
        scrapes: &[ServerScrape],
        start: Timestamp,
        end: Timestamp,
    ) -> Timeline {
        let (w, n) = Self::grid(start, end);
        let mut slices = vec![Slice::default(); n];
        let idx = |t: Timestamp| -> Option<usize> {
            let x = t.secs_since(start);
            (x >= 0.0).then(|| ((x / w) as usize).min(n - 1))
        };
        for r in records {
            let Some(s) = r.request_start() else {
                continue;
            };
            if let Some(i) = idx(s) {
                slices[i].started += 1;
                if let Some(lag) = r.send_lag() {
                    slices[i].send_lag.add(lag * 1000.0);
                }
            }
            if let (Some(ft), Some(ttft)) = (r.first_token_iteration(), r.time_to_first_token_ms())
            {
                if let Some(i) = idx(ft) {
                    slices[i].ttft.add(ttft);
                }
            }
            let end_t = r.request_end_time();
            if let Some(i) = end_t.and_then(idx) {
                match r.status() {
                    RequestStatus::Completed => {
                        slices[i].finished += 1;
                        slices[i].output_tokens += r.output_tokens().unwrap_or(0);
                        if let Some(itl) = r.inter_token_latency_ms() {
                            slices[i].itl.add(itl);
                        }
                    }
                    RequestStatus::Errored => slices[i].errored += 1,
                    RequestStatus::Cancelled => {}
                }
            }
            // Its time in flight, spread over the slices it spans.
            let (a, b) = (
                s.secs_since(start).max(0.0),
                end_t
                    .map_or(n as f64 * w, |e| e.secs_since(start))
                    .min(n as f64 * w),
            );
            let mut k = (a / w) as usize;
            while k < n && (k as f64) * w < b {
                let (lo, hi) = ((k as f64 * w).max(a), ((k + 1) as f64 * w).min(b));
                if hi > lo {
                    slices[k].in_flight_seconds += hi - lo;
                }
                k += 1;
            }
        }
        // The server's generation counter at each slice edge.
        let series: Vec<(f64, f64)> = scrapes
            .iter()
            .filter_map(|s| {
                Some((
                    s.at.secs_since(start),
                    *s.values.get("vllm:generation_tokens_total")?,
                ))
            })
            .collect();
        let at = |t: f64| -> Option<f64> {
            let first = series.first()?;
            if t <= first.0 {
                return Some(first.1);
            }
            for p in series.windows(2) {
                if t <= p[1].0 {
                    let f = (t - p[0].0) / (p[1].0 - p[0].0).max(1e-12);
                    return Some(p[0].1 + f * (p[1].1 - p[0].1));
                }
            }
            series.last().map(|l| l.1)
        };
        for (k, slice) in slices.iter_mut().enumerate() {
            if let (Some(a), Some(b)) = (at(k as f64 * w), at((k + 1) as f64 * w)) {
                slice.server_generated_tokens = (b - a).max(0.0);
            }
        }
        for s in scrapes {
            let Some(i) = idx(s.at) else { continue };
            let v = |k: &str| s.values.get(k).copied().unwrap_or(0.0);
            let sl = &mut slices[i];
            sl.scrapes += 1;
            sl.running_sum += v("vllm:num_requests_running");
            sl.waiting_sum += v("vllm:num_requests_waiting");
            sl.kv_cache_sum += v("vllm:kv_cache_usage_perc");
        }
        Timeline {
            start,
            slice_seconds: w,
            slices,
        }
    }

    /// Add another timeline on the same grid (shards of one run) slice by
    /// slice; `false`, and nothing changed, when the grids differ.
    pub fn merge(&mut self, other: &Timeline) -> bool {
        if other.start != self.start || other.slice_seconds != self.slice_seconds {
            return false;
        }
        if other.slices.len() > self.slices.len() {
            self.slices.resize(other.slices.len(), Slice::default());
        }
        for (a, b) in self.slices.iter_mut().zip(&other.slices) {
            a.started += b.started;
            a.finished += b.finished;
            a.errored += b.errored;
            a.output_tokens += b.output_tokens;
            a.in_flight_seconds += b.in_flight_seconds;
            a.ttft.merge(&b.ttft);
            a.itl.merge(&b.itl);
            a.send_lag.merge(&b.send_lag);
            a.scrapes += b.scrapes;
            a.running_sum += b.running_sum;
            a.waiting_sum += b.waiting_sum;
            a.kv_cache_sum += b.kv_cache_sum;
            a.server_generated_tokens += b.server_generated_tokens;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_core::{RequestRecord, RequestType};

    fn t(s: f64) -> Timestamp {
        Timestamp::from_secs_f64(1_796_000_000.0 + s).unwrap()
    }

    fn rec(start: f64, first: f64, end: f64) -> RequestRecord {
        let mut r = RequestRecord::new(RequestType::ChatCompletions, 0);
        r.status = RequestStatus::Completed;
        r.timings.request_start = Some(t(start));
        r.timings.first_token_iteration = Some(t(first));
        r.timings.last_token_iteration = Some(t(end));
        r.timings.request_end = Some(t(end));
        r.output.text_tokens = Some(10);
        r
    }

    #[test]
    fn requests_and_scrapes_land_in_their_slices_and_shards_add_up() {
        let records = vec![rec(0.2, 0.3, 1.5), rec(2.1, 2.15, 2.4)];
        let mut scrape = ServerScrape {
            at: t(2.2),
            ..ServerScrape::default()
        };
        scrape
            .values
            .insert("vllm:num_requests_running".into(), 1.0);
        let tl = Timeline::compile(&records, &[scrape], t(0.0), t(3.0));
        assert_eq!(tl.slice_seconds, 1.0);
        let s = &tl.slices;
        assert_eq!((s[0].started, s[2].started), (1, 1));
        assert_eq!((s[1].finished, s[2].finished), (1, 1));
        assert!((s[0].in_flight_seconds - 0.8).abs() < 1e-6);
        assert!((s[1].in_flight_seconds - 0.5).abs() < 1e-6);
        assert_eq!((s[2].scrapes, s[2].running_sum), (1, 1.0));
        let ttft = s[0].ttft.quantile_ms(0.5).unwrap();
        assert!((100.0..=105.0).contains(&ttft), "{ttft}");
        let mut merged = tl.clone();
        assert!(merged.merge(&tl));
        assert_eq!(merged.slices[0].started, 2);
        assert_eq!(merged.slices[0].ttft.0[0].1, 2);
        assert!(!merged.merge(&Timeline::compile(&records, &[], t(0.5), t(3.0))));
    }

    #[test]
    fn send_lag_lands_in_the_slice_it_was_sent_in() {
        // Due at 0.1 s, sent 5 ms late; due at 2.1 s, held by a full cap
        // until 2.13 s and sent 0.2 ms after it: the cap's wait is not lag.
        let mut a = rec(0.105, 0.3, 1.5);
        a.timings.targeted_start = Some(t(0.1));
        let mut b = rec(2.1302, 2.2, 2.4);
        b.timings.targeted_start = Some(t(2.1));
        b.timings.cap_released = Some(t(2.13));
        let tl = Timeline::compile(&[a, b], &[], t(0.0), t(3.0));
        let lag = |k: usize| tl.slices[k].send_lag.quantile_ms(0.99);
        assert!((5.0..=5.25).contains(&lag(0).unwrap()), "{:?}", lag(0));
        assert!((0.2..=0.21).contains(&lag(2).unwrap()), "{:?}", lag(2));
        assert_eq!(lag(1), None);
    }
}

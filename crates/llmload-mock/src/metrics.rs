//! `GET /metrics`: what the mock served, in vLLM 0.32's Prometheus names,
//! types, labels and histogram buckets (shared/fixtures/vllm-0.32-wire/metrics.txt).
//!
//! Counters and histograms are updated where the event happens (a token
//! leaves, a request ends, the engine preempts); gauges are set by whoever
//! owns the state (the simulated engine, or the fixed-latency streams).

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// vLLM's buckets for time to first token (seconds).
const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM's buckets for inter-token latency (seconds).
const ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM's buckets for request-level times (e2e, queue; seconds).
const REQUEST_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
/// vLLM's buckets for per-request token counts.
const TOKEN_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];

/// A Prometheus histogram: cumulative counts are computed when written.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (the last one is `+Inf`).
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, v: f64) {
        let i = self.bounds.partition_point(|&b| b < v);
        self.counts[i] += 1;
        self.sum += v;
    }
}

/// How a request left the engine (`finished_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    /// It produced every token it asked for.
    Length,
    /// The client went away first.
    Abort,
}

#[derive(Debug)]
struct Histograms {
    ttft: Histogram,
    itl: Histogram,
    e2e: Histogram,
    queue: Histogram,
    prompt_tokens: Histogram,
    generation_tokens: Histogram,
}

/// Everything `/metrics` reports.
#[derive(Debug)]
pub(crate) struct Metrics {
    model: String,
    pub(crate) running: AtomicI64,
    pub(crate) waiting: AtomicI64,
    /// KV-cache blocks in use, and in all (0: no cache modelled).
    pub(crate) kv_used: AtomicU64,
    pub(crate) kv_total: AtomicU64,
    prompt_tokens: AtomicU64,
    generation_tokens: AtomicU64,
    success_length: AtomicU64,
    success_abort: AtomicU64,
    preemptions: AtomicU64,
    prefix_queries: AtomicU64,
    prefix_hits: AtomicU64,
    histograms: Mutex<Histograms>,
}

impl Metrics {
    pub(crate) fn new(model: &str) -> Self {
        Metrics {
            model: crate::wire::escape(model),
            running: AtomicI64::new(0),
            waiting: AtomicI64::new(0),
            kv_used: AtomicU64::new(0),
            kv_total: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            success_length: AtomicU64::new(0),
            success_abort: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            prefix_queries: AtomicU64::new(0),
            prefix_hits: AtomicU64::new(0),
            histograms: Mutex::new(Histograms {
                ttft: Histogram::new(TTFT_BUCKETS),
                itl: Histogram::new(ITL_BUCKETS),
                e2e: Histogram::new(REQUEST_BUCKETS),
                queue: Histogram::new(REQUEST_BUCKETS),
                prompt_tokens: Histogram::new(TOKEN_BUCKETS),
                generation_tokens: Histogram::new(TOKEN_BUCKETS),
            }),
        }
    }

    fn hist(&self) -> std::sync::MutexGuard<'_, Histograms> {
        self.histograms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request's first token left: its prompt counts as processed.
    pub(crate) fn first_token(&self, prompt_tokens: u64, ttft_s: f64) {
        self.prompt_tokens
            .fetch_add(prompt_tokens, Ordering::Relaxed);
        self.generation_tokens.fetch_add(1, Ordering::Relaxed);
        self.hist().ttft.observe(ttft_s);
    }

    /// A later token left, `gap_s` after the one before.
    pub(crate) fn next_token(&self, gap_s: f64) {
        self.generation_tokens.fetch_add(1, Ordering::Relaxed);
        self.hist().itl.observe(gap_s);
    }

    /// A request left the engine.
    pub(crate) fn finished(&self, how: Finish, prompt: u64, generated: u64, e2e_s: f64) {
        match how {
            Finish::Length => &self.success_length,
            Finish::Abort => &self.success_abort,
        }
        .fetch_add(1, Ordering::Relaxed);
        let mut h = self.hist();
        h.e2e.observe(e2e_s);
        h.prompt_tokens.observe(prompt as f64);
        h.generation_tokens.observe(generated as f64);
    }

    /// A request was first scheduled, `wait_s` after it arrived.
    pub(crate) fn queued(&self, wait_s: f64) {
        self.hist().queue.observe(wait_s);
    }

    /// The engine preempted a running request.
    pub(crate) fn preempted(&self) {
        self.preemptions.fetch_add(1, Ordering::Relaxed);
    }

    /// A prompt of `queried` tokens was looked up in the prefix cache.
    pub(crate) fn prefix_lookup(&self, queried: u64, hits: u64) {
        self.prefix_queries.fetch_add(queried, Ordering::Relaxed);
        self.prefix_hits.fetch_add(hits, Ordering::Relaxed);
    }

    /// The exposition text.
    pub(crate) fn render(&self) -> String {
        let labels = format!(r#"engine="0",model_name="{}""#, self.model);
        let mut out = String::with_capacity(16 << 10);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let gauge = |out: &mut String, name: &str, help: &str, v: f64| {
            head(out, name, help, "gauge");
            let _ = writeln!(out, "vllm:{name}{{{labels}}} {}", num(v));
        };
        gauge(
            &mut out,
            "num_requests_running",
            "Number of requests in model execution batches.",
            self.running.load(Ordering::Relaxed).max(0) as f64,
        );
        gauge(
            &mut out,
            "num_requests_waiting",
            "Number of requests waiting to be processed.",
            self.waiting.load(Ordering::Relaxed).max(0) as f64,
        );
        let total = load(&self.kv_total);
        gauge(
            &mut out,
            "kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            if total > 0.0 {
                load(&self.kv_used) / total
            } else {
                0.0
            },
        );
        let counter = |out: &mut String, name: &str, help: &str, v: f64| {
            head(out, &format!("{name}_total"), help, "counter");
            let _ = writeln!(out, "vllm:{name}_total{{{labels}}} {}", num(v));
        };
        counter(
            &mut out,
            "num_preemptions",
            "Cumulative number of preemption from the engine.",
            load(&self.preemptions),
        );
        counter(
            &mut out,
            "prompt_tokens",
            "Number of prefill tokens processed.",
            load(&self.prompt_tokens),
        );
        counter(
            &mut out,
            "generation_tokens",
            "Number of generation tokens processed.",
            load(&self.generation_tokens),
        );
        counter(
            &mut out,
            "prefix_cache_queries",
            "Prefix cache queries, in terms of number of queried tokens.",
            load(&self.prefix_queries),
        );
        counter(
            &mut out,
            "prefix_cache_hits",
            "Prefix cache hits, in terms of number of cached tokens.",
            load(&self.prefix_hits),
        );
        head(
            &mut out,
            "request_success_total",
            "Count of successfully processed requests.",
            "counter",
        );
        for (reason, v) in [
            ("stop", 0.0),
            ("length", load(&self.success_length)),
            ("abort", load(&self.success_abort)),
        ] {
            let _ = writeln!(
                out,
                r#"vllm:request_success_total{{engine="0",finished_reason="{reason}",model_name="{}"}} {}"#,
                self.model,
                num(v)
            );
        }
        let h = self.hist();
        for (name, help, hist) in [
            (
                "time_to_first_token_seconds",
                "Histogram of time to first token in seconds.",
                &h.ttft,
            ),
            (
                "inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.",
                &h.itl,
            ),
            (
                "e2e_request_latency_seconds",
                "Histogram of e2e request latency in seconds.",
                &h.e2e,
            ),
            (
                "request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.",
                &h.queue,
            ),
            (
                "request_prompt_tokens",
                "Number of prefill tokens processed.",
                &h.prompt_tokens,
            ),
            (
                "request_generation_tokens",
                "Number of generation tokens processed.",
                &h.generation_tokens,
            ),
        ] {
            head(&mut out, name, help, "histogram");
            let mut cumulative = 0;
            for (i, c) in hist.counts.iter().enumerate() {
                cumulative += c;
                let le = hist.bounds.get(i).map_or("+Inf".to_string(), |b| num(*b));
                let _ = writeln!(
                    out,
                    r#"vllm:{name}_bucket{{engine="0",le="{le}",model_name="{}"}} {}"#,
                    self.model,
                    num(cumulative as f64)
                );
            }
            let _ = writeln!(
                out,
                "vllm:{name}_count{{{labels}}} {}",
                num(cumulative as f64)
            );
            let _ = writeln!(out, "vllm:{name}_sum{{{labels}}} {}", num(hist.sum));
        }
        out
    }
}

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP vllm:{name} {help}");
    let _ = writeln!(out, "# TYPE vllm:{name} {kind}");
}

/// A sample value as Python's prometheus_client writes it (`2.0`, `0.25`).
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name{labels} value` lines of an exposition, as (series, value).
    fn samples(text: &str) -> Vec<(String, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').unwrap();
                (k.to_string(), v.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn names_types_and_buckets_are_vllms() {
        let m = Metrics::new("tiny-qwen");
        m.first_token(100, 0.03);
        m.next_token(0.012);
        m.finished(Finish::Length, 100, 2, 0.5);
        m.queued(0.0);
        let text = m.render();
        let fixture = std::fs::read_to_string(
            std::path::Path::new(env!("LLMLOAD_SHARED"))
                .join("fixtures/vllm-0.32-wire/metrics.txt"),
        )
        .unwrap();
        // Every series the mock writes, the real server writes too (same
        // name, same labels, same bucket bounds), with the same TYPE.
        let real: std::collections::HashSet<String> =
            samples(&fixture).into_iter().map(|s| s.0).collect();
        for (series, _) in samples(&text) {
            assert!(real.contains(&series), "{series} is not in vLLM's /metrics");
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert!(fixture.contains(line), "{line}");
        }
        let get = |s: &str| samples(&text).into_iter().find(|x| x.0 == s).unwrap().1;
        let l = r#"engine="0",model_name="tiny-qwen""#;
        assert_eq!(get(&format!("vllm:prompt_tokens_total{{{l}}}")), 100.0);
        assert_eq!(get(&format!("vllm:generation_tokens_total{{{l}}}")), 2.0);
        assert_eq!(
            get(
                r#"vllm:time_to_first_token_seconds_bucket{engine="0",le="0.02",model_name="tiny-qwen"}"#
            ),
            0.0
        );
        assert_eq!(
            get(
                r#"vllm:time_to_first_token_seconds_bucket{engine="0",le="0.04",model_name="tiny-qwen"}"#
            ),
            1.0
        );
        assert_eq!(
            get(
                r#"vllm:request_success_total{engine="0",finished_reason="length",model_name="tiny-qwen"}"#
            ),
            1.0
        );
    }
}

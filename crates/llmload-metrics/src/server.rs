//! The server's own metrics: reading vLLM's Prometheus text (`GET
//! /metrics`) into a [`ServerScrape`], and summarizing the scrapes of one
//! benchmark ([`ServerSummary`]).
//!
//! The text format is read here (about a hundred lines) rather than with
//! `prometheus-parse`, the most used crate for it: that one keys metric
//! types by their `# TYPE` names, so vLLM's counters (`# TYPE
//! vllm:generation_tokens counter`, sampled as `..._total`) come back
//! untyped, stamps samples with the wall clock, and brings regex and
//! itertools; llmload needs each `vllm:` family summed over its label sets.

use std::collections::BTreeMap;

use llmload_clock::Timestamp;
use llmload_core::ServerScrape;
use serde::{Deserialize, Serialize};

/// Families renamed by vLLM (V0 names on the left): read as today's.
const RENAMED: [(&str, &str); 4] = [
    ("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"),
    (
        "vllm:gpu_prefix_cache_queries_total",
        "vllm:prefix_cache_queries_total",
    ),
    (
        "vllm:gpu_prefix_cache_hits_total",
        "vllm:prefix_cache_hits_total",
    ),
    (
        "vllm:time_per_output_token_seconds",
        "vllm:inter_token_latency_seconds",
    ),
];

/// A sample line's labels, `(name, value)`.
type Labels = Vec<(String, String)>;

/// One sample line: its name, labels and value (`None` for comments,
/// blank and malformed lines).
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' ', '\t'])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if rest.starts_with('{') {
        let mut chars = rest.char_indices().skip(1).peekable();
        let mut key = String::new();
        let mut close = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    close = Some(i);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    // A quoted value, with \" \\ \n escapes.
                    if chars.next().map(|(_, q)| q) != Some('"') {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()? {
                            (_, '"') => break,
                            (_, '\\') => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            (_, ch) => value.push(ch),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        rest = &rest[close? + 1..];
    }
    let value = rest.split_whitespace().next()?;
    let v = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        other => other.parse().ok()?,
    };
    Some((name, labels, v))
}

/// Read a scrape's text: every `vllm:` counter, gauge and histogram summed
/// over its label sets (`*_perc` gauges averaged), `_created` series left
/// out, old names read as new.
pub fn parse_scrape(text: &str, at: Timestamp) -> ServerScrape {
    let mut s = ServerScrape {
        at,
        ..ServerScrape::default()
    };
    let mut perc_counts: BTreeMap<String, f64> = BTreeMap::new();
    let mut buckets: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Some((name, labels, v)) = sample(line) else {
            continue;
        };
        if !name.starts_with("vllm:") || name.ends_with("_created") {
            continue;
        }
        if let Some(base) = name.strip_suffix("_bucket") {
            let Some(le) = labels.iter().find(|(k, _)| k == "le") else {
                continue;
            };
            let bound = match le.1.as_str() {
                "+Inf" | "Inf" => f64::INFINITY,
                b => match b.parse::<f64>() {
                    Ok(x) => x,
                    Err(_) => continue,
                },
            };
            let base = renamed(base);
            let e = buckets
                .entry(base)
                .or_default()
                .entry(bound.to_bits())
                .or_insert((bound, 0.0));
            e.1 += v;
            continue;
        }
        let name = renamed(name);
        if name.ends_with("_perc") {
            *perc_counts.entry(name.clone()).or_insert(0.0) += 1.0;
        }
        *s.values.entry(name).or_insert(0.0) += v;
    }
    for (name, n) in perc_counts {
        if let Some(v) = s.values.get_mut(&name) {
            *v /= n;
        }
    }
    for (name, by_bound) in buckets {
        let mut list: Vec<(f64, f64)> = by_bound.into_values().collect();
        list.sort_by(|a, b| a.0.total_cmp(&b.0));
        s.histograms.insert(name, list);
    }
    s
}

fn renamed(name: &str) -> String {
    for (old, new) in RENAMED {
        if let Some(rest) = name.strip_prefix(old) {
            return format!("{new}{rest}");
        }
    }
    name.to_string()
}

/// Scrapes of several replicas taken together: summed (`*_perc` averaged).
pub fn combine(scrapes: Vec<ServerScrape>) -> Option<ServerScrape> {
    let n = scrapes.len();
    let mut it = scrapes.into_iter();
    let mut out = it.next()?;
    for s in it {
        for (k, v) in s.values {
            *out.values.entry(k).or_insert(0.0) += v;
        }
        for (k, list) in s.histograms {
            let mine = out.histograms.entry(k).or_default();
            for (bound, count) in list {
                match mine.iter_mut().find(|(b, _)| *b == bound) {
                    Some(e) => e.1 += count,
                    None => mine.push((bound, count)),
                }
            }
            mine.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    for (k, v) in out.values.iter_mut() {
        if k.ends_with("_perc") {
            *v /= n as f64;
        }
    }
    Some(out)
}

/// Whether a family is cumulative (a counter, or a histogram's sum or count).
fn is_counter(name: &str) -> bool {
    name.ends_with("_total") || name.ends_with("_sum") || name.ends_with("_count")
}

/// A counter over the scrapes, made monotone across resets (a value below
/// the one before means the server restarted: counting starts again from 0).
fn counter_series(scrapes: &[ServerScrape], name: &str) -> Vec<(f64, f64)> {
    let (mut offset, mut last) = (0.0, None::<f64>);
    let mut out = Vec::new();
    for s in scrapes {
        let Some(&v) = s.values.get(name) else {
            continue;
        };
        if let Some(prev) = last {
            if v < prev {
                offset += prev;
            }
        }
        last = Some(v);
        out.push((s.at.as_secs_f64(), v + offset));
    }
    out
}

/// The series' value at `t`, linear between the scrapes around it (the
/// first or last value outside them).
fn at(series: &[(f64, f64)], t: f64) -> Option<f64> {
    let first = series.first()?;
    if t <= first.0 {
        return Some(first.1);
    }
    for w in series.windows(2) {
        let ((t0, v0), (t1, v1)) = (w[0], w[1]);
        if t <= t1 {
            let f = if t1 > t0 { (t - t0) / (t1 - t0) } else { 1.0 };
            return Some(v0 + f * (v1 - v0));
        }
    }
    series.last().map(|l| l.1)
}

/// A gauge's samples in a benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaugeStats {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p99: f64,
    /// Samples taken in the window.
    pub samples: usize,
}

/// A histogram's observations in a benchmark, from its bucket deltas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramStats {
    /// Observations.
    pub count: f64,
    /// `Δsum / Δcount`.
    pub mean: f64,
    /// Quantiles, interpolated within buckets as Prometheus'
    /// `histogram_quantile` does.
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    /// The bucket holding the median, `[lower, upper]` bounds: the
    /// resolution of `p50`.
    pub p50_bucket: (f64, f64),
}

/// What the server's metrics say about one benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    /// Scrapes taken from just before the benchmark to just after it.
    pub scrapes: usize,
    /// Counter deltas over the measured window, interpolated at its edges.
    pub window: BTreeMap<String, f64>,
    /// Counter deltas from the scrape before the first request to the one
    /// after the last: every request of the benchmark, exactly.
    pub benchmark: BTreeMap<String, f64>,
    /// Gauges over the scrapes in the measured window.
    pub gauges: BTreeMap<String, GaugeStats>,
    /// Histograms over the benchmark (bucket deltas first to last scrape).
    pub histograms: BTreeMap<String, HistogramStats>,
    /// `Δ prefix_cache_hits / Δ prefix_cache_queries` over the window, %.
    pub prefix_cache_hit_percent: Option<f64>,
    /// Preemptions in the window.
    pub preemptions: Option<f64>,
}

fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// The bounds of the bucket holding quantile `q`.
fn bucket_of(buckets: &[(f64, f64)], q: f64) -> (f64, f64) {
    let total = buckets.last().map_or(0.0, |l| l.1);
    let mut lower = 0.0;
    for &(bound, count) in buckets {
        if count >= q * total {
            return (lower, bound);
        }
        lower = bound;
    }
    (lower, f64::INFINITY)
}

/// `histogram_quantile(q)` over cumulative `(bound, count)` buckets.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return prev.0;
            }
            let width = count - prev.1;
            let f = if width > 0.0 {
                (rank - prev.1) / width
            } else {
                1.0
            };
            return prev.0 + f * (bound - prev.0);
        }
        prev = (bound, count);
    }
    prev.0
}

impl ServerSummary {
    /// Summarize a benchmark's scrapes (in time order) for its measured
    /// window `[start, end]`; `None` without two scrapes.
    pub fn compile(scrapes: &[ServerScrape], start: Timestamp, end: Timestamp) -> Option<Self> {
        if scrapes.len() < 2 {
            return None;
        }
        let (ws, we) = (start.as_secs_f64(), end.as_secs_f64());
        let names: std::collections::BTreeSet<&String> =
            scrapes.iter().flat_map(|s| s.values.keys()).collect();
        let (mut window, mut benchmark, mut gauges) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for name in names {
            if is_counter(name) {
                let series = counter_series(scrapes, name);
                if let (Some(a), Some(b)) = (at(&series, ws), at(&series, we)) {
                    window.insert(name.clone(), b - a);
                }
                if let (Some(f), Some(l)) = (series.first(), series.last()) {
                    benchmark.insert(name.clone(), l.1 - f.1);
                }
            } else {
                let inside: Vec<f64> = scrapes
                    .iter()
                    .filter(|s| (ws..=we).contains(&s.at.as_secs_f64()))
                    .filter_map(|s| s.values.get(name).copied())
                    .collect();
                if inside.is_empty() {
                    continue;
                }
                let mut sorted = inside.clone();
                sorted.sort_by(f64::total_cmp);
                gauges.insert(
                    name.clone(),
                    GaugeStats {
                        mean: inside.iter().sum::<f64>() / inside.len() as f64,
                        min: sorted[0],
                        max: sorted[sorted.len() - 1],
                        p50: nearest_rank(&sorted, 0.5),
                        p99: nearest_rank(&sorted, 0.99),
                        samples: inside.len(),
                    },
                );
            }
        }
        let (first, last) = (&scrapes[0], &scrapes[scrapes.len() - 1]);
        let mut histograms = BTreeMap::new();
        for (name, end_buckets) in &last.histograms {
            let start_buckets = first.histograms.get(name);
            let delta: Vec<(f64, f64)> = end_buckets
                .iter()
                .map(|&(b, c)| {
                    let before = start_buckets
                        .and_then(|s| s.iter().find(|(x, _)| *x == b))
                        .map_or(0.0, |e| e.1);
                    (b, (c - before).max(0.0))
                })
                .collect();
            let count = delta.last().map_or(0.0, |l| l.1);
            if count <= 0.0 {
                continue;
            }
            let sum = benchmark.get(&format!("{name}_sum")).copied();
            histograms.insert(
                name.clone(),
                HistogramStats {
                    count,
                    mean: sum.map_or(f64::NAN, |s| s / count),
                    p50: quantile(&delta, 0.5),
                    p90: quantile(&delta, 0.9),
                    p99: quantile(&delta, 0.99),
                    p50_bucket: bucket_of(&delta, 0.5),
                },
            );
        }
        let d = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied();
        let prefix_cache_hit_percent = match (
            d(&window, "vllm:prefix_cache_hits_total"),
            d(&window, "vllm:prefix_cache_queries_total"),
        ) {
            (Some(h), Some(q)) if q > 0.0 => Some(100.0 * h / q),
            _ => None,
        };
        Some(ServerSummary {
            scrapes: scrapes.len(),
            preemptions: d(&window, "vllm:num_preemptions_total"),
            window,
            benchmark,
            gauges,
            histograms,
            prefix_cache_hit_percent,
        })
    }
}

#[cfg(test)]
mod tests;

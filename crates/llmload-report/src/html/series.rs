//! Per-benchmark charts from the request records a report keeps: latency
//! histograms, TTFT and ITL over the run, concurrency over the run, and the
//! errors by kind.

use std::collections::BTreeMap;

use super::chart::{histogram, short, Body, Chart, Point, Series};
use crate::model::{Benchmark, RequestStats};
use crate::server::SeriesPoint;

/// Individual points up to this many requests; above it, p50/p99 per time slice.
const MAX_POINTS: usize = 400;
/// Time slices of the over-the-run charts.
const SLICES: usize = 60;
/// Histogram bins.
const BINS: usize = 30;

/// A benchmark's charts.
#[derive(Debug)]
pub struct Charts {
    pub charts: Vec<Chart>,
    /// Whether the report keeps only a sample of the requests.
    pub sampled: bool,
    /// Records kept.
    pub records: usize,
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    v
}

/// Value at quantile `q` of sorted values (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

fn hist(title: &str, unit: &str, values: Vec<f64>) -> Option<Chart> {
    let v = sorted(values);
    if v.is_empty() {
        return None;
    }
    // Up to the 99.5th percentile: a few outliers would squash the rest
    // (they are counted in the last bin).
    let (lo, hi) = (v[0], quantile(&v, 0.995));
    Some(Chart {
        title: format!("{title} ({unit}), {} requests", v.len()),
        x_label: unit.into(),
        y_label: "requests".into(),
        body: Body::Bins(histogram(&v, lo, hi.max(lo + f64::EPSILON), BINS)),
        diagonal: false,
    })
}

/// `(seconds since the start, value)` of each request as points, or p50 and
/// p99 per time slice when there are many.
fn over_run(title: &str, unit: &str, pts: Vec<(f64, f64)>, span: f64) -> Option<Chart> {
    let pts: Vec<(f64, f64)> = pts
        .into_iter()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }
    let series = if pts.len() <= MAX_POINTS {
        vec![Series {
            name: "requests".into(),
            points: pts
                .iter()
                .map(|&(t, v)| Point {
                    x: t,
                    y: v,
                    tip: format!("{} {unit} at {} s", short(v), short(t)),
                })
                .collect(),
            line: false,
            markers: true,
        }]
    } else {
        // The benchmark's span, else (not a finite positive number) the
        // last request's start.
        let span = if span.is_finite() && span > 0.0 {
            span
        } else {
            pts.iter().map(|p| p.0).fold(0.0, f64::max)
        };
        let width = span.max(1e-9) / SLICES as f64;
        let mut slices: Vec<Vec<f64>> = vec![Vec::new(); SLICES];
        for (t, v) in &pts {
            let i = ((t / width).floor().max(0.0) as usize).min(SLICES - 1);
            slices[i].push(*v);
        }
        let stat = |name: &str, q: f64| Series {
            name: name.into(),
            points: slices
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| {
                    let y = quantile(&sorted(s.clone()), q);
                    let x = (i as f64 + 0.5) * width;
                    Point {
                        x,
                        y,
                        tip: format!("{name} {} {unit} around {} s", short(y), short(x)),
                    }
                })
                .collect(),
            line: true,
            markers: false,
        };
        vec![stat("p50", 0.5), stat("p99", 0.99)]
    };
    Some(Chart {
        title: format!("{title} over the run ({unit})"),
        x_label: "seconds since the benchmark started".into(),
        y_label: unit.into(),
        body: Body::Series(series),
        diagonal: false,
    })
}

/// Requests in flight over the run, sampled at `SLICES * 4` instants.
fn concurrency(records: &[&RequestStats], start: f64, end: f64) -> Option<Chart> {
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for r in records {
        let Some(s) = r.request_start_time else {
            continue;
        };
        starts.push(s - start);
        ends.push(r.request_end_time.unwrap_or(end) - start);
    }
    if starts.is_empty() {
        return None;
    }
    let (starts, ends) = (sorted(starts), sorted(ends));
    let span = end - start;
    if !span.is_finite() {
        return None;
    }
    let span = span.max(1e-9);
    let n = SLICES * 4;
    let points = (0..=n)
        .map(|i| {
            let t = span * i as f64 / n as f64;
            let begun = starts.partition_point(|&s| s <= t);
            let done = ends.partition_point(|&e| e <= t);
            let level = begun.saturating_sub(done) as f64;
            Point {
                x: t,
                y: level,
                tip: format!("{level} in flight at {} s", short(t)),
            }
        })
        .collect();
    Some(Chart {
        title: "Concurrency over the run (requests in flight)".into(),
        x_label: "seconds since the benchmark started".into(),
        y_label: "requests".into(),
        body: Body::Series(vec![Series {
            name: "in flight".into(),
            points,
            line: true,
            markers: false,
        }]),
        diagonal: false,
    })
}

/// The server's running and waiting requests at each scrape, beside
/// llmload's requests in flight at the same instants, on the benchmark's
/// time axis (`llmload.server_metrics.series`).
fn server_timeline(b: &Benchmark) -> Option<Chart> {
    let points = &b.ext.server_metrics.as_ref()?.series;
    let line = |name: &str, value: fn(&SeriesPoint) -> Option<f64>| Series {
        name: name.into(),
        points: points
            .iter()
            .filter_map(|p| {
                let (x, y) = (p.t, value(p)?);
                Some(Point {
                    x,
                    y,
                    tip: format!("{name}: {} at {} s", short(y), short(x)),
                })
            })
            .collect(),
        line: true,
        markers: true,
    };
    let series = vec![
        line("llmload: in flight", |p| Some(p.llmload_in_flight as f64)),
        line("server: running", |p| p.running),
        line("server: waiting", |p| p.waiting),
    ];
    if series.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    Some(Chart {
        title: "The server's queue beside llmload's requests in flight (its /metrics)".into(),
        x_label: "seconds since the benchmark started".into(),
        y_label: "requests".into(),
        body: Body::Series(series),
        diagonal: false,
    })
}

/// The charts of one benchmark.
pub fn charts(b: &Benchmark) -> Charts {
    let ok: Vec<&RequestStats> = b.requests.successful.iter().collect();
    let all: Vec<&RequestStats> = b
        .requests
        .successful
        .iter()
        .chain(&b.requests.errored)
        .chain(&b.requests.incomplete)
        .collect();
    let total = b.metrics.request_totals.total as usize;
    let sampled = all.len() < total;
    let start = b.start_time;
    let span = (b.end_time - b.start_time).max(0.0);
    let field = |f: fn(&RequestStats) -> Option<f64>| -> Vec<f64> {
        ok.iter().filter_map(|r| f(r)).collect()
    };
    let timed = |f: fn(&RequestStats) -> Option<f64>| -> Vec<(f64, f64)> {
        ok.iter()
            .filter_map(|r| Some((r.request_start_time? - start, f(r)?)))
            .collect()
    };
    let mut charts: Vec<Chart> = [
        hist(
            "Time to first token",
            "ms",
            field(|r| r.time_to_first_token_ms),
        ),
        hist(
            "Inter-token latency",
            "ms",
            field(|r| r.inter_token_latency_ms),
        ),
        hist("Request latency", "s", field(|r| r.request_latency)),
        over_run(
            "Time to first token",
            "ms",
            timed(|r| r.time_to_first_token_ms),
            span,
        ),
        over_run(
            "Inter-token latency",
            "ms",
            timed(|r| r.inter_token_latency_ms),
            span,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    // From a sample, the number in flight would be wrong.
    if !sampled {
        charts.extend(concurrency(&all, start, b.end_time.max(start)));
    }
    charts.extend(server_timeline(b));
    Charts {
        charts,
        sampled,
        records: all.len(),
    }
}

/// `(kind, count, example message)` of the benchmark's errors.
pub fn errors(b: &Benchmark) -> Vec<(String, u64, String)> {
    let records = &b.requests.errored;
    let example = |kind: Option<&str>| -> String {
        records
            .iter()
            .find(|r| {
                kind.is_none() || r.llmload.as_ref().and_then(|x| x.error_kind.as_deref()) == kind
            })
            .and_then(|r| r.info.error.clone())
            .unwrap_or_default()
    };
    let kinds = &b.ext.errors_by_kind;
    if !kinds.is_empty() {
        return kinds
            .iter()
            .map(|(k, &n)| (k.clone(), n, example(Some(k))))
            .collect();
    }
    // A GuideLLM report: no kinds, group by message.
    let mut by_message: BTreeMap<String, u64> = BTreeMap::new();
    for r in records {
        let msg = r.info.error.clone().unwrap_or_else(|| "error".into());
        *by_message.entry(msg).or_insert(0) += 1;
    }
    if by_message.is_empty() && b.metrics.request_totals.errored > 0 {
        return vec![(
            "error".into(),
            b.metrics.request_totals.errored,
            String::new(),
        )];
    }
    by_message
        .into_iter()
        .map(|(m, n)| ("error".into(), n, m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn many_requests_become_p50_and_p99_per_slice() {
        // Every slice holds the values 0..=9 equally often.
        let pts: Vec<(f64, f64)> = (0..1200)
            .map(|i| (i as f64 / 120.0, (i % 10) as f64))
            .collect();
        let c = over_run("TTFT", "ms", pts, 10.0).unwrap();
        let Body::Series(s) = &c.body else { panic!() };
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].points.len(), SLICES);
        assert!(s[0].points.iter().all(|p| p.y == 4.0), "p50 of each slice");
        assert!(s[1].points.iter().all(|p| p.y == 9.0), "p99 of each slice");
    }
}

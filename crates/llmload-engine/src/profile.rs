//! Profiles: which benchmarks a run is made of, chosen one at a time from the
//! results of the ones before (sweep and search adapt; the others are lists).

use llmload_metrics::{Distribution, RequestRecord, RequestStatus};

use crate::strategy::Strategy;
use crate::BenchmarkRun;

/// GuideLLM 0.4's concurrency cap for sweep stages (its `max_concurrency` default).
pub const SWEEP_MAX_CONCURRENCY: u32 = 512;

/// What a run is made of.
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
    /// GuideLLM's sweep: synchronous, throughput, then `size - 2` constant
    /// rates evenly spaced between the two measured rates (the last one at
    /// the throughput rate).
    Sweep {
        /// Benchmarks in all (at least 2).
        size: u32,
    },
    /// llmload's max-throughput search: constant rates rising until the
    /// server stops keeping up, then bisection.
    Search(SearchConfig),
}

/// The next benchmark of a profile.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Run this strategy.
    Run(Strategy),
    /// The profile is complete.
    Done,
    /// The profile cannot go on (the message says why).
    Abort(String),
}

/// How the max-throughput search proceeds and judges a rate.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchConfig {
    /// First rate tried (req/s).
    pub start: f64,
    /// Factor between rates while every rate is sustained.
    pub growth: f64,
    /// Stop bisecting when the bracket is this narrow (relative).
    pub precision: f64,
    /// Benchmarks at most.
    pub max_steps: u32,
    /// A rate is sustained when at least this fraction of it completed.
    pub min_achieved: f64,
    /// Latency limits (p99) a sustained rate must also meet.
    pub slo: Slo,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            start: 1.0,
            growth: 2.0,
            precision: 0.05,
            max_steps: 12,
            min_achieved: 0.95,
            slo: Slo::default(),
        }
    }
}

/// p99 limits, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Slo {
    /// Time to first token.
    pub ttft_ms: Option<f64>,
    /// Inter-token latency.
    pub itl_ms: Option<f64>,
    /// Request latency.
    pub latency_ms: Option<f64>,
}

/// The search's judgement of one rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Asked rate.
    pub rate: f64,
    /// Completed per second among requests that had time to finish.
    pub achieved: f64,
    /// Whether the server kept up.
    pub sustained: bool,
    /// Why not, when it did not.
    pub reasons: Vec<String>,
}

/// Successful completions per second over the measurement window: what
/// GuideLLM reports as `requests_per_second.successful.mean` and what its
/// sweep measures.
pub fn successful_rate(run: &BenchmarkRun) -> f64 {
    let ends: Vec<(f64, f64)> = run
        .records
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .filter_map(RequestRecord::request_end_time)
        .map(|t| (t.as_secs_f64(), 1.0))
        .collect();
    Distribution::rate_from_events(
        ends,
        Some(run.measure_start.as_secs_f64()),
        Some(run.measure_end.as_secs_f64()),
    )
    .mean
}

fn p99(values: impl Iterator<Item = f64>) -> Option<f64> {
    let d = Distribution::from_values(values);
    (d.count > 0).then_some(d.percentiles.p99)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Judge whether the server kept up with a constant-rate benchmark.
///
/// - **achieved**: of the requests intended to start early enough to finish
///   before the end (all but the last median latency), the fraction that
///   completed successfully, times the asked rate; below `min_achieved` of
///   the rate fails;
/// - **queueing**: the median TTFT of the last third of requests (by intended
///   start) more than doubles that of the first third (and grows by > 10 ms),
///   or the client fell behind its schedule (p99 dispatch delay > 50 ms);
/// - **SLO**: any p99 limit broken.
pub fn judge(run: &BenchmarkRun, cfg: &SearchConfig) -> Verdict {
    let rate = run.strategy.rate().unwrap_or(0.0);
    let mut reasons = Vec::new();
    let ok: Vec<&RequestRecord> = run
        .records
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .collect();
    let lat = median(ok.iter().filter_map(|r| r.request_latency()).collect()).unwrap_or(0.0);
    let span = run.measure_end.secs_since(run.start);
    let cutoff = (span - lat).max(span / 2.0).max(1e-3);
    let finished = ok
        .iter()
        .filter(|r| {
            r.timings
                .targeted_start
                .is_some_and(|t| t.secs_since(run.start) < cutoff)
        })
        .count() as f64;
    let achieved = finished / cutoff;
    if achieved < cfg.min_achieved * rate {
        reasons.push(format!(
            "achieved {achieved:.2} req/s < {:.0}% of {rate:.2}",
            cfg.min_achieved * 100.0
        ));
    }
    let mut by_start: Vec<&RequestRecord> = ok
        .iter()
        .copied()
        .filter(|r| r.timings.targeted_start.is_some())
        .collect();
    by_start.sort_by_key(|r| r.timings.targeted_start);
    let third = by_start.len() / 3;
    if third >= 5 {
        let ttft = |rs: &[&RequestRecord]| {
            median(
                rs.iter()
                    .filter_map(|r| r.time_to_first_token_ms())
                    .collect(),
            )
        };
        if let (Some(a), Some(b)) = (
            ttft(&by_start[..third]),
            ttft(&by_start[by_start.len() - third..]),
        ) {
            if b > 2.0 * a && b - a > 10.0 {
                reasons.push(format!(
                    "queueing: median TTFT grew from {a:.1} ms to {b:.1} ms"
                ));
            }
        }
    }
    if let Some(lag) = p99(run.records.iter().filter_map(|r| r.dispatch_delay())) {
        if lag > 0.05 {
            reasons.push(format!(
                "behind schedule: p99 dispatch delay {:.1} ms",
                lag * 1000.0
            ));
        }
    }
    let slo = [
        (
            "TTFT",
            cfg.slo.ttft_ms,
            p99(ok.iter().filter_map(|r| r.time_to_first_token_ms())),
        ),
        (
            "ITL",
            cfg.slo.itl_ms,
            p99(ok.iter().filter_map(|r| r.inter_token_latency_ms())),
        ),
        (
            "latency",
            cfg.slo.latency_ms,
            p99(ok
                .iter()
                .filter_map(|r| r.request_latency().map(|s| s * 1000.0))),
        ),
    ];
    for (name, limit, got) in slo {
        if let (Some(limit), Some(got)) = (limit, got) {
            if got > limit {
                reasons.push(format!("SLO: p99 {name} {got:.1} ms > {limit} ms"));
            }
        }
    }
    if ok.is_empty() {
        reasons.push("no request completed".into());
    }
    Verdict {
        rate,
        achieved,
        sustained: reasons.is_empty(),
        reasons,
    }
}

/// The highest sustained rate among judged steps.
pub fn best_rate(verdicts: &[Verdict]) -> Option<f64> {
    verdicts
        .iter()
        .filter(|v| v.sustained)
        .map(|v| v.rate)
        .reduce(f64::max)
}

fn search_next(cfg: &SearchConfig, verdicts: &[Verdict]) -> Option<f64> {
    if verdicts.len() as u32 >= cfg.max_steps {
        return None;
    }
    let Some(last) = verdicts.last() else {
        return Some(cfg.start);
    };
    let lo = best_rate(verdicts);
    let hi = verdicts
        .iter()
        .filter(|v| !v.sustained)
        .map(|v| v.rate)
        .reduce(f64::min);
    match (lo, hi) {
        // Still rising: every rate so far was sustained.
        (Some(_), None) => Some(last.rate * cfg.growth),
        // Nothing sustained yet: come down.
        (None, Some(h)) => (h > 1e-3).then_some(h / cfg.growth),
        (Some(l), Some(h)) if l < h => ((h - l) / h > cfg.precision).then_some((l + h) / 2.0),
        // A sustained rate above a failed one (noise): stop at what was seen.
        _ => None,
    }
}

fn linspace_skip_first(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n < 2 {
        return Vec::new();
    }
    let step = (b - a) / (n - 1) as f64;
    (1..n)
        .map(|i| if i == n - 1 { b } else { a + i as f64 * step })
        .collect()
}

impl Profile {
    /// GuideLLM's profile type name (the search reports as constant rates).
    pub fn type_name(&self) -> &'static str {
        match self {
            Profile::Synchronous => "synchronous",
            Profile::Concurrent(_) => "concurrent",
            Profile::Throughput => "throughput",
            Profile::Constant(_) | Profile::Search(_) => "constant",
            Profile::Poisson(_) => "poisson",
            Profile::Sweep { .. } => "sweep",
        }
    }

    /// The next benchmark, given those already run. `max_concurrency` caps
    /// rate-based and throughput strategies; `explicit_cap` says whether the
    /// user set it (otherwise sweep uses GuideLLM's 512).
    pub fn next(
        &self,
        done: &[BenchmarkRun],
        max_concurrency: u32,
        explicit_cap: bool,
        seed: u64,
    ) -> Next {
        let i = done.len();
        let run = |s: Option<Strategy>| s.map_or(Next::Done, Next::Run);
        match self {
            Profile::Synchronous => run((i == 0).then_some(Strategy::Synchronous)),
            Profile::Concurrent(streams) => run(streams
                .get(i)
                .map(|&streams| Strategy::Concurrent { streams })),
            Profile::Throughput => {
                run((i == 0).then_some(Strategy::Throughput { max_concurrency }))
            }
            Profile::Constant(rates) => run(rates.get(i).map(|&rate| Strategy::Constant {
                rate,
                max_concurrency,
            })),
            Profile::Poisson(rates) => run(rates.get(i).map(|&rate| Strategy::Poisson {
                rate,
                max_concurrency,
                seed: seed.wrapping_add(i as u64),
            })),
            Profile::Sweep { size } => {
                let cap = if explicit_cap {
                    max_concurrency
                } else {
                    SWEEP_MAX_CONCURRENCY
                };
                match i {
                    0 => Next::Run(Strategy::Synchronous),
                    1 => Next::Run(Strategy::Throughput {
                        max_concurrency: cap,
                    }),
                    _ if i >= *size as usize => Next::Done,
                    _ => {
                        let (sync, thr) = (successful_rate(&done[0]), successful_rate(&done[1]));
                        if sync <= 0.0 && thr <= 0.0 {
                            return Next::Abort(
                                "invalid rates in sweep; were there any successful requests?"
                                    .into(),
                            );
                        }
                        let rates = linspace_skip_first(sync, thr, *size as usize - 1);
                        match rates.get(i - 2) {
                            Some(&rate) if rate > 0.0 => Next::Run(Strategy::Constant {
                                rate,
                                max_concurrency: cap,
                            }),
                            _ => Next::Done,
                        }
                    }
                }
            }
            Profile::Search(cfg) => {
                let verdicts: Vec<Verdict> = done.iter().map(|r| judge(r, cfg)).collect();
                run(search_next(cfg, &verdicts).map(|rate| Strategy::Constant {
                    rate,
                    max_concurrency,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(rate: f64, sustained: bool) -> Verdict {
        Verdict {
            rate,
            achieved: rate,
            sustained,
            reasons: Vec::new(),
        }
    }

    #[test]
    fn search_doubles_then_bisects_to_the_precision() {
        let cfg = SearchConfig {
            start: 4.0,
            ..Default::default()
        };
        let mut seen: Vec<Verdict> = Vec::new();
        // A server that keeps up to 37 req/s.
        while let Some(rate) = search_next(&cfg, &seen) {
            seen.push(v(rate, rate <= 37.0));
        }
        let rates: Vec<f64> = seen.iter().map(|v| v.rate).collect();
        assert_eq!(&rates[..5], &[4.0, 8.0, 16.0, 32.0, 64.0]);
        let best = best_rate(&seen).unwrap();
        let worst_fail = seen
            .iter()
            .filter(|v| !v.sustained)
            .map(|v| v.rate)
            .reduce(f64::min)
            .unwrap();
        assert!(
            best <= 37.0 && (worst_fail - best) / worst_fail <= 0.05,
            "{rates:?}"
        );
        assert!(seen.len() <= 12);
    }

    #[test]
    fn search_comes_down_when_the_first_rate_fails() {
        let cfg = SearchConfig {
            start: 10.0,
            ..Default::default()
        };
        let mut seen: Vec<Verdict> = Vec::new();
        while let Some(rate) = search_next(&cfg, &seen) {
            seen.push(v(rate, rate <= 3.0));
        }
        assert_eq!(
            &seen.iter().map(|v| v.rate).collect::<Vec<_>>()[..3],
            &[10.0, 5.0, 2.5]
        );
        assert!(best_rate(&seen).unwrap() >= 2.5);
    }

    #[test]
    fn sweep_rates_are_guidellms_linspace() {
        // numpy.linspace(7.08, 72.38, 3)[1:] from GuideLLM's verified run.
        assert_eq!(linspace_skip_first(7.08, 72.38, 3), vec![39.73, 72.38]);
        assert_eq!(linspace_skip_first(2.0, 10.0, 5), vec![4.0, 6.0, 8.0, 10.0]);
    }
}

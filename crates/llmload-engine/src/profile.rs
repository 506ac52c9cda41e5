//! Profiles: which benchmarks a run is made of, chosen one at a time from the
//! results of the ones before (sweep and search adapt; the others are lists).

use llmload_core::{Outcome, Profile, SearchConfig, Strategy, Verdict, SWEEP_MAX_CONCURRENCY};

use crate::verdict::{judge, seconds_to_judge, successful_rate};
use crate::BenchmarkRun;

/// The next benchmark of a profile.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Run this strategy.
    Run(Strategy),
    /// Run this strategy for this many seconds (the search lengthening a
    /// step that was too short to judge).
    RunFor(Strategy, f64),
    /// The profile is complete.
    Done,
    /// The profile cannot go on (the message says why).
    Abort(String),
}

/// The longest a search step may be made to run to be judged.
pub const MAX_STEP_SECONDS: f64 = 600.0;

/// What the search runs next: a rate, and the seconds it needs to be judged.
///
/// Rates double while the server keeps up, then the bracket between the
/// highest sustained and the lowest failing rate is bisected. A step too
/// short to judge is measured again for the seconds its verdict asks; later
/// steps run long enough for the latencies seen so far. A step that llmload
/// itself could not send on schedule is measured once more; invalid twice,
/// its rate bounds the search like a saturated one, but it is the client's
/// limit, never the server's.
fn search_next(cfg: &SearchConfig, verdicts: &[Verdict]) -> Option<(f64, Option<f64>)> {
    if verdicts.len() as u32 >= cfg.max_steps {
        return None;
    }
    let Some(last) = verdicts.last() else {
        return Some((cfg.start, None));
    };
    let client_twice = |i: usize| {
        i >= 1
            && verdicts[i].client_limited
            && verdicts[i - 1].client_limited
            && verdicts[i - 1].rate == verdicts[i].rate
    };
    if last.outcome == Outcome::Invalid && !client_twice(verdicts.len() - 1) {
        // Requests too slow to judge within ten minutes a step: stop here.
        if last.needs_seconds.is_some_and(|s| s > MAX_STEP_SECONDS) {
            return None;
        }
        return Some((last.rate, last.needs_seconds));
    }
    let lo = verdicts
        .iter()
        .filter(|v| v.sustained())
        .map(|v| v.rate)
        .reduce(f64::max);
    let hi = verdicts
        .iter()
        .enumerate()
        .filter(|(i, v)| v.outcome == Outcome::Saturated || client_twice(*i))
        .map(|(_, v)| v.rate)
        .reduce(f64::min);
    let next = match (lo, hi) {
        // Still rising: every rate so far was sustained.
        (Some(l), None) => Some(l * cfg.growth),
        // Nothing sustained yet: come down.
        (None, Some(h)) => (h > 1e-3).then_some(h / cfg.growth),
        (Some(l), Some(h)) if l < h => ((h - l) / h > cfg.precision).then_some((l + h) / 2.0),
        // A sustained rate above a failing one (noise): stop at what was seen.
        _ => None,
    }?;
    // Long enough for the slowest requests seen so far (latency grows with the rate).
    let (p50, p90) = verdicts
        .iter()
        .filter_map(|v| v.latency_s)
        .fold((0.0f64, 0.0f64), |(a, b), (x, y)| (a.max(x), b.max(y)));
    Some((next, Some(seconds_to_judge(next, p50, p90))))
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

/// The search's verdict on each of its steps.
pub fn judge_all(done: &[BenchmarkRun], cfg: &SearchConfig) -> Vec<Verdict> {
    done.iter()
        .filter_map(|r| judge(r, cfg.min_achieved, &cfg.slo))
        .collect()
}

/// The next benchmark of `profile`, given those already run. `max_concurrency`
/// caps rate-based and throughput strategies; `explicit_cap` says whether the
/// user set it (otherwise sweep uses GuideLLM's 512).
pub fn next_benchmark(
    profile: &Profile,
    done: &[BenchmarkRun],
    max_concurrency: u32,
    explicit_cap: bool,
    seed: u64,
) -> Next {
    let i = done.len();
    let run = |s: Option<Strategy>| s.map_or(Next::Done, Next::Run);
    match profile {
        Profile::Synchronous => run((i == 0).then_some(Strategy::Synchronous)),
        Profile::Concurrent(streams) => run(streams
            .get(i)
            .map(|&streams| Strategy::Concurrent { streams })),
        Profile::Throughput => run((i == 0).then_some(Strategy::Throughput { max_concurrency })),
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
                            "invalid rates in sweep; were there any successful requests?".into(),
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
            let verdicts = judge_all(done, cfg);
            match search_next(cfg, &verdicts) {
                None => Next::Done,
                Some((rate, seconds)) => {
                    let s = Strategy::Constant {
                        rate,
                        max_concurrency,
                    };
                    match seconds {
                        Some(secs) => Next::RunFor(s, secs),
                        None => Next::Run(s),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_core::{best_rate, client_ceiling};

    fn v(rate: f64, sustained: bool) -> Verdict {
        Verdict {
            rate,
            achieved: rate,
            outcome: if sustained {
                Outcome::Sustained
            } else {
                Outcome::Saturated
            },
            reasons: Vec::new(),
            send_lag_p99_ms: None,
            client_limited: false,
            latency_s: None,
            due: 10,
            served: 10,
            needs_seconds: None,
        }
    }

    fn run_search(cfg: &SearchConfig, mut step: impl FnMut(f64, usize) -> Verdict) -> Vec<Verdict> {
        let mut seen: Vec<Verdict> = Vec::new();
        while let Some((rate, _)) = search_next(cfg, &seen) {
            let i = seen.len();
            seen.push(step(rate, i));
        }
        seen
    }

    #[test]
    fn search_doubles_then_bisects_to_the_precision() {
        let cfg = SearchConfig {
            start: 4.0,
            ..Default::default()
        };
        // A server that keeps up to 37 req/s.
        let seen = run_search(&cfg, |rate, _| v(rate, rate <= 37.0));
        let rates: Vec<f64> = seen.iter().map(|v| v.rate).collect();
        assert_eq!(&rates[..5], &[4.0, 8.0, 16.0, 32.0, 64.0]);
        let best = best_rate(&seen).unwrap();
        let worst_fail = seen
            .iter()
            .filter(|v| !v.sustained())
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
        let seen = run_search(&cfg, |rate, _| v(rate, rate <= 3.0));
        assert_eq!(
            &seen.iter().map(|v| v.rate).collect::<Vec<_>>()[..3],
            &[10.0, 5.0, 2.5]
        );
        assert!(best_rate(&seen).unwrap() >= 2.5);
    }

    #[test]
    fn an_invalid_step_is_measured_again_and_never_lowers_the_rate() {
        let cfg = SearchConfig {
            start: 4.0,
            ..Default::default()
        };
        let invalid = |rate: f64| Verdict {
            outcome: Outcome::Invalid,
            client_limited: true,
            ..v(rate, false)
        };
        // Step 2 (8 req/s) is invalid once, then sustained; the server keeps up to 37.
        let seen = run_search(&cfg, |rate, i| {
            if i == 1 {
                invalid(rate)
            } else {
                v(rate, rate <= 37.0)
            }
        });
        assert_eq!(seen[1].rate, 8.0);
        assert_eq!(seen[2].rate, 8.0, "measured again");
        assert!(best_rate(&seen).unwrap() > 32.0);
        // A client that cannot send above 17 req/s against a server that
        // keeps up with anything: invalid twice, a rate bounds the search;
        // nothing is ever called saturated.
        let wide = SearchConfig {
            max_steps: 40,
            ..cfg.clone()
        };
        let seen = run_search(&wide, |rate, _| {
            if rate > 17.0 {
                invalid(rate)
            } else {
                v(rate, true)
            }
        });
        let rates: Vec<f64> = seen.iter().map(|v| v.rate).collect();
        assert_eq!(&rates[..7], [4.0, 8.0, 16.0, 32.0, 32.0, 24.0, 24.0]);
        assert!(seen.iter().all(|v| v.outcome != Outcome::Saturated));
        let best = best_rate(&seen).unwrap();
        assert!((16.0..=17.0).contains(&best), "{rates:?}");
        let ceiling = client_ceiling(&seen).unwrap();
        assert!(
            ceiling > 17.0 && (ceiling - best) / ceiling <= 0.05,
            "{rates:?}"
        );
        // A too-short step is measured again for the seconds it needs, as
        // often as it takes; later steps run long enough for the latency seen.
        let short = |rate: f64, secs: f64| Verdict {
            outcome: Outcome::Invalid,
            needs_seconds: Some(secs),
            ..v(rate, false)
        };
        let mut seen = vec![short(4.0, 12.0)];
        assert_eq!(search_next(&cfg, &seen), Some((4.0, Some(12.0))));
        seen.push(short(4.0, 20.0));
        assert_eq!(search_next(&cfg, &seen), Some((4.0, Some(20.0))));
        seen.push(Verdict {
            latency_s: Some((8.0, 9.0)),
            ..v(4.0, true)
        });
        // 9 s to the steady part, then 8 s more (and room for arrivals), + 1.
        assert_eq!(search_next(&cfg, &seen), Some((8.0, Some(18.0))));
    }

    #[test]
    fn sweep_rates_are_guidellms_linspace() {
        // numpy.linspace(7.08, 72.38, 3)[1:] from GuideLLM's verified run.
        assert_eq!(linspace_skip_first(7.08, 72.38, 3), vec![39.73, 72.38]);
        assert_eq!(linspace_skip_first(2.0, 10.0, 5), vec![4.0, 6.0, 8.0, 10.0]);
    }
}

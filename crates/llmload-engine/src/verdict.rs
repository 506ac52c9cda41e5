//! Whether a server kept up with a rate-based benchmark, and whether the
//! benchmark measured the server at all.
//!
//! Asked in this order:
//! 1. **Did llmload send on schedule?** When its own send delay (a wait for
//!    a full concurrency cap excluded: that is the server holding requests)
//!    reached 50 ms at p99, the host, not the server, set the load: the
//!    benchmark is [`Outcome::Invalid`], and so is an interrupted one.
//! 2. **Did requests fail?** More than 5 % of the requests sent failing is
//!    the server not keeping up ([`Outcome::Saturated`]).
//! 3. **Was it long enough?** A server's answer to a rate shows only once
//!    requests have had time to finish: at least 8 must have, and the part of
//!    the benchmark after its first p90 request latency (its *steady part*)
//!    must last at least a median latency. Otherwise it is invalid, with the
//!    seconds that would do.
//! 4. **Did the server keep up?** It did unless: over the steady part it
//!    finished fewer requests per second than 95 % of the asked rate (less
//!    one request); or it started serving fewer than 95 % of the requests due
//!    early enough to be answered (a queue: requests without a first token);
//!    or the time to first token of the requests sent in the steady part
//!    kept growing; or a p99 limit (`--slo`) broke.
//!
//! docs/metrics.md gives the exact formulas.

use llmload_core::{Outcome, Slo, StopKind, Verdict, MAX_FAILED, MAX_SEND_LAG_S, MIN_REQUESTS};
use llmload_metrics::{Distribution, Measured, RequestStatus};

/// What the engine keeps of each request.
type Rec = llmload_core::CompactRecord;

use crate::strategy::Arrivals;
use crate::BenchmarkRun;

fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[((v.len() - 1) as f64 * q).round() as usize])
}

fn p99(values: impl Iterator<Item = f64>) -> Option<f64> {
    let d = Distribution::from_values(values);
    (d.count > 0).then_some(d.percentiles.p99)
}

/// Seconds a benchmark at `rate` needs to be judged when its requests take
/// `p50`/`p90` seconds: the p90 to reach the steady part, then a median
/// latency and room for [`MIN_REQUESTS`] arrivals.
pub fn seconds_to_judge(rate: f64, p50: f64, p90: f64) -> f64 {
    p90 + p50.max(1.5 * MIN_REQUESTS as f64 / rate.max(1e-9)) + 1.0
}

/// Judge a rate-based benchmark (`None` for closed-loop ones): see the module doc.
pub fn judge(run: &BenchmarkRun, min_achieved: f64, slo: &Slo) -> Option<Verdict> {
    let rate = run.strategy.rate()?;
    let mut v = Verdict {
        rate,
        achieved: 0.0,
        outcome: Outcome::Sustained,
        reasons: Vec::new(),
        send_lag_p99_ms: p99(run.records.iter().filter_map(|r| r.send_lag())).map(|s| s * 1000.0),
        client_limited: false,
        latency_s: None,
        due: 0,
        served: 0,
        needs_seconds: None,
    };
    let invalid = |v: &mut Verdict, why: String| {
        v.outcome = Outcome::Invalid;
        v.reasons.push(why);
    };
    if matches!(&run.end_queuing, Some(s) if s.kind == StopKind::Interrupted) {
        invalid(&mut v, "interrupted".into());
    }
    if let Some(lag) = v.send_lag_p99_ms.filter(|ms| *ms > MAX_SEND_LAG_S * 1000.0) {
        let host = match &run.host {
            Some(h) => format!(
                "host CPU: load average {:.1} on {} cores",
                h.load_1m, h.cores
            ),
            None => "host CPU".to_string(),
        };
        v.client_limited = true;
        invalid(
            &mut v,
            format!(
                "llmload fell behind its own schedule (p99 send delay {lag:.1} ms; {host}), not the server"
            ),
        );
    }
    if v.outcome == Outcome::Invalid {
        return Some(v);
    }

    // When sending ended: the deadline, else the last report.
    let end = match &run.end_queuing {
        Some(s) if s.kind == StopKind::MaxSeconds => s.at.min(run.end),
        _ => run.end,
    };
    let span = end.secs_since(run.start).max(0.0);
    let mut sent: Vec<&Rec> = run
        .records
        .iter()
        .filter(|r| r.targeted_start().is_some())
        .collect();
    sent.sort_by_key(|r| r.targeted_start());
    let failed = sent
        .iter()
        .filter(|r| r.status() == RequestStatus::Errored)
        .count();
    if failed as f64 > MAX_FAILED * sent.len() as f64 {
        v.outcome = Outcome::Saturated;
        v.reasons
            .push(format!("{failed} of {} requests sent failed", sent.len()));
    }
    let done: Vec<&Rec> = sent
        .iter()
        .copied()
        .filter(|r| r.status() == RequestStatus::Completed)
        .collect();
    let latencies: Vec<f64> = done.iter().filter_map(|r| r.request_latency()).collect();
    let (p50, p90) = (quantile(latencies.clone(), 0.5), quantile(latencies, 0.9));
    v.latency_s = p50.zip(p90);
    let (p50, p90) = (p50.unwrap_or(span), p90.unwrap_or(span));
    // The steady part: after the first p90 latency, in flight no longer ramps up.
    let steady_from = p90;
    let steady = span - steady_from;
    if done.len() < MIN_REQUESTS || steady < p50 {
        if v.outcome == Outcome::Saturated {
            return Some(v);
        }
        let needed = seconds_to_judge(rate, p50, p90).max(span * 1.5);
        v.needs_seconds = Some(needed);
        invalid(
            &mut v,
            format!(
                "too short to judge: {} requests finished in {span:.1} s (requests take ~{p50:.1} s); ~{needed:.0} s needed",
                done.len()
            ),
        );
        return Some(v);
    }

    let secs = |t: Option<llmload_clock::Timestamp>| t.map(|t| t.secs_since(run.start));
    // Finished per second over the steady part, against the rate asked.
    let finished = done
        .iter()
        .filter(|r| secs(r.request_end_time()).is_some_and(|t| t >= steady_from))
        .count();
    v.achieved = finished as f64 / steady;
    if (finished as f64) < min_achieved * rate * steady - 1.0 {
        v.outcome = Outcome::Saturated;
        v.reasons.push(format!(
            "finished {:.2} req/s < {:.0}% of {rate:.2} over the steady part ({steady:.1} s)",
            v.achieved,
            min_achieved * 100.0
        ));
    }

    // Started serving: first tokens among requests due early enough to be
    // answered by a server that keeps up.
    let ttft_s = |r: &Rec| -> Option<f64> {
        let sent = r.request_start()?;
        Some(match r.first_token_iteration() {
            Some(t) if t <= end => t.secs_since(sent),
            // Still waiting for its first token when sending ended: it
            // waited at least until then.
            _ => end.secs_since(sent).max(0.0),
        })
    };
    let third = (sent.len() / 3).max(1);
    let early_ttft = quantile(
        sent.iter()
            .take(third)
            .filter(|r| r.first_token_iteration().is_some())
            .filter_map(|r| ttft_s(r))
            .collect(),
        0.5,
    )
    .unwrap_or(0.0);
    let horizon = span - 2.0 * early_ttft;
    let due_at = |r: &&Rec| secs(r.targeted_start()).unwrap_or(f64::MAX);
    let judged: Vec<&Rec> = sent
        .iter()
        .copied()
        .filter(|r| due_at(r) < horizon)
        .collect();
    let scheduled = Arrivals::for_strategy(&run.strategy, run.start)
        .map(|a| {
            a.with_rampup(run.rampup)
                .take_while(|t| t.secs_since(run.start) < horizon)
                .count()
        })
        .unwrap_or(0);
    v.due = scheduled.max(judged.len());
    v.served = judged
        .iter()
        .filter(|r| r.status() != RequestStatus::Errored)
        .filter(|r| r.first_token_iteration().is_some_and(|t| t <= end))
        .count();
    if (v.served as f64) < min_achieved * v.due as f64 {
        v.outcome = Outcome::Saturated;
        v.reasons.push(format!(
            "started serving {} of {} requests due (a queue)",
            v.served, v.due
        ));
    }

    // Time to first token growing over the steady part.
    let answered: Vec<&Rec> = judged
        .iter()
        .copied()
        .filter(|r| r.status() != RequestStatus::Errored && due_at(r) >= steady_from)
        .collect();
    let third = answered.len() / 3;
    if third >= 3 {
        let ttft_ms = |rs: &[&Rec]| {
            quantile(
                rs.iter()
                    .filter_map(|r| ttft_s(r))
                    .map(|s| s * 1000.0)
                    .collect(),
                0.5,
            )
        };
        let n = answered.len();
        if let (Some(a), Some(m), Some(b)) = (
            ttft_ms(&answered[..third]),
            ttft_ms(&answered[third..n - third]),
            ttft_ms(&answered[n - third..]),
        ) {
            // Growing, not just higher once the batch filled: the last third
            // is also well above the middle one.
            if b > 2.0 * a && b - a > 10.0 && b > 1.25 * m {
                v.outcome = Outcome::Saturated;
                v.reasons.push(format!(
                    "queueing: median TTFT grew from {a:.1} ms to {b:.1} ms"
                ));
            }
        }
    }
    let limits = [
        (
            "TTFT",
            slo.ttft_ms,
            p99(done.iter().filter_map(|r| r.time_to_first_token_ms())),
        ),
        (
            "ITL",
            slo.itl_ms,
            p99(done.iter().filter_map(|r| r.inter_token_latency_ms())),
        ),
        (
            "latency",
            slo.latency_ms,
            p99(done
                .iter()
                .filter_map(|r| r.request_latency().map(|s| s * 1000.0))),
        ),
    ];
    for (name, limit, got) in limits {
        if let (Some(limit), Some(got)) = (limit, got) {
            if got > limit {
                v.outcome = Outcome::Saturated;
                v.reasons
                    .push(format!("SLO: p99 {name} {got:.1} ms > {limit} ms"));
            }
        }
    }
    Some(v)
}

/// Successful completions per second over the benchmark's measurement
/// window ([`llmload_metrics::successful_rate`]).
pub fn successful_rate(run: &BenchmarkRun) -> f64 {
    llmload_metrics::successful_rate(&run.records, run.measure_start, run.measure_end)
}

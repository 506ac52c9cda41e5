//! Whether a server kept up with a rate-based benchmark, and whether the
//! benchmark measured the server at all.
//!
//! Two questions, asked in this order:
//! 1. **Was the measurement valid?** llmload itself must have sent on
//!    schedule: when its own send delay (a wait for a full concurrency cap
//!    excluded: that is the server holding requests) reached 50 ms at p99,
//!    the host, not the server, set the load, and the benchmark is
//!    [`Outcome::Invalid`]. So is a benchmark with too few requests to judge
//!    or an interrupted one. An invalid benchmark never counts against the
//!    server.
//! 2. **Did the server keep up?** A server keeps up when it *starts serving*
//!    the requests as they come: of the requests due early enough that a
//!    keeping-up server answers them before the benchmark ends (due before
//!    the end minus twice the early requests' median time to first token),
//!    at least 95 % got their first token — whether they finished before
//!    the cut-off or not, so short benchmarks do not read as saturation —
//!    and the time to first token does not keep growing (the median of the
//!    last third of those requests, counting a request still waiting at the
//!    end as waiting until then, is not both more than twice and 10 ms more
//!    than that of the first third and 25 % above that of the middle third).
//!    Optional p99 limits (`--slo`) apply too.

use llmload_metrics::{Distribution, RequestRecord, RequestStatus};

use crate::{BenchmarkRun, StopKind};

/// Send delay (p99) beyond which the benchmark did not measure the server.
pub const MAX_SEND_LAG_S: f64 = 0.05;
/// Requests due (in the judged part) needed to judge a benchmark.
pub const MIN_REQUESTS: usize = 8;

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

/// What a verdict says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server kept up with the asked rate.
    Sustained,
    /// The server did not keep up (the reasons say how).
    Saturated,
    /// The benchmark did not measure the server (the reasons say why):
    /// llmload fell behind its schedule, too few requests, interrupted.
    Invalid,
}

impl Outcome {
    /// `sustained`, `saturated` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sustained => "sustained",
            Outcome::Saturated => "saturated",
            Outcome::Invalid => "invalid",
        }
    }
}

/// The judgement of one rate-based benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Asked rate (req/s).
    pub rate: f64,
    /// Requests the server started serving per second, over the judged part.
    pub achieved: f64,
    /// Sustained, saturated or invalid.
    pub outcome: Outcome,
    /// Why, when not sustained.
    pub reasons: Vec<String>,
    /// p99 of llmload's own send delay (ms), cap waits excluded.
    pub send_lag_p99_ms: Option<f64>,
    /// Requests due in the judged part, and how many of them the server started.
    pub due: usize,
    /// Of `due`, those that got a first token.
    pub served: usize,
    /// For a benchmark too short to judge: seconds that would be enough.
    pub needs_seconds: Option<f64>,
}

impl Verdict {
    /// Whether the server kept up.
    pub fn sustained(&self) -> bool {
        self.outcome == Outcome::Sustained
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn p99(values: impl Iterator<Item = f64>) -> Option<f64> {
    let d = Distribution::from_values(values);
    (d.count > 0).then_some(d.percentiles.p99)
}

/// Judge a rate-based benchmark (`None` for closed-loop ones): see the module doc.
pub fn judge(run: &BenchmarkRun, min_achieved: f64, slo: &Slo) -> Option<Verdict> {
    let rate = run.strategy.rate()?;
    let mut v = Verdict {
        rate,
        achieved: 0.0,
        outcome: Outcome::Sustained,
        reasons: Vec::new(),
        send_lag_p99_ms: p99(run.records.iter().filter_map(RequestRecord::send_lag))
            .map(|s| s * 1000.0),
        due: 0,
        served: 0,
        needs_seconds: None,
    };
    let mut invalid = Vec::new();
    if matches!(&run.end_queuing, Some(s) if s.kind == StopKind::Interrupted) {
        invalid.push("interrupted".to_string());
    }
    if let Some(lag) = v.send_lag_p99_ms.filter(|ms| *ms > MAX_SEND_LAG_S * 1000.0) {
        let host = match &run.host {
            Some(h) => format!(
                "host CPU: load average {:.1} on {} cores",
                h.load_1m, h.cores
            ),
            None => "host CPU".to_string(),
        };
        invalid.push(format!(
            "llmload fell behind its own schedule (p99 send delay {lag:.1} ms; {host}), not the server"
        ));
    }

    // When sending ended: the deadline, else the last report.
    let end = match &run.end_queuing {
        Some(s) if s.kind == StopKind::MaxSeconds => s.at.min(run.end),
        _ => run.end,
    };
    let ttft_s = |r: &RequestRecord| -> Option<f64> {
        let sent = r.timings.request_start?;
        Some(match r.timings.first_token_iteration {
            Some(t) if t <= end => t.secs_since(sent),
            // Still waiting for its first token when sending ended (or failed):
            // it waited at least until then.
            _ => end.secs_since(sent).max(0.0),
        })
    };
    let mut sent: Vec<&RequestRecord> = run
        .records
        .iter()
        .filter(|r| r.timings.targeted_start.is_some())
        .collect();
    sent.sort_by_key(|r| r.timings.targeted_start);
    let third = (sent.len() / 3).max(1);
    let early_ttft = median(
        sent.iter()
            .take(third)
            .filter(|r| r.timings.first_token_iteration.is_some())
            .filter_map(|r| ttft_s(r))
            .collect(),
    )
    .unwrap_or(0.0);
    // Requests due before this were answered before the end by a server that keeps up.
    let horizon = end.secs_since(run.start) - 2.0 * early_ttft;
    let due_times: Vec<f64> = run
        .strategy
        .arrivals(run.start)
        .map(|a| {
            a.with_rampup(run.rampup)
                .map(|t| t.secs_since(run.start))
                .take_while(|&t| t < horizon)
                .collect()
        })
        .unwrap_or_default();
    let judged: Vec<&RequestRecord> = sent
        .iter()
        .copied()
        .filter(|r| {
            r.timings
                .targeted_start
                .is_some_and(|t| t.secs_since(run.start) < horizon)
        })
        .collect();
    v.due = due_times.len().max(judged.len());
    v.served = judged
        .iter()
        .filter(|r| r.status != RequestStatus::Errored)
        .filter(|r| r.timings.first_token_iteration.is_some_and(|t| t <= end))
        .count();
    if horizon > 0.0 {
        v.achieved = v.served as f64 / v.due.max(1) as f64 * rate;
    }
    if v.due < MIN_REQUESTS {
        let needed = MIN_REQUESTS as f64 * 1.5 / rate + 2.0 * early_ttft + 1.0;
        v.needs_seconds = Some(needed);
        invalid.push(format!(
            "too short to judge: {} requests due in time to be answered (at least {MIN_REQUESTS} needed; ~{needed:.0} s at this rate)",
            v.due
        ));
    }
    if !invalid.is_empty() {
        v.outcome = Outcome::Invalid;
        v.reasons = invalid;
        return Some(v);
    }

    let mut saturated = Vec::new();
    if (v.served as f64) < min_achieved * v.due as f64 {
        let errored = judged
            .iter()
            .filter(|r| r.status == RequestStatus::Errored)
            .count();
        saturated.push(format!(
            "served {} of {} requests due (achieved {:.2} req/s < {:.0}% of {rate:.2}){}",
            v.served,
            v.due,
            v.achieved,
            min_achieved * 100.0,
            if errored > 0 {
                format!("; {errored} failed")
            } else {
                String::new()
            }
        ));
    }
    let answered: Vec<&RequestRecord> = judged
        .iter()
        .copied()
        .filter(|r| r.status != RequestStatus::Errored)
        .collect();
    let third = answered.len() / 3;
    if third >= 3 {
        let ttft_ms = |rs: &[&RequestRecord]| {
            median(
                rs.iter()
                    .filter_map(|r| ttft_s(r))
                    .map(|s| s * 1000.0)
                    .collect(),
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
                saturated.push(format!(
                    "queueing: median TTFT grew from {a:.1} ms to {b:.1} ms"
                ));
            }
        }
    }
    let ok: Vec<&RequestRecord> = run
        .records
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .collect();
    let limits = [
        (
            "TTFT",
            slo.ttft_ms,
            p99(ok.iter().filter_map(|r| r.time_to_first_token_ms())),
        ),
        (
            "ITL",
            slo.itl_ms,
            p99(ok.iter().filter_map(|r| r.inter_token_latency_ms())),
        ),
        (
            "latency",
            slo.latency_ms,
            p99(ok
                .iter()
                .filter_map(|r| r.request_latency().map(|s| s * 1000.0))),
        ),
    ];
    for (name, limit, got) in limits {
        if let (Some(limit), Some(got)) = (limit, got) {
            if got > limit {
                saturated.push(format!("SLO: p99 {name} {got:.1} ms > {limit} ms"));
            }
        }
    }
    if !saturated.is_empty() {
        v.outcome = Outcome::Saturated;
        v.reasons = saturated;
    }
    Some(v)
}

/// The highest sustained rate among judged steps.
pub fn best_rate(verdicts: &[Verdict]) -> Option<f64> {
    verdicts
        .iter()
        .filter(|v| v.sustained())
        .map(|v| v.rate)
        .reduce(f64::max)
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

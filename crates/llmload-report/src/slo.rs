//! Service-level objectives per use case (OpenNebula's table of GuideLLM's
//! reference SLOs, shipped in `data/slo.json`): p99 verdicts per benchmark,
//! and goodput, the rate of requests that met every limit.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::{Benchmark, RequestStats};

/// The shipped SLO table.
pub const TABLE: &str = include_str!("../data/slo.json");

/// One use case's limits (p99, milliseconds); `None`: not constrained.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UseCase {
    /// Short name (`chat`, `rag`, `agentic`, ...).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Time to first token.
    pub ttft_ms: Option<f64>,
    /// Inter-token latency.
    pub itl_ms: Option<f64>,
    /// Request latency.
    pub latency_ms: Option<f64>,
}

#[derive(Deserialize)]
struct Table {
    use_cases: Vec<UseCase>,
}

/// Every use case of the shipped table.
pub fn use_cases() -> &'static [UseCase] {
    static T: OnceLock<Vec<UseCase>> = OnceLock::new();
    T.get_or_init(|| {
        serde_json::from_str::<Table>(TABLE)
            .expect("the shipped SLO table parses")
            .use_cases
    })
}

/// The use case named `key`.
pub fn find(key: &str) -> Option<&'static UseCase> {
    use_cases().iter().find(|u| u.key.eq_ignore_ascii_case(key))
}

/// One limit checked against a benchmark's p99.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `TTFT`, `ITL` or `latency`.
    pub metric: &'static str,
    /// The benchmark's p99, ms.
    pub p99_ms: f64,
    /// The limit, ms.
    pub limit_ms: f64,
    /// `p99_ms <= limit_ms`.
    pub pass: bool,
}

/// A use case's verdict on one benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Each constrained metric.
    pub checks: Vec<Check>,
    /// Every check passed (and the benchmark has successful requests).
    pub pass: bool,
}

impl UseCase {
    /// Whether one request met every limit (a request with one output token
    /// has no inter-token latency and meets that limit).
    pub fn met_by(
        &self,
        ttft_ms: Option<f64>,
        itl_ms: Option<f64>,
        latency_s: Option<f64>,
    ) -> bool {
        let within = |v: Option<f64>, limit: Option<f64>, missing_ok: bool| match (v, limit) {
            (_, None) => true,
            (Some(v), Some(l)) => v <= l,
            (None, Some(_)) => missing_ok,
        };
        within(ttft_ms, self.ttft_ms, false)
            && within(itl_ms, self.itl_ms, true)
            && within(latency_s.map(|s| s * 1000.0), self.latency_ms, false)
    }

    /// The p99 verdict on a benchmark's successful requests.
    pub fn judge(&self, b: &Benchmark) -> Verdict {
        let m = &b.metrics;
        let mut checks = Vec::new();
        let mut check = |metric, p99_ms: f64, limit: Option<f64>| {
            if let Some(limit_ms) = limit {
                checks.push(Check {
                    metric,
                    p99_ms,
                    limit_ms,
                    pass: p99_ms <= limit_ms,
                });
            }
        };
        check(
            "TTFT",
            m.time_to_first_token_ms.successful.percentiles.p99,
            self.ttft_ms,
        );
        check(
            "ITL",
            m.inter_token_latency_ms.successful.percentiles.p99,
            self.itl_ms,
        );
        check(
            "latency",
            m.request_latency.successful.percentiles.p99 * 1000.0,
            self.latency_ms,
        );
        let pass = m.request_totals.successful > 0 && checks.iter().all(|c| c.pass);
        Verdict { checks, pass }
    }
}

/// Requests that met a use case's limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goodput {
    /// Of the successful requests, the fraction that met every limit.
    pub fraction: f64,
    /// `fraction` times the successful requests per second.
    pub requests_per_second: f64,
}

/// Goodput from per-request `(TTFT ms, ITL ms, latency s)` of successful
/// requests, at `rate` successful requests per second.
pub fn goodput(
    uc: &UseCase,
    requests: impl IntoIterator<Item = (Option<f64>, Option<f64>, Option<f64>)>,
    rate: f64,
) -> Goodput {
    let (mut met, mut n) = (0u64, 0u64);
    for (ttft, itl, latency) in requests {
        n += 1;
        met += u64::from(uc.met_by(ttft, itl, latency));
    }
    let fraction = if n == 0 { 0.0 } else { met as f64 / n as f64 };
    Goodput {
        fraction,
        requests_per_second: fraction * rate,
    }
}

/// Goodput of a report's benchmark from the request records it keeps (all,
/// or a sample: then the fraction is the sample's).
pub fn goodput_of(uc: &UseCase, b: &Benchmark) -> Goodput {
    let per_request = |r: &RequestStats| {
        (
            r.time_to_first_token_ms,
            r.inter_token_latency_ms,
            r.request_latency,
        )
    };
    goodput(
        uc,
        b.requests.successful.iter().map(per_request),
        b.metrics.requests_per_second.successful.mean,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_seeds() {
        let keys: Vec<&str> = use_cases().iter().map(|u| u.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "chat",
                "rag",
                "agentic",
                "content-generation",
                "code-generation",
                "code-completion"
            ]
        );
        let chat = find("CHAT").unwrap();
        assert_eq!(
            (chat.ttft_ms, chat.itl_ms, chat.latency_ms),
            (Some(200.0), Some(50.0), None)
        );
        assert_eq!(find("agentic").unwrap().latency_ms, Some(5000.0));
        assert_eq!(find("code-completion").unwrap().latency_ms, Some(2000.0));
    }

    #[test]
    fn requests_meet_every_limit_or_not() {
        let chat = find("chat").unwrap();
        assert!(chat.met_by(Some(200.0), Some(50.0), Some(99.0)));
        assert!(!chat.met_by(Some(200.1), Some(10.0), None));
        assert!(!chat.met_by(Some(10.0), Some(50.1), None));
        assert!(chat.met_by(Some(10.0), None, None), "one token: no ITL");
        assert!(!chat.met_by(None, Some(1.0), None), "no first token");
        let agentic = find("agentic").unwrap();
        assert!(agentic.met_by(None, None, Some(4.9)));
        assert!(!agentic.met_by(Some(1.0), Some(1.0), Some(5.1)));
    }

    #[test]
    fn goodput_is_the_meeting_fraction_of_the_rate() {
        let chat = find("chat").unwrap();
        let reqs = [
            (Some(100.0), Some(20.0), Some(1.0)),
            (Some(300.0), Some(20.0), Some(1.0)),
            (Some(150.0), Some(60.0), Some(1.0)),
            (Some(199.0), Some(49.0), Some(1.0)),
        ];
        let g = goodput(chat, reqs, 8.0);
        assert_eq!(g.fraction, 0.5);
        assert_eq!(g.requests_per_second, 4.0);
        assert_eq!(goodput(chat, [], 8.0).requests_per_second, 0.0);
    }
}

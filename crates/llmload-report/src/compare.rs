//! Comparing runs: a regression gate between two reports, and (in
//! `certified.rs`) a run against the certified-results reference database
//! (OpenNebula's table, shipped in `data/certified.csv`).

use crate::model::{Benchmark, Results as Report};

mod certified;
pub use certified::{
    certified_row, find_reference, reference_db, sustained, Certified, CERTIFIED, COLUMNS,
};

/// Whether a larger value is better or worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// A metric the gate can compare.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// `ttft_p99`, `throughput`, ...
    pub key: &'static str,
    pub unit: &'static str,
    pub better: Better,
    get: fn(&Benchmark) -> f64,
}

impl Metric {
    /// The metric's value in a benchmark.
    pub fn of(&self, b: &Benchmark) -> f64 {
        (self.get)(b)
    }
}

macro_rules! lat {
    ($key:literal, $unit:literal, $field:ident, $scale:literal, $stat:expr) => {
        Metric {
            key: $key,
            unit: $unit,
            better: Better::Lower,
            get: |b| $stat(&b.metrics.$field.successful) * $scale,
        }
    };
}

fn mean(d: &crate::guidellm::wire::Ds) -> f64 {
    d.mean
}
fn p50(d: &crate::guidellm::wire::Ds) -> f64 {
    d.percentiles.p50
}
fn p90(d: &crate::guidellm::wire::Ds) -> f64 {
    d.percentiles.p90
}
fn p99(d: &crate::guidellm::wire::Ds) -> f64 {
    d.percentiles.p99
}

/// Every metric, by key.
pub const METRICS: [Metric; 19] = [
    lat!("ttft_mean", "ms", time_to_first_token_ms, 1.0, mean),
    lat!("ttft_p50", "ms", time_to_first_token_ms, 1.0, p50),
    lat!("ttft_p90", "ms", time_to_first_token_ms, 1.0, p90),
    lat!("ttft_p99", "ms", time_to_first_token_ms, 1.0, p99),
    lat!("itl_mean", "ms", inter_token_latency_ms, 1.0, mean),
    lat!("itl_p50", "ms", inter_token_latency_ms, 1.0, p50),
    lat!("itl_p90", "ms", inter_token_latency_ms, 1.0, p90),
    lat!("itl_p99", "ms", inter_token_latency_ms, 1.0, p99),
    lat!("tpot_mean", "ms", time_per_output_token_ms, 1.0, mean),
    lat!("tpot_p50", "ms", time_per_output_token_ms, 1.0, p50),
    lat!("tpot_p99", "ms", time_per_output_token_ms, 1.0, p99),
    lat!("latency_mean", "ms", request_latency, 1000.0, mean),
    lat!("latency_p50", "ms", request_latency, 1000.0, p50),
    lat!("latency_p90", "ms", request_latency, 1000.0, p90),
    lat!("latency_p99", "ms", request_latency, 1000.0, p99),
    Metric {
        key: "throughput",
        unit: "req/s",
        better: Better::Higher,
        get: |b| b.metrics.requests_per_second.successful.mean,
    },
    Metric {
        key: "output_tps",
        unit: "tok/s",
        better: Better::Higher,
        get: crate::figures::output_tokens_per_second,
    },
    Metric {
        key: "total_tps",
        unit: "tok/s",
        better: Better::Higher,
        get: crate::figures::total_tokens_per_second,
    },
    Metric {
        key: "error_rate",
        unit: "%",
        better: Better::Lower,
        get: |b| {
            let t = &b.metrics.request_totals;
            // In floats: the counts are whatever the file says (a sum of
            // two u64 may overflow).
            let done = t.successful as f64 + t.errored as f64;
            if done == 0.0 {
                0.0
            } else {
                100.0 * t.errored as f64 / done
            }
        },
    },
];

/// Shown when no limit names them.
pub const DEFAULT_SHOWN: [&str; 5] = [
    "ttft_p99",
    "itl_p99",
    "latency_p99",
    "throughput",
    "output_tps",
];

/// A metric by key.
pub fn metric(key: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.key == key)
}

/// `ttft_p99=10%,throughput=5%` (or fractions: `0.1`): the allowed change
/// in the worse direction, relative; for `error_rate`, in percentage points.
pub fn parse_limits(raw: &str) -> Result<Vec<(&'static Metric, f64)>, String> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected METRIC=LIMIT, e.g. ttft_p99=10%"))?;
        let m = metric(k.trim()).ok_or_else(|| {
            let keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
            format!("{k:?}: unknown metric (one of {})", keys.join(", "))
        })?;
        let v = v.trim();
        let limit = match v.strip_suffix('%') {
            Some(p) if m.key == "error_rate" => p.trim().parse::<f64>().ok(),
            Some(p) => p.trim().parse::<f64>().ok().map(|x| x / 100.0),
            None => v.parse::<f64>().ok(),
        }
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("{part:?}: expected a limit like 10% or 0.1"))?;
        out.push((m, limit));
    }
    Ok(out)
}

/// One metric of one benchmark pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The new benchmark's strategy (`BASE vs NEW` when they differ).
    pub benchmark: String,
    pub metric: &'static str,
    pub unit: &'static str,
    pub base: f64,
    pub new: f64,
    /// Relative change (`error_rate`: points), positive = worse.
    pub worse_by: f64,
    pub limit: Option<f64>,
    pub regressed: bool,
}

impl Row {
    /// The change in words, its size positive: `worse by 12.3%`,
    /// `better by 96.8%`, `same`; for `error_rate` in points.
    pub fn change(&self) -> String {
        if self.worse_by.is_nan() {
            return "-".into();
        }
        if self.worse_by.is_infinite() {
            return if self.worse_by > 0.0 {
                "worse (was 0)"
            } else {
                "better (was 0)"
            }
            .into();
        }
        let (size, text) = if self.metric == "error_rate" {
            let size = self.worse_by.abs();
            (size, format!("{size:.2} pt"))
        } else {
            let size = 100.0 * self.worse_by.abs();
            (size, format!("{size:.1}%"))
        };
        if size < 0.05 {
            "same".into()
        } else if self.worse_by > 0.0 {
            format!("worse by {text}")
        } else {
            format!("better by {text}")
        }
    }
}

/// The rows of a comparison, and what the reader must know about them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
    /// Benchmarks paired with a different strategy, or left unpaired.
    pub warnings: Vec<String>,
}

/// Benchmark pairs (base, new), and the warnings about them.
type Paired<'a> = (Vec<(&'a Benchmark, &'a Benchmark)>, Vec<String>);

/// Benchmarks paired by strategy and rate (`constant@5.00`); those left
/// over are paired by position, each such pair with a warning naming both,
/// and any still left are named as not compared.
fn pairs<'a>(base: &'a Report, new: &'a Report) -> Result<Paired<'a>, String> {
    // Each label made once: a search has dozens of benchmarks.
    let base_labels: Vec<String> = base.benchmarks.iter().map(Benchmark::label).collect();
    let new_labels: Vec<String> = new.benchmarks.iter().map(Benchmark::label).collect();
    let mut taken = vec![false; new.benchmarks.len()];
    let mut matched: Vec<Option<usize>> = vec![None; base.benchmarks.len()];
    for (i, label) in base_labels.iter().enumerate() {
        let found = (0..new_labels.len()).find(|&j| !taken[j] && new_labels[j] == *label);
        if let Some(j) = found {
            taken[j] = true;
            matched[i] = Some(j);
        }
    }
    let mut spare_new = (0..new.benchmarks.len()).filter(|&j| !taken[j]);
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, m) in matched.iter().enumerate() {
        let j = match m {
            Some(j) => *j,
            None => match spare_new.next() {
                Some(j) => {
                    warnings.push(format!(
                        "base {} and new {} have different strategies: compared by position",
                        base_labels[i], new_labels[j]
                    ));
                    j
                }
                None => {
                    warnings.push(format!(
                        "base {}: no benchmark left in new to compare it with",
                        base_labels[i]
                    ));
                    continue;
                }
            },
        };
        out.push((&base.benchmarks[i], &new.benchmarks[j]));
    }
    for j in spare_new {
        warnings.push(format!(
            "new {}: no benchmark left in base to compare it with",
            new_labels[j]
        ));
    }
    // In the new report's order.
    let position = |b: &Benchmark| {
        new.benchmarks
            .iter()
            .position(|n| std::ptr::eq(n, b))
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|(_, n)| position(n));
    if out.is_empty() {
        return Err(format!(
            "nothing to compare: base has {} benchmarks, new has {}",
            base.benchmarks.len(),
            new.benchmarks.len()
        ));
    }
    Ok((out, warnings))
}

/// Compare `new` against `base` under `limits`.
pub fn compare(
    base: &Report,
    new: &Report,
    limits: &[(&'static Metric, f64)],
) -> Result<Comparison, String> {
    let mut shown: Vec<&'static Metric> = DEFAULT_SHOWN.iter().filter_map(|k| metric(k)).collect();
    for (m, _) in limits {
        if !shown.iter().any(|s| s.key == m.key) {
            shown.push(m);
        }
    }
    let (pairs, warnings) = pairs(base, new)?;
    let mut rows = Vec::new();
    for (b, n) in pairs {
        let (lb, ln) = (b.label(), n.label());
        let benchmark = if lb == ln {
            ln
        } else {
            format!("{lb} vs {ln}")
        };
        for m in &shown {
            let (vb, vn) = (m.of(b), m.of(n));
            let worse_by = if m.key == "error_rate" {
                vn - vb
            } else {
                let delta = match m.better {
                    Better::Lower => vn - vb,
                    Better::Higher => vb - vn,
                };
                if vb == 0.0 {
                    if delta == 0.0 || delta.is_nan() {
                        delta
                    } else {
                        f64::INFINITY.copysign(delta)
                    }
                } else {
                    delta / vb.abs()
                }
            };
            let limit = limits.iter().find(|(l, _)| l.key == m.key).map(|l| l.1);
            rows.push(Row {
                benchmark: benchmark.clone(),
                metric: m.key,
                unit: m.unit,
                base: vb,
                new: vn,
                worse_by,
                limit,
                regressed: limit.is_some_and(|l| worse_by > l),
            });
        }
    }
    Ok(Comparison { rows, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn limits_parse_with_units_and_reject_typos() {
        let l = parse_limits("ttft_p99=10%, throughput=0.05,error_rate=1%").unwrap();
        assert_eq!(
            l.iter().map(|(m, v)| (m.key, *v)).collect::<Vec<_>>(),
            [("ttft_p99", 0.1), ("throughput", 0.05), ("error_rate", 1.0)]
        );
        assert!(parse_limits("ttft_p98=10%")
            .unwrap_err()
            .contains("unknown metric"));
        assert!(parse_limits("ttft_p99")
            .unwrap_err()
            .contains("METRIC=LIMIT"));
        assert!(parse_limits("ttft_p99=lots").unwrap_err().contains("10%"));
    }

    /// A report of one benchmark per `(strategy, requests/s, output tok/s)`.
    fn report(benchmarks: &[(Value, f64, f64)]) -> Report {
        let path = concat!(
            env!("LLMLOAD_SHARED"),
            "/fixtures/guidellm-0.4.0/mock-constant5-benchmarks.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let wire = crate::Report::from_json(&text).expect("the fixture loads");
        let mut r = Report::from_report(&wire, crate::model::Schema::V04).unwrap();
        let one = r.benchmarks[0].clone();
        r.benchmarks = benchmarks
            .iter()
            .map(|(strategy, rps, tps)| {
                let mut b = one.clone();
                b.strategy = crate::model::strategy_of(strategy).unwrap();
                b.metrics.requests_per_second.successful.mean = *rps;
                b.metrics.output_tokens_per_second.successful.mean = *tps;
                b
            })
            .collect();
        r
    }

    fn constant(rate: f64) -> Value {
        serde_json::json!({"type_": "constant", "rate": rate})
    }

    #[test]
    fn pairs_follow_the_strategy_and_a_mismatch_is_said() {
        let base = report(&[(constant(10.0), 10.0, 100.0), (constant(20.0), 19.0, 190.0)]);
        let new = report(&[(constant(20.0), 20.0, 200.0), (constant(10.0), 9.0, 90.0)]);
        let c = compare(&base, &new, &[]).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let tput: Vec<(&str, f64, f64)> = c
            .rows
            .iter()
            .filter(|r| r.metric == "throughput")
            .map(|r| (r.benchmark.as_str(), r.base, r.new))
            .collect();
        assert_eq!(
            tput,
            [
                ("constant@20.00", 19.0, 20.0),
                ("constant@10.00", 10.0, 9.0)
            ]
        );

        let other = report(&[(constant(20.0), 20.0, 200.0)]);
        let lone = report(&[(constant(10.0), 10.0, 100.0)]);
        let c = compare(&lone, &other, &[]).unwrap();
        assert_eq!(
            c.warnings,
            ["base constant@10.00 and new constant@20.00 have different strategies: compared by position"]
        );
        assert_eq!(c.rows[0].benchmark, "constant@10.00 vs constant@20.00");
        let c = compare(&base, &other, &[]).unwrap();
        assert_eq!(
            c.warnings,
            ["base constant@10.00: no benchmark left in new to compare it with"]
        );
    }

    #[test]
    fn a_gain_is_better_and_a_loss_worse_each_by_a_positive_amount() {
        let base = report(&[(constant(10.0), 10.0, 1000.0)]);
        let new = report(&[(constant(10.0), 19.68, 500.0)]);
        let c = compare(&base, &new, &[]).unwrap();
        let change = |key: &str| {
            c.rows
                .iter()
                .find(|r| r.metric == key)
                .map(Row::change)
                .unwrap()
        };
        assert_eq!(change("throughput"), "better by 96.8%");
        assert_eq!(change("output_tps"), "worse by 50.0%");
        assert_eq!(change("ttft_p99"), "same");
        let row = |metric, worse_by| Row {
            benchmark: String::new(),
            metric,
            unit: "",
            base: 0.0,
            new: 0.0,
            worse_by,
            limit: None,
            regressed: false,
        };
        assert_eq!(row("error_rate", -1.5).change(), "better by 1.50 pt");
        assert_eq!(
            row("throughput", f64::NEG_INFINITY).change(),
            "better (was 0)"
        );
        assert_eq!(row("ttft_p99", f64::INFINITY).change(), "worse (was 0)");
    }
}

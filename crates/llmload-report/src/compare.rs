//! Comparing runs: a regression gate between two reports, and a run against
//! the certified-results reference database (OpenNebula's table, shipped
//! in `data/certified.csv`).

use serde_json::Value;

use crate::console::strategy_label;
use crate::guidellm::wire::{Benchmark, Report};

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
        get: |b| b.metrics.output_tokens_per_second.successful.mean,
    },
    Metric {
        key: "total_tps",
        unit: "tok/s",
        better: Better::Higher,
        get: |b| b.metrics.tokens_per_second.successful.mean,
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

/// Benchmarks paired by strategy label, else by position.
fn pairs<'a>(
    base: &'a Report,
    new: &'a Report,
) -> Result<Vec<(&'a Benchmark, &'a Benchmark)>, String> {
    // Each label made once: a search has dozens of benchmarks.
    let new_labels: Vec<String> = new.benchmarks.iter().map(strategy_label).collect();
    let by_label: Vec<_> = base
        .benchmarks
        .iter()
        .filter_map(|b| {
            let l = strategy_label(b);
            new_labels
                .iter()
                .position(|n| *n == l)
                .map(|i| (b, &new.benchmarks[i]))
        })
        .collect();
    if by_label.len() == base.benchmarks.len().min(new.benchmarks.len()) && !by_label.is_empty() {
        return Ok(by_label);
    }
    if base.benchmarks.len() == new.benchmarks.len() && !base.benchmarks.is_empty() {
        return Ok(base.benchmarks.iter().zip(&new.benchmarks).collect());
    }
    Err(format!(
        "cannot pair the benchmarks: base has {}, new has {}, with different strategies",
        base.benchmarks.len(),
        new.benchmarks.len()
    ))
}

/// Compare `new` against `base` under `limits`.
pub fn compare(
    base: &Report,
    new: &Report,
    limits: &[(&'static Metric, f64)],
) -> Result<Vec<Row>, String> {
    let mut shown: Vec<&'static Metric> = DEFAULT_SHOWN.iter().filter_map(|k| metric(k)).collect();
    for (m, _) in limits {
        if !shown.iter().any(|s| s.key == m.key) {
            shown.push(m);
        }
    }
    let mut rows = Vec::new();
    for (b, n) in pairs(base, new)? {
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
                    if delta > 0.0 {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                } else {
                    delta / vb.abs()
                }
            };
            let limit = limits.iter().find(|(l, _)| l.key == m.key).map(|l| l.1);
            rows.push(Row {
                benchmark: strategy_label(n),
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
    Ok(rows)
}

/// The shipped certified-results table.
pub const CERTIFIED: &str = include_str!("../data/certified.csv");

/// One row of the certified results (times in ms, throughput in req/s).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Certified {
    pub model: String,
    pub vcpus: Option<f64>,
    pub ram_gb: Option<f64>,
    pub gpu: String,
    pub throughput_rps: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub p99_ttft_ms: Option<f64>,
    pub p99_itl_ms: Option<f64>,
    pub p99_tpot_ms: Option<f64>,
}

/// The numeric columns, in table order, with their headers.
pub const COLUMNS: [&str; 7] = [
    "Throughput (req/s)",
    "TTFT (ms)",
    "ITL (ms)",
    "TPOT (ms)",
    "p99 TTFT (ms)",
    "p99 ITL (ms)",
    "p99 TPOT (ms)",
];

impl Certified {
    /// The numeric columns, in [`COLUMNS`] order.
    pub fn values(&self) -> [Option<f64>; 7] {
        [
            self.throughput_rps,
            self.ttft_ms,
            self.itl_ms,
            self.tpot_ms,
            self.p99_ttft_ms,
            self.p99_itl_ms,
            self.p99_tpot_ms,
        ]
    }
}

/// Parse a reference table (CSV, `#` comments, the header of `data/certified.csv`).
pub fn reference_db(text: &str) -> Result<Vec<Certified>, String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty table")?
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no {name:?} column"))
    };
    let idx = [
        col("model")?,
        col("vcpus")?,
        col("ram_gb")?,
        col("gpu")?,
        col("throughput_rps")?,
        col("ttft_ms")?,
        col("itl_ms")?,
        col("tpot_ms")?,
        col("p99_ttft_ms")?,
        col("p99_itl_ms")?,
        col("p99_tpot_ms")?,
    ];
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |k: usize| cells.get(idx[k]).copied().unwrap_or("");
            let num = |k: usize| -> Result<Option<f64>, String> {
                match cell(k) {
                    "" | "-" => Ok(None),
                    v => v
                        .parse()
                        .map(Some)
                        .map_err(|_| format!("row {}: {:?} is not a number", i + 1, v)),
                }
            };
            Ok(Certified {
                model: cell(0).to_string(),
                vcpus: num(1)?,
                ram_gb: num(2)?,
                gpu: cell(3).to_string(),
                throughput_rps: num(4)?,
                ttft_ms: num(5)?,
                itl_ms: num(6)?,
                tpot_ms: num(7)?,
                p99_ttft_ms: num(8)?,
                p99_itl_ms: num(9)?,
                p99_tpot_ms: num(10)?,
            })
        })
        .collect()
}

/// The row of `model` on `gpu` (case-insensitive).
pub fn find_reference<'a>(db: &'a [Certified], model: &str, gpu: &str) -> Option<&'a Certified> {
    let norm = |g: &str| crate::monotonic::accelerator_name(g).replace(' ', "");
    db.iter()
        .find(|r| r.model.eq_ignore_ascii_case(model) && norm(&r.gpu) == norm(gpu))
}

/// Whether a benchmark kept up with its asked rate (closed loop: always).
pub fn sustained(b: &Benchmark) -> bool {
    match b.config.strategy.get("rate").and_then(Value::as_f64) {
        Some(asked) => b.metrics.requests_per_second.successful.mean >= 0.95 * asked,
        None => true,
    }
}

/// A run's certified-results row: the benchmark with the highest achieved
/// rate among those that kept up with their asked rate (if none did, the
/// highest overall); its achieved rate and mean and p99 latencies.
pub fn certified_row(report: &Report, model: &str, gpu: &str) -> Option<(usize, Certified)> {
    let ok: Vec<(usize, &Benchmark)> = report
        .benchmarks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.metrics.request_totals.successful > 0)
        .collect();
    let rate = |b: &Benchmark| b.metrics.requests_per_second.successful.mean;
    let best = ok
        .iter()
        .filter(|(_, b)| sustained(b))
        .max_by(|a, b| rate(a.1).total_cmp(&rate(b.1)))
        .or_else(|| ok.iter().max_by(|a, b| rate(a.1).total_cmp(&rate(b.1))))?;
    let m = &best.1.metrics;
    Some((
        best.0,
        Certified {
            model: model.to_string(),
            vcpus: None,
            ram_gb: None,
            gpu: gpu.to_string(),
            throughput_rps: Some(rate(best.1)),
            ttft_ms: Some(m.time_to_first_token_ms.successful.mean),
            itl_ms: Some(m.inter_token_latency_ms.successful.mean),
            tpot_ms: Some(m.time_per_output_token_ms.successful.mean),
            p99_ttft_ms: Some(m.time_to_first_token_ms.successful.percentiles.p99),
            p99_itl_ms: Some(m.inter_token_latency_ms.successful.percentiles.p99),
            p99_tpot_ms: Some(m.time_per_output_token_ms.successful.percentiles.p99),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_shipped_reference_table_parses() {
        let db = reference_db(CERTIFIED).unwrap();
        assert_eq!(db.len(), 6);
        let r = find_reference(&db, "qwen/qwen2.5-3b-instruct", "l40s").unwrap();
        assert_eq!(
            (r.throughput_rps, r.ttft_ms, r.p99_ttft_ms),
            (Some(6.4), Some(61.8), Some(170.0))
        );
        let empty = find_reference(&db, "Qwen/Qwen2.5-14B-Instruct", "L40s").unwrap();
        assert_eq!(empty.values(), [None; 7]);
        assert!(reference_db("model,gpu\nx,y")
            .unwrap_err()
            .contains("vcpus"));
    }
}

//! The certified-results reference database (OpenNebula's table, shipped in
//! `data/certified.csv`) and a run's row to compare with it.

use crate::model::{Benchmark, Results as Report};

/// The shipped certified-results table.
pub const CERTIFIED: &str = include_str!("../../data/certified.csv");

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
    match b.strategy.rate() {
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

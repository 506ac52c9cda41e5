//! The results of a run, whichever GuideLLM schema they were written in:
//! what was asked, what ran (each benchmark's strategy, window and
//! verdict) and what was measured (its distributions and records). The
//! console, HTML, compare, slo and monotonic read this, never a schema's
//! JSON paths; each schema's module converts its documents into it
//! ([`Results::from_report`] for GuideLLM 0.4's and llmload's,
//! [`crate::schema2::read::results`] for GuideLLM 0.8's).
//!
//! The distributions and request records keep GuideLLM's types
//! ([`Metrics`], [`Requests`]): both schemas write them under the same
//! names and units. llmload's own sections are typed in [`ext`].

pub mod ext;

use llmload_core::Strategy;
use serde_json::{Map, Value};

use crate::guidellm::wire::{Benchmark as WireBenchmark, Report};
pub use crate::guidellm::wire::{Counts, Metrics, RequestStats, Requests, SchedulerMetrics};
use ext::{BenchmarkExt, RunExt};

/// The schema a report was read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Schema {
    /// GuideLLM 0.4's `benchmarks.json` (and llmload's `benchmark` reports).
    #[default]
    V04,
    /// GuideLLM 0.8's, `metadata.version: 2`.
    V2,
}

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Where it was read from.
    pub schema: Schema,
    /// What was asked, as GuideLLM 0.4's flat options (`target`, `model`,
    /// `profile`, `rate`, `data`, ...; a 0.8 report's `config.spec` is
    /// converted into them).
    pub asked: Map<String, Value>,
    /// The model served, as the backend recorded it (else as asked).
    pub model: Option<String>,
    /// llmload's additions to the run.
    pub ext: RunExt,
    /// The benchmarks, in run order.
    pub benchmarks: Vec<Benchmark>,
}

/// One benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Benchmark {
    /// What ran.
    pub strategy: Strategy,
    /// Measurement window start, epoch seconds.
    pub start_time: f64,
    /// Measurement window end.
    pub end_time: f64,
    /// `end_time - start_time`.
    pub duration: f64,
    /// From the first request to the window's start.
    pub warmup_duration: f64,
    /// From the window's end to the last request's end.
    pub cooldown_duration: f64,
    /// Timings and averaged scheduling delays.
    pub scheduler_metrics: SchedulerMetrics,
    /// Every distribution.
    pub metrics: Box<Metrics>,
    /// The request records kept, by status.
    pub requests: Requests,
    /// llmload's additions.
    pub ext: BenchmarkExt,
}

impl Benchmark {
    /// GuideLLM's label: `constant@5.00`, `concurrent@4`, `synchronous`,
    /// `throughput@unlimited`.
    pub fn label(&self) -> String {
        match self.strategy {
            Strategy::Constant { rate, .. } | Strategy::Poisson { rate, .. } => {
                let kind = self.strategy.type_name();
                if rate.abs() < 1e9 {
                    format!("{kind}@{rate:.2}")
                } else {
                    // Not 1e300 written out in 300 digits.
                    format!("{kind}@{}", crate::html::short_number(rate))
                }
            }
            Strategy::Throughput {
                max_concurrency: u32::MAX,
            } => "throughput@unlimited".into(),
            ref s => s.to_string(),
        }
    }
}

/// A `config.strategy` object as written by GuideLLM 0.4, 0.8 or llmload:
/// a missing in-flight cap reads as unlimited (`u32::MAX`), a missing
/// Poisson seed as 0 (neither changes what a reader shows).
pub fn strategy_of(v: &Value) -> Result<Strategy, String> {
    let cap = || {
        v["max_concurrency"]
            .as_u64()
            .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let rate = || {
        v["rate"]
            .as_f64()
            .ok_or_else(|| format!("strategy {v}: no rate"))
    };
    Ok(match v["type_"].as_str() {
        Some("synchronous") => Strategy::Synchronous,
        Some("concurrent") => Strategy::Concurrent {
            streams: v["streams"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_else(cap),
        },
        Some("throughput") => Strategy::Throughput {
            max_concurrency: cap(),
        },
        Some("constant") => Strategy::Constant {
            rate: rate()?,
            max_concurrency: cap(),
        },
        Some("poisson") => Strategy::Poisson {
            rate: rate()?,
            max_concurrency: cap(),
            seed: v["random_seed"].as_u64().unwrap_or(0),
        },
        _ => {
            return Err(format!(
            "strategy {v}: expected type_ synchronous, concurrent, throughput, constant or poisson"
        ))
        }
    })
}

impl Benchmark {
    /// One benchmark of a GuideLLM 0.4 (or 0.8: the same fields) report.
    pub fn from_wire(b: &WireBenchmark) -> Result<Benchmark, String> {
        Self::from_wire_with(b, true)
    }

    /// With every record (`all`), or with the errored ones only.
    fn from_wire_with(b: &WireBenchmark, all: bool) -> Result<Benchmark, String> {
        let requests = if all {
            b.requests.clone()
        } else {
            Requests {
                successful: Vec::new(),
                errored: b.requests.errored.clone(),
                incomplete: Vec::new(),
                ..Requests::default()
            }
        };
        Ok(Benchmark {
            strategy: strategy_of(&b.config.strategy)?,
            start_time: b.start_time,
            end_time: b.end_time,
            duration: b.duration,
            warmup_duration: b.warmup_duration,
            cooldown_duration: b.cooldown_duration,
            scheduler_metrics: b.scheduler_metrics.clone(),
            metrics: b.metrics.clone(),
            requests,
            ext: ext::section(b.llmload.as_ref()),
        })
    }
}

impl Results {
    /// The results of a GuideLLM 0.4 report (or of the 0.4 view of a 0.8
    /// one, with `schema` saying so).
    pub fn from_report(r: &Report, schema: Schema) -> Result<Results, String> {
        Self::from_report_with(r, schema, true)
    }

    /// The same without the successful and incomplete records (the errored
    /// ones stay: why requests failed is read from them): for readers of
    /// the distributions alone (the console tables), at a fraction of the
    /// memory of a report that keeps every request.
    pub fn summary_of(r: &Report, schema: Schema) -> Result<Results, String> {
        Self::from_report_with(r, schema, false)
    }

    fn from_report_with(r: &Report, schema: Schema, all: bool) -> Result<Results, String> {
        let benchmarks = r
            .benchmarks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Benchmark::from_wire_with(b, all).map_err(|e| format!("benchmarks[{i}]: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let asked = r.args.as_object().cloned().unwrap_or_default();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
        let model = text(
            r.benchmarks
                .first()
                .and_then(|b| b.config.backend.get("model")),
        )
        .or_else(|| text(asked.get("model")));
        Ok(Results {
            schema,
            asked,
            model,
            ext: ext::section(r.llmload.as_ref()),
            benchmarks,
        })
    }

    /// The results of a report of either schema, as parsed JSON.
    pub fn from_value(doc: &Value) -> Result<Results, String> {
        if crate::schema2::read::is_schema2(doc) {
            return crate::schema2::read::results(doc);
        }
        let r = Report::from_value(doc.clone())?;
        Results::from_report(&r, Schema::V04)
    }

    /// Read a report of either schema (`.json`, or `.yaml`/`.yml`), with
    /// every record.
    pub fn load(path: &std::path::Path) -> Result<Results, crate::ReportError> {
        let (report, doc) = Report::load_any(path)?;
        let schema = if doc.is_some() {
            Schema::V2
        } else {
            Schema::V04
        };
        Results::from_report(&report, schema)
            .map_err(|e| crate::ReportError(format!("{}: {e}", path.display())))
    }

    /// An asked option, when given (not null).
    pub fn asked(&self, key: &str) -> Option<&Value> {
        self.asked.get(key).filter(|v| !v.is_null())
    }
}

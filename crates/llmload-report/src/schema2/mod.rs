//! GuideLLM 0.8's report (`metadata.version: 2`), built from the same
//! finished runs and run description ([`RunInfo`]) as the 0.4 one: the
//! run's arguments become `config` (0.8's `BenchmarkScenario`), each
//! benchmark gains 0.8's fields (turn delays, first output token, round
//! trips, tool calls, confidence intervals, warnings) and its requests take
//! 0.8's record shape. GuideLLM 0.8.1's own loader and `export` read it
//! (scripts/guidellm08-compat.sh); every key path of its reports is in ours
//! (tests/schema2_keypaths.rs).

pub(crate) mod config;
pub mod csv;
pub mod read;
mod request;
pub mod stats;

use std::path::Path;
use std::sync::Arc;

use llmload_clock::Timestamp;
use llmload_core::{best_rate, client_ceiling, BenchmarkRun, Details, Measured, Strategy};
use llmload_metrics::{
    BenchmarkMetrics, RequestRecord, RequestStatus, SchedulerAverages, Selection,
};
use serde_json::{json, Value};

use crate::guidellm::build::{extras, secs, verdict_json};
use crate::guidellm::saved::Entries;
use crate::guidellm::state::scheduler_state;
use crate::guidellm::RunInfo;
use crate::listed::Listing;
use crate::{Format, ReportError};

pub use request::request;

/// The schema version GuideLLM 0.7 and later write.
pub const VERSION: u64 = 2;

/// A GuideLLM 0.8 report: its document, and the benchmarks whose requests
/// are listed from where their run spilled them as the report is written
/// (a long run's: more than [`RunInfo::list_in_memory`] listed).
pub struct Schema2 {
    doc: Value,
    streamed: Vec<(usize, Streamed)>,
}

/// Where a streamed benchmark's requests are.
enum Streamed {
    /// In its run's store.
    Run {
        details: Details,
        index: usize,
        start: Timestamp,
        listing: Listing,
    },
    /// Set aside as a saved report was read (`llmload report`).
    Saved(Arc<Entries>),
}

impl std::fmt::Debug for Schema2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streamed: Vec<usize> = self.streamed.iter().map(|s| s.0).collect();
        f.debug_struct("Schema2")
            .field(
                "benchmarks",
                &self.doc["benchmarks"].as_array().map_or(0, Vec::len),
            )
            .field("streamed", &streamed)
            .finish_non_exhaustive()
    }
}

impl From<Value> for Schema2 {
    /// A report read whole (every request listed in the document).
    fn from(doc: Value) -> Schema2 {
        Schema2 {
            doc,
            streamed: Vec::new(),
        }
    }
}

impl Schema2 {
    /// A saved report read with its entries set aside: a marker in `doc`
    /// for each list of the benchmarks in `saved`.
    pub(crate) fn saved(doc: Value, saved: Vec<(usize, Arc<Entries>)>) -> Schema2 {
        Schema2 {
            doc,
            streamed: saved
                .into_iter()
                .map(|(b, e)| (b, Streamed::Saved(e)))
                .collect(),
        }
    }

    /// The document; a streamed benchmark's request lists are placeholders
    /// in it (the files written list them).
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The document with every request listed, as the JSON file holds it.
    pub fn to_value(&self) -> std::io::Result<Value> {
        if self.streamed.is_empty() {
            return Ok(self.doc.clone());
        }
        let mut text = Vec::new();
        crate::splice::json(&self.doc, &|i, k, f| self.each(i, k, f), &mut text)?;
        serde_json::from_slice(&text).map_err(std::io::Error::other)
    }

    /// Each entry of list `k` of benchmark `i`, read from its run's store.
    fn each(
        &self,
        i: usize,
        k: usize,
        f: &mut dyn FnMut(Value) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let (_, s) = self
            .streamed
            .iter()
            .find(|s| s.0 == i)
            .ok_or_else(|| std::io::Error::other("a streamed list's marker out of place"))?;
        match s {
            Streamed::Run {
                details,
                index,
                start,
                listing,
            } => crate::listed::each_record(details, *index, &listing.0[k], |r| {
                f(request(r, *start))
            })?,
            Streamed::Saved(entries) => {
                for i in 0..entries.list_len(k) {
                    f(entries.value(k, i)?)?;
                }
            }
        }
        Ok(())
    }

    /// Write the report as compact JSON, as YAML with sorted keys (as
    /// GuideLLM writes both) or as GuideLLM 0.8's CSV. The other formats
    /// read the 0.4 report.
    pub fn write(&self, format: Format, path: &Path) -> Result<(), ReportError> {
        let lists = |i: usize, k: usize, f: &mut dyn FnMut(Value) -> std::io::Result<()>| {
            self.each(i, k, f)
        };
        match format {
            Format::Json => crate::write_atomic_with(path, |w| {
                crate::guarded(|| crate::splice::json(&self.doc, &lists, w))
                    .map_err(std::io::Error::other)?
            }),
            Format::Yaml => crate::write_atomic_with(path, |w| {
                crate::guarded(|| crate::splice::yaml(self.doc.clone(), &lists, w))
                    .map_err(std::io::Error::other)?
            }),
            Format::Csv => {
                let text = crate::guarded(|| csv::to_csv(&self.doc))?;
                crate::write_atomic(path, text.as_bytes())
            }
            other => Err(ReportError(format!(
                "a schema-2 report is written as JSON, YAML or CSV, not {}",
                other.name()
            ))),
        }
    }
}

/// The whole report.
pub fn report(info: &RunInfo, runs: &[BenchmarkRun]) -> Schema2 {
    let mut streamed = Vec::new();
    let benchmarks: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (b, s) = benchmark(info, runs, r, i);
            streamed.extend(s.map(|s| (i, s)));
            b
        })
        .collect();
    let rates: Vec<f64> = runs.iter().filter_map(|r| r.strategy.rate()).collect();
    let constraints = runs
        .first()
        .map(|r| r.constraints.clone())
        .unwrap_or_default();
    let doc = json!({
        "metadata": {
            "version": VERSION,
            "guidellm_version": "0.8.1",
            "python_version": "none (llmload)",
            "platform": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
        },
        "config": config::scenario(info, &constraints, &rates),
        "benchmarks": benchmarks,
        "conclusions": [],
        "llmload": {
            "version": env!("CARGO_PKG_VERSION"),
            "run_id": info.run_id,
            "scheduling": info.scheduling,
            "profile_stopped": info.aborted,
            "shards": info.shards,
            "search": info.search.as_ref().map(|steps| json!({
                "best_rate": best_rate(steps),
                "client_ceiling": client_ceiling(steps),
                "steps": steps.iter().map(verdict_json).collect::<Vec<_>>(),
            })),
        }
    });
    Schema2 { doc, streamed }
}

/// One benchmark, the `position`-th of the report, and its requests when
/// they are listed as the report is written (a marker for each list in
/// the document).
fn benchmark(
    info: &RunInfo,
    runs: &[BenchmarkRun],
    run: &BenchmarkRun,
    position: usize,
) -> (Value, Option<Streamed>) {
    let selection = if run.measure_by_start {
        Selection::StartedWithin
    } else {
        Selection::Overlap
    };
    // 0.8 reports dispatch delays only where there is an arrival schedule.
    let scheduled = matches!(
        run.strategy,
        Strategy::Constant { .. } | Strategy::Poisson { .. }
    );
    let m = BenchmarkMetrics::compile_08_with(
        &run.records,
        run.measure_start,
        run.measure_end,
        selection,
        scheduled,
    );
    let avgs = SchedulerAverages::compile(&run.records);
    let listing = crate::listed::listing(run, info.sample_requests);
    let entries =
        |v: &[RequestRecord]| -> Value { v.iter().map(|r| request(r, run.start)).collect() };
    // A long run's requests stay where it spilled them until written.
    let (lists, streamed) = match &run.details {
        Details::Spilled(_) if listing.len() as u64 > info.list_in_memory => (
            [0, 1, 2].map(|k| crate::splice::marker(position, k)),
            Some(Streamed::Run {
                details: run.details.clone(),
                index: run.index,
                start: run.start,
                listing,
            }),
        ),
        _ => {
            let [ok, err, inc] = crate::listed::fetch(run, &listing);
            ([entries(&ok), entries(&err), entries(&inc)], None)
        }
    };
    let [ok, err, inc] = lists;
    let count = |s: RequestStatus| run.records.iter().filter(|r| r.status() == s).count() as u64;
    let rates: Vec<f64> = runs.iter().filter_map(|r| r.strategy.rate()).collect();
    let mut state = scheduler_state(run, info.workers);
    add_scopes(&mut state);
    let state_map = state.as_object_mut().expect("an object");
    let mut ordered = serde_json::Map::new();
    for (k, v) in std::mem::take(state_map) {
        ordered.insert(k.clone(), v);
        if k == "end_time" {
            ordered.insert("start_requests_time".into(), json!(secs(run.start)));
            ordered.insert("end_requests_time".into(), json!(secs(run.request_end)));
        }
    }
    let rampup = info.run.rampup.as_secs_f64();
    let kind = run.strategy.type_name();
    let doc = json!({
        "type_": "generative_benchmark",
        "config": {
            "id_": uuid::Uuid::new_v4().to_string(),
            "run_id": info.run_id,
            "run_index": run.index,
            "strategy": config::strategy(&run.strategy, info.workers, rampup),
            "constraints": config::constraint_initializers(
                &run.constraints,
                run.index,
                info.overrides.as_ref().map(Vec::len),
            ),
            "sample_size": info.sample_requests,
            "warmup": config::phase(&info.run.warmup),
            "cooldown": config::phase(&info.run.cooldown),
            "prefer_response_metrics": true,
            "slo": null,
            "confidence": llmload_metrics::CONFIDENCE,
            "warnings": config::warning_rules(),
            "profile": config::profile(info, &rates),
            "requests": config::data_loader(info),
            "backend": config::backend(info),
            "environment": {
                "str": format!("llmload {} single-process environment, {} worker threads",
                               env!("CARGO_PKG_VERSION"), info.workers),
                "type": "NonDistributedEnvironment",
                "class": "NonDistributedEnvironment",
                "module": "llmload",
                "attributes": {"run_errors": []}
            }
        },
        "scheduler_state": Value::Object(ordered),
        "scheduler_metrics": {
            "start_time": secs(run.start),
            "request_start_time": secs(run.start),
            "measure_start_time": secs(run.measure_start),
            "measure_end_time": secs(run.measure_end),
            "request_end_time": secs(run.request_end),
            "end_time": secs(run.end),
            "requests_made": {
                "successful": count(RequestStatus::Completed),
                "errored": count(RequestStatus::Errored),
                "incomplete": count(RequestStatus::Cancelled),
                "total": run.records.len()
            },
            // GuideLLM's wait on its data pipeline: llmload builds each
            // body before it is due (lateness shows as dispatch delay), so
            // there is no sample of it: an empty summary (count 0).
            "generation_delay": stats::ds(&llmload_metrics::Distribution::empty(0)),
            "queued_time_avg": avgs.queued_time_avg,
            "resolve_start_delay_avg": avgs.resolve_start_delay_avg,
            "resolve_targeted_start_delay_avg": avgs.resolve_targeted_start_delay_avg,
            "request_start_delay_avg": avgs.request_start_delay_avg,
            "request_targeted_start_delay_avg": avgs.request_targeted_start_delay_avg,
            "request_time_avg": avgs.request_time_avg,
            "resolve_end_delay_avg": avgs.resolve_end_delay_avg,
            "resolve_time_avg": avgs.resolve_time_avg,
            "finalized_delay_avg": avgs.finalized_delay_avg,
            "processed_delay_avg": avgs.processed_delay_avg,
            "dataset_incomplete": false,
            "strategy_type": kind
        },
        "metrics": stats::metrics(&m),
        "requests": {
            "successful": ok,
            "errored": err,
            "incomplete": inc,
            "total": null
        },
        "warnings": warnings(&m),
        "start_time": secs(run.measure_start),
        "end_time": secs(run.measure_end),
        "duration": run.measure_end.secs_since(run.measure_start),
        "warmup_duration": run.measure_start.secs_since(run.start),
        "cooldown_duration": run.request_end.secs_since(run.measure_end),
        "llmload": extras(run, &m)
    });
    (doc, streamed)
}

/// The rules of [`config::warning_rules`] that fired. `root_late` is the
/// one llmload can judge: every request is a conversation's root, so its
/// dispatch delay is the root's. `generation_delay_ttft` needs GuideLLM's
/// data-generation delay, which llmload does not have (prompts are built
/// before the run), and `dataset_incomplete` applies to trace replay only.
pub fn warnings(m: &BenchmarkMetrics) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(d) = &m.root_dispatch_delay {
        let p95 = d.percentiles.p95;
        if d.count > 0 && p95 > ROOT_LATE_S {
            out.push(json!({
                "code": "root_late",
                "message": format!("p95 root dispatch delay was {p95:.3}s over {} samples (threshold {ROOT_LATE_S:.3}s).", d.count),
                "observed": p95,
                "threshold": ROOT_LATE_S,
                "unit": "seconds",
                "sample_count": d.count,
                "note": "This means that conversations were loaded late."
            }));
        }
    }
    out
}

/// `root_late`'s threshold (seconds).
const ROOT_LATE_S: f64 = 0.2;

/// 0.8 names constraints by kind (`max_duration`, not 0.4's `max_seconds`)
/// and each action's scope (llmload's stop the benchmark they belong to:
/// `current`).
fn add_scopes(state: &mut Value) {
    for key in [
        "end_queuing_constraints",
        "end_processing_constraints",
        "scheduler_constraints",
    ] {
        if let Some(Value::Object(m)) = state.get_mut(key) {
            let renamed: serde_json::Map<String, Value> = std::mem::take(m)
                .into_iter()
                .map(|(k, v)| {
                    let k = if k == "max_seconds" {
                        "max_duration".to_string()
                    } else {
                        k
                    };
                    (k, v)
                })
                .collect();
            *m = renamed;
            for (_, action) in m.iter_mut() {
                if let Some(d) = action["metadata"]["max_duration"].as_f64() {
                    action["metadata"]["max_duration"] = config::whole(d);
                }
                if let Value::Object(a) = action {
                    let mut out = serde_json::Map::new();
                    for (k, v) in std::mem::take(a) {
                        let after = k == "request_processing";
                        out.insert(k, v);
                        if after {
                            out.insert("stopping_scope".into(), json!("current"));
                        }
                    }
                    *a = out;
                }
            }
        }
    }
}

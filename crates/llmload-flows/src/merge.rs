//! `llmload merge DIR|FILES...`: the shards of one run (`--shard`) made
//! into the one report a single process would have written. The shards'
//! journals are read back, checked to be of one run (same options, count
//! and start), their records joined per benchmark and the benchmarks
//! reassembled from them (`llmload_engine::rebuild`): every statistic is
//! computed over the union of the records, exactly as for one process.
//! A shard that is missing is named, with what the others held; a shard
//! that died midway counts what its journal kept.
//!
//! Memory is bounded as a long run's is: each record's numbers are read
//! into memory (~140 bytes a request), the full records stay in the
//! journals and are read back, joined, as the reports list them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use llmload_engine::{Details, RecordStore, RunOutcome, Strategy};
use llmload_journal as journal;
use llmload_metrics::{CompactRecord, Measured};
use llmload_report::Report;
use serde_json::{json, Value};

use crate::plan::Plan;
use crate::{benchmark, scenario, Error};

/// Exit code of a merge that lacks a shard, or has one that did not
/// finish (the report is written with what there was).
pub const EXIT_SHARD_MISSING: u8 = 3;

/// A shard's journal, read.
struct ShardRun {
    path: PathBuf,
    index: u32,
    count: u32,
    header: Value,
    benchmarks: Vec<(Strategy, Vec<CompactRecord>)>,
    scrapes: Vec<Vec<llmload_engine::ServerScrape>>,
    skipped: usize,
    /// Its full records, by benchmark and position.
    store: Option<journal::Spilled>,
}

/// The shards' journals under `paths` (directories are searched for
/// `shard-*-of-*.journal`).
fn journals(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p)
                .map_err(|e| Error::usage(format!("{}: cannot read ({e})", p.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".journal"))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::usage(format!(
                    "{}: no shard journals (shard-INDEX-of-COUNT.journal) in it",
                    p.display()
                )));
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// A shard's journal, its errors shared through `errors` with the others'.
fn read(path: &Path, errors: &mut llmload_core::ErrorInterner) -> Result<ShardRun, Error> {
    let bad = |why: String| Error::usage(format!("{}: {why}", path.display()));
    let replay = journal::read_compact(path, errors).map_err(bad)?;
    let s = &replay.header["shard"];
    let (Some(index), Some(count)) = (s["index"].as_u64(), s["count"].as_u64()) else {
        return Err(bad(
            "not a shard's journal (its header names no shard: written without --shard)".into(),
        ));
    };
    Ok(ShardRun {
        path: path.to_path_buf(),
        index: index as u32,
        count: count as u32,
        header: replay.header,
        benchmarks: replay.benchmarks,
        scrapes: replay.scrapes,
        skipped: replay.skipped,
        store: Some(replay.store),
    })
}

/// The first way `b` is not a shard of the same run as `a`, in words.
fn differs(a: &ShardRun, b: &ShardRun) -> Option<String> {
    let name = |s: &ShardRun| {
        s.path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    if a.count != b.count {
        return Some(format!(
            "{} is one of {} shards, {} one of {}",
            name(b),
            b.count,
            name(a),
            a.count
        ));
    }
    let (aa, ab) = (&a.header["args"], &b.header["args"]);
    let keys = aa
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .chain(ab.as_object().into_iter().flatten().map(|(k, _)| k));
    // (Each shard writes its own report in its own directory.)
    for k in keys.filter(|k| *k != "output_dir") {
        if aa[k] != ab[k] {
            return Some(format!(
                "{} has {k} {}, {} {}",
                name(b),
                ab[k],
                name(a),
                aa[k]
            ));
        }
    }
    let (sa, sb) = (&a.header["shard"], &b.header["shard"]);
    for key in ["seed", "start_at"] {
        if sa[key] != sb[key] {
            return Some(format!(
                "{} has {key} {}, {} {}",
                name(b),
                sb[key],
                name(a),
                sa[key]
            ));
        }
    }
    if a.header["model"] != b.header["model"] {
        return Some(format!(
            "{} asked model {}, {} {}",
            name(b),
            b.header["model"],
            name(a),
            a.header["model"]
        ));
    }
    None
}

/// p99 of how late this shard's sends went out after their intended times, ms.
fn send_lag_p99_ms(records: &[&CompactRecord]) -> Option<f64> {
    let mut lags: Vec<f64> = records
        .iter()
        .filter_map(|r| {
            let (t, s) = (r.targeted_start()?, r.request_start()?);
            Some(1000.0 * s.secs_since(t).max(0.0))
        })
        .collect();
    if lags.is_empty() {
        return None;
    }
    lags.sort_by(f64::total_cmp);
    Some(lags[((lags.len() as f64 * 0.99).ceil() as usize).clamp(1, lags.len()) - 1])
}

/// Above this p99 send lag a shard is said to have lagged (ms).
const LAGGED_MS: f64 = 5.0;

/// What was merged: the report, its schema-2 twin when asked, the exit code.
pub struct Merged {
    /// GuideLLM 0.4's report of the whole run.
    pub report: Report,
    /// GuideLLM 0.8's, when asked.
    pub schema2: Option<llmload_report::schema2::Schema2>,
    /// One line per shard, and the warnings.
    pub lines: Vec<String>,
    /// 0, [`EXIT_SHARD_MISSING`], or 1 when no request succeeded.
    pub code: u8,
}

impl std::fmt::Debug for Merged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merged")
            .field("lines", &self.lines)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// Merge the shards' journals under `paths` into one run's reports.
pub fn merge(paths: &[PathBuf], schema2: bool) -> Result<Merged, Error> {
    let files = journals(paths)?;
    let mut errors = llmload_core::ErrorInterner::default();
    let mut shards: Vec<ShardRun> = files
        .iter()
        .map(|p| read(p, &mut errors))
        .collect::<Result<_, _>>()?;
    shards.sort_by_key(|s| s.index);
    let first = shards
        .first()
        .ok_or_else(|| Error::usage("merge: no shard journals given"))?;
    for s in &shards[1..] {
        if let Some(why) = differs(first, s) {
            return Err(Error::usage(format!("merge: not shards of one run: {why}")));
        }
        if s.index == first.index {
            return Err(Error::usage(format!(
                "merge: shard {} appears twice ({} and {})",
                s.index,
                first.path.display(),
                s.path.display()
            )));
        }
    }
    let count = first.count;
    // A shard whose run did not end (SIGKILL, a lost pod) left no done file.
    let unfinished: Vec<u32> = shards
        .iter()
        .filter(|s| {
            s.path
                .parent()
                .is_some_and(|d| !crate::shard::done_file(d, s.index).exists())
        })
        .map(|s| s.index)
        .collect();
    let present: Vec<u32> = shards.iter().map(|s| s.index).collect();
    let missing: Vec<u32> = (0..count).filter(|i| !present.contains(i)).collect();

    // The run's options, as one process would have planned them.
    let h = first.header.clone();
    let Value::Object(args_map) = &h["args"] else {
        return Err(Error::usage(format!(
            "{}: the header holds no arguments",
            first.path.display()
        )));
    };
    let mut args = crate::args::parse(&[])
        .map_err(|e| Error::usage(format!("merge: cannot build the run's options: {e}")))?;
    scenario::apply(&mut args, &first.path.display().to_string(), args_map)?;
    let plan = Plan::from_args(args)?;
    let run_plan = benchmark::run_plan(&plan);

    // Per benchmark: the union of the shards' records.
    let n_bench = shards.iter().map(|s| s.benchmarks.len()).max().unwrap_or(0);
    let mut lines = Vec::new();
    let mut per_shard = Vec::new();
    for s in &shards {
        let records: Vec<&CompactRecord> = s.benchmarks.iter().flat_map(|b| b.1.iter()).collect();
        let lag = send_lag_p99_ms(&records);
        // What it achieved: its successful requests over its span.
        let achieved = s.header["shard"]["start_at"].as_f64().and_then(|at| {
            let end = records
                .iter()
                .filter_map(|r| r.request_end_time())
                .max()?
                .as_secs_f64();
            let ok = records
                .iter()
                .filter(|r| r.status() == llmload_metrics::RequestStatus::Completed)
                .count();
            (end > at).then(|| ok as f64 / (end - at))
        });
        // Its first send after the agreed start: how far the shards' starts spread.
        let first_send_ms = s.header["shard"]["start_at"].as_f64().and_then(|at| {
            let first = records.iter().filter_map(|r| r.request_start()).min()?;
            Some(1000.0 * (first.as_secs_f64() - at))
        });
        let lagged = lag.is_some_and(|l| l > LAGGED_MS);
        lines.push(format!(
            "shard {}/{}: {} requests from {}{}{}",
            s.index,
            s.count,
            records.len(),
            s.path.display(),
            lag.map_or(String::new(), |l| format!(", send lag p99 {l:.2} ms")),
            if s.skipped > 0 {
                format!(" ({} torn lines skipped: it did not finish)", s.skipped)
            } else {
                String::new()
            }
        ));
        if lagged {
            lines.push(format!(
                "warning: shard {} lagged its schedule (send lag p99 over {LAGGED_MS} ms): its host was the limit",
                s.index
            ));
        }
        per_shard.push(json!({
            "index": s.index,
            "journal": s.path.display().to_string(),
            "host": s.header["shard"]["host"],
            "requests": records.len(),
            "successful_per_second": achieved,
            "send_lag_p99_ms": lag,
            "first_send_after_start_ms": first_send_ms,
            "lagged": lagged,
            "torn_lines": s.skipped,
            "missing_at_its_start": s.header["shard"]["missing_at_start"],
        }));
    }
    for u in &unfinished {
        let held = shards
            .iter()
            .find(|s| s.index == *u)
            .map_or(0, |s| s.benchmarks.iter().map(|b| b.1.len()).sum::<usize>());
        lines.push(format!(
            "warning: shard {u}/{count} did not finish (no done-{u}: killed, or still running): \
             its journal held {held} finished requests, and those are merged"
        ));
    }
    for m in &missing {
        lines.push(format!(
            "warning: shard {m}/{count} is missing (no journal): the report holds the other shards' requests only"
        ));
    }
    // The full records: the shards' journals joined, in the order their
    // records are joined below.
    let store: Arc<dyn RecordStore> = Arc::new(journal::Joined::new(
        shards.iter_mut().filter_map(|s| s.store.take()).collect(),
    ));
    let mut benchmarks = Vec::new();
    for i in 0..n_bench {
        let mut strategy = None;
        let mut records = Vec::new();
        for s in &mut shards {
            if let Some((st, recs)) = s.benchmarks.get_mut(i) {
                match &strategy {
                    None => strategy = Some(st.clone()),
                    Some(x) if x != st => {
                        return Err(Error::usage(format!(
                            "merge: benchmark {i} is {x} in one shard and {st} in {}",
                            s.path.display()
                        )))
                    }
                    Some(_) => {}
                }
                records.append(recs);
            }
        }
        let strategy = strategy.expect("some shard has benchmark i");
        // Error limits were each shard's during the run: over all of them,
        // would one process have stopped earlier?
        if let Some(stop) = llmload_engine::first_stop(&run_plan.constraints, &records) {
            let last = records
                .iter()
                .filter_map(|r| r.finalized().or(r.request_end_time()))
                .max();
            if last.is_some_and(|l| stop.at < l) {
                let first = records.iter().filter_map(|r| r.targeted_start()).min();
                lines.push(format!(
                    "warning: benchmark {i}: over all shards, {} would have stopped one process {}: {}",
                    stop.kind.key(),
                    first.map_or(String::new(), |f| format!("{:.1} s in", stop.at.secs_since(f))),
                    stop.detail
                ));
            }
        }
        let details = Details::Spilled(Arc::clone(&store));
        let mut run = llmload_engine::rebuild(i, strategy, &run_plan, records, details);
        // The server's scrapes (the first shard takes them), against the
        // union of the records: the cross-checks see all of llmload's.
        run.server = shards
            .iter()
            .flat_map(|s| s.scrapes.get(i).into_iter().flatten().cloned())
            .collect();
        run.server.sort_by_key(|sc| sc.at);
        benchmarks.push(run);
    }
    let requests: usize = benchmarks.iter().map(|b| b.records.len()).sum();
    let outcome = RunOutcome {
        benchmarks,
        interrupted: false,
        aborted: (!missing.is_empty() || !unfinished.is_empty()).then(|| {
            format!(
                "merged from {} of {count} shards: missing {missing:?}, not finished {unfinished:?}",
                shards.len()
            )
        }),
        search: None,
    };
    let text = |k: &str| h[k].as_str().unwrap_or_default().to_string();
    let mut info = benchmark::run_info(
        &plan,
        text("target"),
        text("model"),
        uuid::Uuid::new_v4().to_string(),
        h["workers"].as_u64().unwrap_or(1) as u32,
        &outcome,
    );
    // (This process only merged: how the shards' threads ran is theirs.)
    info.scheduling = format!(
        "not known here: merged from {} shards; each shard's own report says how its threads ran",
        shards.len()
    );
    let firsts: Vec<f64> = per_shard
        .iter()
        .filter_map(|p| p["first_send_after_start_ms"].as_f64())
        .collect();
    let spread = (!firsts.is_empty()).then(|| {
        firsts.iter().copied().fold(f64::MIN, f64::max)
            - firsts.iter().copied().fold(f64::MAX, f64::min)
    });
    if let Some(sp) = spread {
        lines.push(format!(
            "first sends of the shards within {sp:.2} ms of each other"
        ));
    }
    let starts: Vec<f64> = shards
        .iter()
        .filter_map(|s| s.header["shard"]["start_at"].as_f64())
        .collect();
    info.shards = Some(json!({
        "count": count,
        "merged": present,
        "missing": missing,
        "unfinished": unfinished,
        "start_at": starts.first(),
        "first_send_spread_ms": spread,
        "requests": requests,
        "shards": per_shard,
    }));
    let any_success = outcome.benchmarks.iter().any(|b| b.any_success());
    let v2 = schema2.then(|| llmload_report::schema2::report(&info, &outcome.benchmarks));
    Ok(Merged {
        report: llmload_report::guidellm::report(&info, &outcome.benchmarks),
        schema2: v2,
        lines,
        code: if !missing.is_empty() || !unfinished.is_empty() {
            EXIT_SHARD_MISSING
        } else if any_success {
            0
        } else {
            1
        },
    })
}

/// `llmload merge`: merge, write the outputs, print what each shard held.
pub fn run(
    paths: &[PathBuf],
    output_dir: &Path,
    outputs: &[String],
    schema2: bool,
) -> Result<ExitCode, Error> {
    let m = merge(paths, schema2)?;
    let names = if outputs.is_empty() {
        ["console", "json", "csv", "html"]
            .map(String::from)
            .to_vec()
    } else {
        outputs.to_vec()
    };
    let plan = crate::plan::output_files(output_dir, &names, false)?;
    let outcome = benchmark::write_files(&m.report, m.schema2.as_ref(), &plan.files);
    let mut failed = outcome.failed;
    for l in &m.lines {
        eprintln!("llmload: {l}");
    }
    if plan.console {
        let schema = if m.schema2.is_some() {
            llmload_report::model::Schema::V2
        } else {
            llmload_report::model::Schema::V04
        };
        if let Some(tables) = benchmark::console_tables(&m.report, schema, &mut failed) {
            println!("{tables}");
        }
    }
    for path in outcome.written {
        println!("Report: {}", path.display());
    }
    benchmark::outputs_result(&failed)?;
    Ok(ExitCode::from(m.code))
}

//! A run rebuilt from its journal (`llmload report --from-journal`): the
//! options in its header planned again, its benchmarks reassembled from
//! the records it holds, and both reports built from them as the run
//! itself would have. The records' numbers are held in memory (~140 bytes
//! a request), the full records read back from the journal as the reports
//! list them.

use std::path::Path;
use std::sync::Arc;

use llmload_engine::{Details, RecordStore, RunOutcome};
use llmload_journal as journal;
use llmload_report::Report;
use serde_json::Value;

use crate::plan::Plan;
use crate::{benchmark, scenario, Error};

/// The report of the run a journal recorded: every request it holds, and
/// its GuideLLM 0.8 report when `schema2`.
pub fn from_journal(
    path: &Path,
    schema2: bool,
) -> Result<(Report, Option<llmload_report::schema2::Schema2>), Error> {
    let bad = |why: String| Error::usage(format!("--from-journal {}: {why}", path.display()));
    let replay = journal::read_compact(path, &mut Default::default()).map_err(bad)?;
    let store: Arc<dyn RecordStore> = Arc::new(replay.store);
    let h = &replay.header;
    let Value::Object(args_map) = &h["args"] else {
        return Err(bad("the header holds no arguments".into()));
    };
    let mut args =
        crate::args::parse(&[]).map_err(|e| bad(format!("cannot build the run's options: {e}")))?;
    scenario::apply(&mut args, &path.display().to_string(), args_map)?;
    let plan = Plan::from_args(args)?;
    let run_plan = benchmark::run_plan(&plan);
    let requests: usize = replay.benchmarks.iter().map(|b| b.1.len()).sum();
    let outcome = RunOutcome {
        benchmarks: replay
            .benchmarks
            .into_iter()
            .enumerate()
            .map(|(i, (strategy, records))| {
                let details = Details::Spilled(Arc::clone(&store));
                let mut run = llmload_engine::rebuild(i, strategy, &run_plan, records, details);
                run.server = replay.scrapes.get(i).cloned().unwrap_or_default();
                run
            })
            .collect(),
        interrupted: true,
        aborted: Some(format!(
            "rebuilt from the journal {}: {requests} finished requests; requests in flight when the run ended are not known{}",
            path.display(),
            if replay.skipped > 0 { format!(" ({} unreadable lines skipped)", replay.skipped) } else { String::new() }
        )),
        search: None,
    };
    let text = |k: &str| h[k].as_str().unwrap_or_default().to_string();
    let mut info = benchmark::run_info(
        &plan,
        text("target"),
        text("model"),
        text("run_id"),
        h["workers"].as_u64().unwrap_or(1) as u32,
        &outcome,
    );
    // (This process only read the journal.)
    info.scheduling = "not known: rebuilt from the journal".into();
    let v2 = schema2.then(|| llmload_report::schema2::report(&info, &outcome.benchmarks));
    Ok((
        llmload_report::guidellm::report(&info, &outcome.benchmarks),
        v2,
    ))
}

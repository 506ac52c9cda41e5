//! `llmload report FILE`: load a saved report (llmload's or GuideLLM 0.4's,
//! JSON or YAML) and write it again in other formats.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use llmload_engine::RunOutcome;
use llmload_report::{Format, Report};
use serde_json::Value;

use crate::cli::{Cli, Command, ReportArgs};
use crate::plan::{output_files, Plan};
use crate::{benchmark, journal, scenario, CliError};

/// Re-export `args.file`, or rebuild from `--from-journal`.
pub fn run(args: &ReportArgs) -> Result<ExitCode, CliError> {
    let report = match &args.from_journal {
        Some(path) => from_journal(path)?,
        None => Report::load(&args.file).map_err(|e| CliError::usage(e.to_string()))?,
    };
    let names = if args.outputs.is_empty() {
        ["console", "json", "csv", "yaml", "html"]
            .map(String::from)
            .to_vec()
    } else {
        args.outputs.clone()
    };
    let dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let plan = output_files(&dir, &names, false)?;
    let input = match &args.from_journal {
        Some(_) => None,
        None => std::fs::canonicalize(&args.file).ok(),
    };
    let files: Vec<(Format, PathBuf)> = plan
        .files
        .iter()
        .filter(|(_, path)| {
            let same = input.is_some() && std::fs::canonicalize(path).ok() == input;
            if same {
                eprintln!("llmload: {} is the input; not rewritten", path.display());
            }
            !same
        })
        .cloned()
        .collect();
    // Each format on its own, the JSON first: one that fails is one line
    // on stderr, the others are still written.
    let outcome = benchmark::write_files(&report, None, &files);
    let mut failed = outcome.failed;
    let mut out = std::io::stdout().lock();
    if plan.console {
        if let Some(tables) = benchmark::console_tables(&report, &mut failed) {
            let _ = writeln!(out, "{tables}");
        }
    }
    for path in outcome.written {
        let _ = writeln!(out, "Report: {}", path.display());
    }
    benchmark::outputs_result(&failed)?;
    Ok(ExitCode::SUCCESS)
}

/// The report of the run a journal recorded: every request it holds.
fn from_journal(path: &Path) -> Result<Report, CliError> {
    let bad = |why: String| CliError::usage(format!("--from-journal {}: {why}", path.display()));
    let replay = journal::read(path).map_err(bad)?;
    let h = &replay.header;
    let Value::Object(args_map) = &h["args"] else {
        return Err(bad("the header holds no arguments".into()));
    };
    let mut args = match Cli::try_parse_from(["llmload", "benchmark"]) {
        Ok(Cli {
            command: Command::Benchmark(b),
            ..
        }) => b.args,
        _ => return Err(bad("cannot build the run's options".into())),
    };
    scenario::apply(&mut args, &path.display().to_string(), args_map)?;
    let plan = Plan::from_args(args)?;
    let run_plan = benchmark::run_plan(&plan);
    let requests: usize = replay.benchmarks.iter().map(|b| b.1.len()).sum();
    let outcome = RunOutcome {
        benchmarks: replay
            .benchmarks
            .into_iter()
            .enumerate()
            .map(|(i, (strategy, records))| llmload_engine::rebuild(i, strategy, &run_plan, records))
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
    let info = benchmark::run_info(
        &plan,
        text("target"),
        text("model"),
        text("run_id"),
        h["workers"].as_u64().unwrap_or(1) as u32,
        &outcome,
    );
    Ok(llmload_report::guidellm::report(&info, &outcome.benchmarks))
}

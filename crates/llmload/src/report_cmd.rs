//! `llmload report FILE`: load a saved report (llmload's or GuideLLM 0.4's,
//! JSON or YAML) and write it again in other formats.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use llmload_report::Report;

use crate::cli::ReportArgs;
use crate::plan::output_files;
use crate::CliError;

/// Re-export `args.file`.
pub fn run(args: &ReportArgs) -> Result<ExitCode, CliError> {
    let report = Report::load(&args.file).map_err(|e| CliError::usage(e.to_string()))?;
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
    let input = std::fs::canonicalize(&args.file).ok();
    let mut written = Vec::new();
    for (format, path) in &plan.files {
        let same = input.is_some() && std::fs::canonicalize(path).ok() == input;
        if same {
            eprintln!("llmload: {} is the input; not rewritten", path.display());
            continue;
        }
        report
            .write(*format, path)
            .map_err(|e| CliError::setup(e.to_string()))?;
        written.push(path);
    }
    let mut out = std::io::stdout().lock();
    if plan.console {
        let _ = writeln!(out, "{}", llmload_report::console::render(&report));
    }
    for path in written {
        let _ = writeln!(out, "Report: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

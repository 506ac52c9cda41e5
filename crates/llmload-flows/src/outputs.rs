//! A run's outputs: its report files (each on its own, the JSON first),
//! its console tables, and what becomes of its journal once they are out.

use std::io::Write;
use std::path::{Path, PathBuf};

use llmload_report::model::{Results, Schema};
use llmload_report::schema2::Schema2;
use llmload_report::{Format, Report};

use crate::benchmark::journal_path;
use crate::plan::Plan;
use crate::Error;

/// Write the plan's report files and print its console tables. Each output
/// on its own: one that fails is one line on stderr and the others are
/// still written (the JSON first); any failure makes the result an error
/// (exit code 2) once everything else is out.
pub fn write_outputs(plan: &Plan, report: &Report, schema2: Option<&Schema2>) -> Result<(), Error> {
    let outcome = write_files(report, schema2, &plan.outputs.files);
    // Everything is in the report now: the journal has served (unless the
    // JSON asked for could not be written: then it still holds the run).
    let json_lost = plan.outputs.files.iter().any(|(format, path)| {
        *format == Format::Json && !outcome.written.contains(&path.as_path())
    });
    if !json_lost {
        // (A shard's journal stays: `merge` reads it.)
        if let Some(path) = journal_path(plan).filter(|_| plan.run.shard.is_none()) {
            let _ = std::fs::remove_file(path);
        }
    } else {
        // The run is not lost: the report goes to the temporary directory,
        // and the journal (if it was written) stays where it is.
        match crate::preflight::save_elsewhere(report) {
            Some(path) => eprintln!(
                "llmload: the report was saved instead to {}",
                path.display()
            ),
            None => {
                if let Some(j) = journal_path(plan).filter(|j| j.exists()) {
                    eprintln!(
                        "llmload: the run is in its journal {} (llmload report --from-journal)",
                        j.display()
                    );
                }
            }
        }
    }
    let mut failed = outcome.failed;
    if plan.outputs.console {
        let mut out = std::io::stdout().lock();
        let schema = if schema2.is_some() {
            Schema::V2
        } else {
            Schema::V04
        };
        if let Some(tables) = console_tables(report, schema, &mut failed) {
            let _ = writeln!(out, "\n{tables}");
        }
        for path in &outcome.written {
            let _ = writeln!(out, "Report: {}", path.display());
        }
    }
    outputs_result(&failed)
}

/// What [`write_files`] did.
#[derive(Debug, Default)]
pub struct Written<'a> {
    /// The files written, in the order written.
    pub written: Vec<&'a Path>,
    /// `FORMAT report PATH` of each file that was not.
    pub failed: Vec<String>,
}

/// Write `report` to each of `files`, the JSON first, each on its own: a
/// file that fails (an I/O error, or a renderer's bug) is reported on one
/// line, `llmload: error: FORMAT report PATH: WHY`, and the rest are written.
pub fn write_files<'a>(
    report: &Report,
    schema2: Option<&Schema2>,
    files: &'a [(Format, PathBuf)],
) -> Written<'a> {
    let mut out = Written::default();
    // The JSON (every measured number) first, the rest in the order given;
    // with a schema-2 report, the JSON, YAML and CSV are written from it.
    let mut order: Vec<&'a (Format, PathBuf)> = files.iter().collect();
    order.sort_by_key(|(format, _)| *format != Format::Json);
    for (format, path) in order {
        let result = match schema2 {
            Some(doc) if matches!(format, Format::Json | Format::Yaml | Format::Csv) => {
                doc.write(*format, path)
            }
            _ => report.write(*format, path),
        };
        let path = path.as_path();
        match result {
            Ok(()) => out.written.push(path),
            Err(e) => {
                let what = format!("{} report {}", format.name(), path.display());
                eprintln!("llmload: error: {what}: {e}");
                out.failed.push(what);
            }
        }
    }
    out
}

/// The console tables, or (a renderer's bug) `None`, with one line on
/// stderr and `console tables` added to `failed`.
pub fn console_tables(report: &Report, schema: Schema, failed: &mut Vec<String>) -> Option<String> {
    let tables = llmload_report::guarded(|| {
        Results::summary_of(report, schema)
            .map(|r| llmload_report::console::render(&r))
            .map_err(llmload_report::ReportError)
    });
    match tables.and_then(|t| t) {
        Ok(tables) => Some(tables),
        Err(e) => {
            eprintln!("llmload: error: console tables: {e}");
            failed.push("console tables".into());
            None
        }
    }
}

/// Success, or the exit-code-2 error naming the outputs not written (each
/// already reported on its own line).
pub fn outputs_result(failed: &[String]) -> Result<(), Error> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::setup(format!("not written: {}", failed.join(", "))))
    }
}

//! `llmload report FILE`: load a saved report (llmload's or GuideLLM 0.4's,
//! JSON or YAML) and write it again in other formats.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use llmload_report::{Format, Report};

use crate::cli::ReportArgs;
use crate::plan::output_files;
use crate::{benchmark, CliError};

/// Which layout to write: `Some(true)` 0.8, `Some(false)` 0.4, `None` the input's.
fn schema_choice(raw: Option<&str>) -> Result<Option<bool>, CliError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("0.4" | "1") => Ok(Some(false)),
        Some("0.8" | "2") => Ok(Some(true)),
        Some(other) => Err(CliError::usage(format!(
            "--schema {other:?}: expected 0.4 (GuideLLM 0.4's report) or 0.8 (GuideLLM 0.8's, schema 2)"
        ))),
    }
}

/// Re-export `args.file`, or rebuild from `--from-journal`.
pub fn run(args: &ReportArgs) -> Result<ExitCode, CliError> {
    let want = schema_choice(args.schema.as_deref())?;
    let (report, schema2) = match &args.from_journal {
        Some(path) => llmload_flows::rebuild::from_journal(path, want == Some(true))?,
        None => {
            let (report, doc) =
                Report::load_any(&args.file).map_err(|e| CliError::usage(e.to_string()))?;
            match (doc, want) {
                (Some(doc), None | Some(true)) => (report, Some(doc)),
                (Some(_), Some(false)) => {
                    eprintln!(
                        "llmload: {}: written in GuideLLM 0.4's layout without 0.8's confidence intervals, per-turn metrics, warnings and 0.8-only distributions",
                        args.file.display()
                    );
                    (report, None)
                }
                (None, Some(true)) => {
                    return Err(CliError::usage(format!(
                        "--schema 0.8: {} is a GuideLLM 0.4 report; a 0.8 report needs the run itself: rerun with --schema 0.8, or rebuild from its journal (--from-journal FILE --schema 0.8)",
                        args.file.display()
                    )))
                }
                (None, _) => (report, None),
            }
        }
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
    let outcome = benchmark::write_files(&report, schema2.as_ref(), &files);
    let mut failed = outcome.failed;
    let mut out = std::io::stdout().lock();
    if plan.console {
        let schema = if schema2.is_some() {
            llmload_report::model::Schema::V2
        } else {
            llmload_report::model::Schema::V04
        };
        if let Some(tables) = benchmark::console_tables(&report, schema, &mut failed) {
            let _ = writeln!(out, "{tables}");
        }
    }
    for path in outcome.written {
        let _ = writeln!(out, "Report: {}", path.display());
    }
    benchmark::outputs_result(&failed)?;
    Ok(ExitCode::SUCCESS)
}

/// `llmload export PATH --output kind=...`: GuideLLM 0.8's `export`, as
/// `llmload report PATH --outputs ...` in the input's layout.
pub fn export(args: &crate::cli::ExportArgs) -> Result<ExitCode, CliError> {
    let mut outputs = Vec::new();
    for raw in &args.outputs {
        let v = crate::run08::option_value("--output", raw)?;
        let kind = v["kind"].as_str().unwrap_or_default();
        match (kind, v["path"].as_str()) {
            ("plot", _) => {
                return Err(CliError::usage(
                    "--output: kind=plot is not supported by llmload (html has the charts)",
                ))
            }
            ("json" | "yaml" | "csv" | "html", Some(path)) => outputs.push(path.to_string()),
            ("json" | "yaml" | "csv" | "html" | "console", None) => outputs.push(kind.to_string()),
            (other, _) => {
                return Err(CliError::usage(format!(
                    "--output: kind={other}: expected console, csv, html, json or yaml"
                )))
            }
        }
    }
    if outputs.is_empty() {
        outputs = ["console", "json", "html", "csv"]
            .map(String::from)
            .to_vec();
    }
    run(&ReportArgs {
        file: args.path.clone(),
        output_dir: None,
        from_journal: None,
        outputs,
        schema: None,
    })
}

/// `llmload merge`: the shards of one run into its one report. Exit code 3
/// when a shard is missing (the report is written with the others).
pub fn merge(args: &crate::cli::MergeArgs) -> Result<ExitCode, CliError> {
    let schema2 = schema_choice(args.schema.as_deref())? == Some(true);
    let dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    llmload_flows::merge::run(&args.paths, &dir, &args.outputs, schema2)
}

/// `llmload kube-manifest`: print (or write) the run's and the merge's manifests.
pub fn kube_manifest(args: crate::cli::KubeArgs) -> Result<ExitCode, CliError> {
    let k = llmload_flows::kube::Kube {
        shards: args.shards,
        name: args.name,
        image: args.image,
        storage: args.storage,
        storage_class: args.storage_class,
    };
    let (run, merge) = llmload_flows::kube::manifests(args.bench, &k)?;
    match &args.manifests_dir {
        None => {
            println!("# {}: kubectl apply -f this part (the run)", k.name);
            print!("{run}");
            println!("---");
            println!("# once job/{} is complete: the merge", k.name);
            print!("{merge}");
        }
        Some(dir) => {
            let write = |name: &str, text: &str| {
                let path = dir.join(name);
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&path, text))
                    .map_err(|e| {
                        CliError::usage(format!("--manifests-dir {}: {e}", dir.display()))
                    })?;
                println!("{}", path.display());
                Ok::<(), CliError>(())
            };
            write("run.yaml", &run)?;
            write("merge.yaml", &merge)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

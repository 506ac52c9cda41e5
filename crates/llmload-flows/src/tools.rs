//! Result tools: `envelope wrap|validate`, `check monotonic`, `slo` and
//! `compare`. Each reads files, prints a table, and exits 0, 1 (the check
//! failed) or 2 (bad input).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use llmload_report::compare::{self, Certified, COLUMNS};
use llmload_report::envelope::{self, ExperimentType};
use llmload_report::model::Results;
use llmload_report::monotonic;
use llmload_report::slo::{self, UseCase};
use llmload_report::{console::strategy_label, html::short_number as num};
use serde_json::Value;

use crate::deployment;
use crate::flow_args::{CompareArgs, EnvelopeCommand, MonotonicArgs, SloArgs, WrapArgs};
use crate::Error;

/// Text columns padded to their widest cell (first column left-aligned).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain([headers.len()])
        .max()
        .unwrap_or(0);
    let mut width: Vec<usize> = vec![0; columns];
    for r in rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect::<Vec<_>>())
        .chain([headers.to_vec()])
    {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // Not `{:<w$}`: a width past u16::MAX (a huge label) panics there.
                let w = width[i];
                if i == 0 {
                    llmload_report::console::pad_right(c, w)
                } else {
                    llmload_report::console::pad_left(c, w)
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * width.len().saturating_sub(1)));
    for r in rows {
        out.push('\n');
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out.push('\n');
    out
}

/// `10%` or `0.1` as a fraction.
pub fn fraction(flag: &str, raw: &str) -> Result<f64, Error> {
    let v = match raw.trim().strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => raw.trim().parse::<f64>(),
    };
    v.ok()
        .filter(|x| x.is_finite() && (0.0..1.0).contains(x))
        .ok_or_else(|| {
            Error::usage(format!(
                "{flag}: expected a fraction such as 10% or 0.1, got {raw:?}"
            ))
        })
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{}: cannot read: {e}", path.display())))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let parsed: Result<Value, String> = if yaml {
        serde_yaml::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| Error::usage(format!("{}: not JSON ({e})", path.display())))
}

fn write_json(path: &Path, v: &Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(v).expect("values serialize");
    llmload_report::write_atomic(path, text.as_bytes()).map_err(|e| Error::setup(e.to_string()))
}

/// The model a result names: a report's `--model` or backend model, or
/// lm-eval's `pretrained=` model argument.
fn model_of(result: &Value) -> Option<String> {
    let s = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(String::from);
    s(&result["args"]["model"])
        .or_else(|| s(&result["benchmarks"][0]["config"]["backend"]["model"]))
        .or_else(|| s(&result["model_name"]))
        .or_else(|| {
            let args = result["config"]["model_args"].as_str()?;
            args.split(',')
                .find_map(|kv| kv.trim().strip_prefix("pretrained="))
                .map(String::from)
        })
}

/// Epoch seconds as RFC 3339.
pub fn rfc3339(secs: f64) -> String {
    chrono::DateTime::from_timestamp(secs.floor() as i64, ((secs.fract()) * 1e9) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn wrap(a: &WrapArgs) -> Result<ExitCode, Error> {
    let result = read_json(&a.file)?;
    let kind = match a.experiment_type.as_deref() {
        Some("performance") => ExperimentType::Performance,
        Some("evaluation") => ExperimentType::Evaluation,
        Some(other) => {
            return Err(Error::usage(format!(
                "--experiment-type: expected performance or evaluation, got {other:?}"
            )))
        }
        None => ExperimentType::detect(&result).ok_or_else(|| {
            Error::usage(format!(
                "{}: neither a GuideLLM/llmload report (\"benchmarks\") nor an lm-eval result (\"results\"); pass --experiment-type",
                a.file.display()
            ))
        })?,
    };
    let model = a
        .model
        .clone()
        .or_else(|| model_of(&result))
        .unwrap_or_default();
    let d = deployment::resolve(&a.deployment, &model, None)?;
    let timestamp = match &a.timestamp {
        Some(t) => {
            chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
                Error::usage(format!(
                    "--timestamp: expected RFC 3339 such as 2025-10-01T12:00:00Z ({e})"
                ))
            })?;
            t.clone()
        }
        None => result["benchmarks"][0]["start_time"]
            .as_f64()
            .map(rfc3339)
            .unwrap_or_else(|| {
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
    };
    let e = envelope::wrap(result, kind, &d, &timestamp);
    envelope::validate(&e)
        .map_err(|errs| Error::setup(format!("the envelope is invalid: {}", errs.join("; "))))?;
    let out = a.output.clone().unwrap_or_else(|| {
        let stem = a
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("result");
        a.file.with_file_name(format!("{stem}.experiment.json"))
    });
    write_json(&out, &e)?;
    println!(
        "{}: valid {} experiment envelope",
        out.display(),
        kind.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// `llmload envelope ...`
pub fn envelope_cmd(cmd: &EnvelopeCommand) -> Result<ExitCode, Error> {
    match cmd {
        EnvelopeCommand::Wrap(a) => wrap(a),
        EnvelopeCommand::Validate { files } => {
            let mut bad = 0;
            for f in files {
                match envelope::validate(&read_json(f)?) {
                    Ok(()) => println!("{}: valid", f.display()),
                    Err(errs) => {
                        bad += 1;
                        for e in errs {
                            println!("{}: invalid: {e}", f.display());
                        }
                    }
                }
            }
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// `llmload check monotonic`
pub fn monotonic_cmd(a: &MonotonicArgs) -> Result<ExitCode, Error> {
    let tolerance = fraction("--tolerance", &a.tolerance)?;
    let findings = check_files(&a.files, tolerance, &a.order)?;
    Ok(if findings {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Run the monotonicity check on files and print what it found; `true` if
/// anything was violated.
pub fn check_files(files: &[PathBuf], tolerance: f64, order: &[String]) -> Result<bool, Error> {
    let mut points = Vec::new();
    for f in files {
        let doc = read_json(f)?;
        points.extend(monotonic::points(&f.display().to_string(), &doc).map_err(Error::usage)?);
    }
    let found = monotonic::check(&points, tolerance, order);
    for n in &found.notes {
        println!("note: {n}");
    }
    for v in &found.violations {
        println!("violation: {}", v.0);
    }
    println!(
        "monotonicity: {} benchmarks in {} files, {} violation{} (tolerance {}%)",
        points.len(),
        files.len(),
        found.violations.len(),
        if found.violations.len() == 1 { "" } else { "s" },
        num(tolerance * 100.0)
    );
    Ok(!found.violations.is_empty())
}

fn use_cases(keys: &[String]) -> Result<Vec<&'static UseCase>, Error> {
    if keys.iter().any(|k| k == "all") {
        return Ok(slo::use_cases().iter().collect());
    }
    keys.iter()
        .map(|k| {
            slo::find(k).ok_or_else(|| {
                let all: Vec<&str> = slo::use_cases().iter().map(|u| u.key.as_str()).collect();
                Error::usage(format!(
                    "--use-case {k:?}: expected all or one of {}",
                    all.join(", ")
                ))
            })
        })
        .collect()
}

/// SLO verdict rows of a report, and per use case the fastest passing benchmark.
pub fn slo_tables(report: &Results, cases: &[&UseCase]) -> String {
    let mut rows = Vec::new();
    let mut best: Vec<String> = Vec::new();
    for uc in cases {
        let mut fastest: Option<(f64, String)> = None;
        for b in &report.benchmarks {
            let v = uc.judge(b);
            let g = b
                .ext
                .goodput
                .get(&uc.key)
                .and_then(|g| g.requests_per_second)
                .unwrap_or_else(|| slo::goodput_of(uc, b).requests_per_second);
            let cell = |metric: &str| {
                v.checks
                    .iter()
                    .find(|c| c.metric == metric)
                    .map_or("-".to_string(), |c| {
                        format!(
                            "{} / {}{}",
                            num(c.p99_ms),
                            num(c.limit_ms),
                            if c.pass { "" } else { " !" }
                        )
                    })
            };
            let rate = b.metrics.requests_per_second.successful.mean;
            if v.pass && fastest.as_ref().is_none_or(|f| rate > f.0) {
                fastest = Some((rate, strategy_label(b)));
            }
            rows.push(vec![
                uc.key.clone(),
                strategy_label(b),
                cell("TTFT"),
                cell("ITL"),
                cell("latency"),
                if v.pass { "pass" } else { "FAIL" }.to_string(),
                num(g),
            ]);
        }
        best.push(match fastest {
            Some((rate, label)) => format!(
                "{}: meets the SLO up to {} req/s ({label})",
                uc.name,
                num(rate)
            ),
            None => format!("{}: no benchmark meets the SLO", uc.name),
        });
    }
    let mut out = table(
        &[
            "use case",
            "benchmark",
            "p99 TTFT / limit ms",
            "p99 ITL / limit ms",
            "p99 latency / limit ms",
            "verdict",
            "goodput req/s",
        ],
        &rows,
    );
    out.push('\n');
    for b in best {
        out.push_str(&b);
        out.push('\n');
    }
    out
}

/// `llmload slo`
pub fn slo_cmd(a: &SloArgs) -> Result<ExitCode, Error> {
    let report = Results::load(&a.file).map_err(|e| Error::usage(e.to_string()))?;
    let cases = use_cases(&a.use_case)?;
    print!("{}", slo_tables(&report, &cases));
    Ok(ExitCode::SUCCESS)
}

fn cells(values: [Option<f64>; 7]) -> Vec<String> {
    values.iter().map(|v| v.map_or("-".into(), num)).collect()
}

/// The certified-results table: this run's row, the reference row and the deltas.
pub fn reference_table(
    ours: &Certified,
    reference: Option<&Certified>,
    vcpus: Option<u64>,
    ram_gb: Option<u64>,
) -> String {
    let mut headers = vec!["", "Models", "vCPUS", "RAM", "GPU"];
    headers.extend(COLUMNS);
    let mut row = vec![
        "this run".to_string(),
        ours.model.clone(),
        vcpus.map_or("-".into(), |v| v.to_string()),
        ram_gb.map_or("-".into(), |v| format!("{v} GB")),
        ours.gpu.clone(),
    ];
    row.extend(cells(ours.values()));
    let mut rows = vec![row];
    if let Some(r) = reference {
        let mut row = vec![
            "certified".to_string(),
            r.model.clone(),
            r.vcpus.map_or("-".into(), num),
            r.ram_gb.map_or("-".into(), |v| format!("{} GB", num(v))),
            r.gpu.clone(),
        ];
        row.extend(cells(r.values()));
        rows.push(row);
        let mut delta = vec![
            "change".to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ];
        for (a, b) in ours.values().iter().zip(r.values()) {
            delta.push(match (a, b) {
                (Some(a), Some(b)) if b != 0.0 => format!("{:+.1}%", 100.0 * (a - b) / b),
                _ => "-".into(),
            });
        }
        rows.push(delta);
    }
    table(&headers, &rows)
}

/// `llmload compare`
pub fn compare_cmd(a: &CompareArgs) -> Result<ExitCode, Error> {
    let load = |p: &Path| Results::load(p).map_err(|e| Error::usage(e.to_string()));
    if let Some(db_path) = &a.reference {
        let [file] = a.files.as_slice() else {
            return Err(Error::usage("--reference: takes one report"));
        };
        let text = match db_path {
            None => compare::CERTIFIED.to_string(),
            Some(db_path) => std::fs::read_to_string(db_path).map_err(|e| {
                Error::usage(format!(
                    "--reference {}: cannot read: {e}",
                    db_path.display()
                ))
            })?,
        };
        let db =
            compare::reference_db(&text).map_err(|e| Error::usage(format!("--reference: {e}")))?;
        let report = load(file)?;
        let model = a
            .model
            .clone()
            .or_else(|| report.model.clone())
            .unwrap_or_else(|| "?".into());
        let gpu = a
            .gpu
            .clone()
            .or_else(|| deployment::detect_gpus().map(|g| g.name))
            .ok_or_else(|| {
                Error::usage("--gpu: required (no GPU detected with nvidia-smi or rocm-smi)")
            })?;
        let (idx, ours) = compare::certified_row(&report, &model, &gpu).ok_or_else(|| {
            Error::usage(format!(
                "{}: no benchmark with successful requests",
                file.display()
            ))
        })?;
        let reference = compare::find_reference(&db, &model, &gpu);
        println!(
            "Certified-results row from {} ({})",
            file.display(),
            strategy_label(&report.benchmarks[idx])
        );
        print!("{}", reference_table(&ours, reference, None, None));
        if reference.is_none() {
            println!("no certified result for {model} on {gpu} in the reference table");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let [base_path, new_path] = a.files.as_slice() else {
        return Err(Error::usage(
            "compare: expected BASE.json NEW.json (or one report with --reference)",
        ));
    };
    let limits = match &a.max_regression {
        Some(raw) => {
            compare::parse_limits(raw).map_err(|e| Error::usage(format!("--max-regression {e}")))?
        }
        None => Vec::new(),
    };
    let (base, new) = (load(base_path)?, load(new_path)?);
    let compared = compare::compare(&base, &new, &limits).map_err(Error::usage)?;
    for w in &compared.warnings {
        println!("warning: {w}");
    }
    let rows = &compared.rows;
    let printed: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.benchmark.clone(),
                format!("{} ({})", r.metric, r.unit),
                num(r.base),
                num(r.new),
                r.change(),
                r.limit.map_or("-".into(), |l| {
                    if r.metric == "error_rate" {
                        format!("{} pt", num(l))
                    } else {
                        format!("{}%", num(100.0 * l))
                    }
                }),
                if r.regressed {
                    "REGRESSION"
                } else if r.limit.is_some() {
                    "ok"
                } else {
                    ""
                }
                .into(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "benchmark",
                "metric",
                "base",
                "new",
                "change",
                "limit",
                "verdict"
            ],
            &printed
        )
    );
    let regressions = rows.iter().filter(|r| r.regressed).count();
    println!(
        "{regressions} regression{} ({} vs {})",
        if regressions == 1 { "" } else { "s" },
        new_path.display(),
        base_path.display()
    );
    Ok(if regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_models() {
        assert_eq!(fraction("--t", "10%").unwrap(), 0.1);
        assert_eq!(fraction("--t", "0.05").unwrap(), 0.05);
        assert!(fraction("--t", "150%").is_err());
        let lm_eval = serde_json::json!({"results": {}, "config": {"model_args": "pretrained=org/m,tensor_parallel_size=1"}});
        assert_eq!(model_of(&lm_eval).as_deref(), Some("org/m"));
        assert_eq!(rfc3339(1_764_000_000.5), "2025-11-24T16:00:00Z");
    }

    #[test]
    fn tables_take_any_width_and_ragged_rows() {
        let long = "x".repeat(70_000);
        let t = table(
            &["a", "b"],
            &[vec![long.clone(), "1".into(), "extra".into()], vec![]],
        );
        assert!(t.lines().next().unwrap().starts_with('a'));
        assert!(t.contains(&long) && t.contains("extra"));
    }
}

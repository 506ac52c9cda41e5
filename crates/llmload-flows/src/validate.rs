//! The validation flows of the seeds, each one command:
//!
//! - `validate redhat`: every scenario at every rate as its own run, the
//!   raw report wrapped in Red Hat's experiment envelope (validated), then
//!   the monotonicity check over the envelopes.
//! - `validate opennebula`: the maximum-throughput search, 10 fixed-rate runs
//!   below the rate found, the HTML report, the certified-results row, SLO
//!   verdicts and the comparison with the certified results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::plan::BackendArgs;
use llmload_client::Client;
use llmload_report::compare;
use llmload_report::console::verdict_line;
use llmload_report::envelope::{self, ExperimentType};
use serde_json::Value;

use crate::benchmark::{measure, write_outputs, Signals};
use crate::flow_args::{OpennebulaArgs, RedhatArgs, ServerArgs};
use crate::plan::Plan;
use crate::tools::{check_files, fraction, reference_table, rfc3339, slo_tables};
use crate::BenchmarkArgs;
use crate::{deployment, scenario, Error};

/// Fractions of the maximum sustainable rate for OpenNebula's fixed-rate runs.
pub const FRACTIONS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/// `1..9` or `1,2,3` (requests/s).
pub fn parse_rates(raw: &str) -> Result<Vec<f64>, Error> {
    let bad = || {
        Error::usage(format!(
            "--rates: expected a list (1,2,3) or a range (1..9) of rates > 0, got {raw:?}"
        ))
    };
    let rates: Vec<f64> = match raw.split_once("..") {
        Some((a, b)) => {
            let (a, b): (u32, u32) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            (a..=b).map(f64::from).collect()
        }
        None => raw
            .split(',')
            .map(|r| r.trim().parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?,
    };
    if rates.is_empty() || rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(bad());
    }
    Ok(rates)
}

/// Benchmark flags for one run against the flow's server.
fn base_args(server: &ServerArgs) -> BenchmarkArgs {
    BenchmarkArgs {
        target: Some(server.target.clone()),
        model: server.model.clone(),
        processor: server.processor.clone(),
        backend_args: server.backend_args.clone(),
        disable_progress: server.disable_progress,
        disable_console_outputs: true,
        data_samples: -1,
        ..Default::default()
    }
}

/// The model to name, and the server's version (GET /version), asked once.
async fn server_identity(server: &ServerArgs) -> Result<(String, Option<String>), Error> {
    if server.target == "mock" {
        let model = server
            .model
            .clone()
            .unwrap_or_else(|| "llmload-mock".into());
        return Ok((
            model,
            Some(format!("llmload-mock-{}", env!("CARGO_PKG_VERSION"))),
        ));
    }
    let cfg = BackendArgs::parse(server.backend_args.as_deref())?.client_config(&server.target);
    let client = Client::new(cfg).map_err(|e| Error::usage(e.to_string()))?;
    let model = match &server.model {
        Some(m) => m.clone(),
        None => client
            .models()
            .await
            .map_err(|e| {
                Error::usage(format!(
                    "--target {}: cannot list models ({e})",
                    server.target
                ))
            })?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::usage(format!(
                    "--target {}: no model listed; pass --model",
                    server.target
                ))
            })?,
    };
    let version = client
        .get_json("/version")
        .await
        .ok()
        .and_then(|v| v["version"].as_str().map(String::from));
    Ok((model, version))
}

/// Run one plan; its report written as the plan says. An output that could
/// not be written is reported (one line each) and remembered in `lost`; the
/// flow goes on, and ends with exit code 2.
async fn run_one(
    args: BenchmarkArgs,
    signals: &Signals,
    lost: &std::cell::Cell<bool>,
) -> Result<(Plan, crate::benchmark::Measured), Error> {
    let plan = Plan::from_args(args)?;
    let m = measure(&plan, signals).await?;
    if let Err(e) = write_outputs(&plan, &m.report, m.schema2.as_ref()) {
        eprintln!("llmload: error: {e}");
        lost.set(true);
    }
    Ok((plan, m))
}

/// The flow's exit code: 2 when an output was lost, else `code`.
fn unless_lost(lost: &std::cell::Cell<bool>, code: ExitCode) -> ExitCode {
    if lost.get() {
        eprintln!("llmload: error: some outputs were not written (see above)");
        ExitCode::from(2)
    } else {
        code
    }
}

/// `llmload validate redhat`
pub async fn redhat(a: &RedhatArgs) -> Result<ExitCode, Error> {
    let rates = parse_rates(&a.rates)?;
    let tolerance = fraction("--tolerance", &a.tolerance)?;
    if !(a.max_seconds.is_finite() && a.max_seconds > 0.0) {
        return Err(Error::usage(
            "--max-seconds: expected a number of seconds > 0",
        ));
    }
    let names: Vec<String> = if a.scenario.iter().any(|s| s == "all") {
        scenario::BUILTIN.iter().map(|b| b.0.to_string()).collect()
    } else {
        a.scenario.clone()
    };
    let scenarios: Vec<(String, serde_json::Map<String, Value>)> = names
        .iter()
        .map(|n| scenario::load(n).map(|s| (n.clone(), s)))
        .collect::<Result<_, _>>()?;
    // Everything the envelopes need, before hours of measuring.
    let (model, version) = server_identity(&a.server).await?;
    let deployment = deployment::resolve(&a.deployment, &model, version)?;
    let signals = Signals::install();
    let lost = std::cell::Cell::new(false);
    let mut envelopes: Vec<PathBuf> = Vec::new();
    let mut any_success = false;
    'matrix: for (name, sc) in &scenarios {
        let label = Path::new(name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(name);
        for &rps in &rates {
            if signals.interrupted() {
                break 'matrix;
            }
            let dir = a
                .output_dir
                .join(label)
                .join(format!("rps{}", llmload_report::html::short_number(rps)));
            let mut args = base_args(&a.server);
            args.model = Some(model.clone());
            args.rate = vec![rps.to_string()];
            args.max_seconds = Some(a.max_seconds);
            args.output_dir = Some(dir.clone());
            args.outputs = vec!["json".into(), "csv".into()];
            scenario::apply(&mut args, name, sc)?;
            // samples = rps × max_seconds, as the guide writes the data string.
            let samples = (rps * a.max_seconds).round() as u64;
            args.data = args
                .data
                .iter()
                .map(|d| format!("{d},samples={samples}"))
                .collect();
            let (_, m) = run_one(args, &signals, &lost).await?;
            any_success |= m.any_success;
            let report = serde_json::to_value(&m.report).expect("reports serialize");
            let started = m.report.benchmarks.first().map_or(0.0, |b| b.start_time);
            let e = envelope::wrap(
                report,
                ExperimentType::Performance,
                &deployment,
                &rfc3339(started),
            );
            envelope::validate(&e)
                .map_err(|errs| Error::setup(format!("envelope invalid: {}", errs.join("; "))))?;
            let path = dir.join("experiment.json");
            let text = serde_json::to_string_pretty(&e).expect("values serialize");
            llmload_report::write_atomic(&path, text.as_bytes())
                .map_err(|e| Error::setup(e.to_string()))?;
            let results = m.summary()?;
            let b = results.benchmarks.first();
            println!(
                "{label} at {rps} req/s: {} ok, {} errored, TTFT p50 {} ms; {} -> {}",
                b.map_or(0, |b| b.metrics.request_totals.successful),
                b.map_or(0, |b| b.metrics.request_totals.errored),
                b.map_or("-".into(), |b| llmload_report::html::short_number(
                    b.metrics.time_to_first_token_ms.successful.median
                )),
                b.and_then(|b| b.ext.verdict.as_ref())
                    .map_or("not judged".into(), verdict_line),
                path.display()
            );
            envelopes.push(path);
            if m.interrupted {
                break 'matrix;
            }
        }
    }
    let order: Vec<String> = llmload_report::monotonic::DEFAULT_ORDER
        .map(String::from)
        .to_vec();
    let violated = !envelopes.is_empty() && check_files(&envelopes, tolerance, &order)?;
    println!(
        "{} experiment envelopes written under {}",
        envelopes.len(),
        a.output_dir.display()
    );
    if signals.interrupted() {
        return Ok(ExitCode::from(130));
    }
    Ok(unless_lost(
        &lost,
        if !any_success || violated {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    ))
}

/// `llmload validate opennebula`
pub async fn opennebula(a: &OpennebulaArgs) -> Result<ExitCode, Error> {
    let (model, _) = server_identity(&a.server).await?;
    let gpu = a
        .gpu
        .clone()
        .or_else(|| deployment::detect_gpus().map(|g| g.name))
        .unwrap_or_else(|| "none".into());
    let (vcpus, ram_gb) = (
        a.vcpus.unwrap_or_else(deployment::vcpus),
        a.ram_gb.or_else(deployment::ram_gb),
    );
    let signals = Signals::install();
    let lost = std::cell::Cell::new(false);

    println!(
        "Finding the maximum throughput of {model} at {} ...",
        a.server.target
    );
    let mut search = base_args(&a.server);
    search.model = Some(model.clone());
    search.rate_type = Some("search".into());
    search.data = vec![a.data.clone()];
    search.max_seconds = Some(a.step_seconds);
    search.output_dir = Some(a.output_dir.join("search"));
    search.outputs = vec!["json".into(), "html".into()];
    let (_, found) = run_one(search, &signals, &lost).await?;
    let summary = found.summary()?.ext.search.unwrap_or_default();
    for step in &summary.steps {
        println!("  {}", verdict_line(step));
    }
    let ceiling = summary.client_ceiling;
    if let Some(c) = ceiling {
        println!(
            "warning: llmload could not hold its schedule from {} req/s up on this host (its own sends lagged,              not the server's doing); the rate below is a lower bound of the server's maximum",
            llmload_report::html::short_number(c)
        );
    }
    let Some(best) = summary.best_rate else {
        if ceiling.is_some() {
            println!(
                "no rate could be measured: llmload fell behind its schedule at every rate tried (see {})",
                a.output_dir.join("search").display()
            );
        } else {
            println!(
                "the server sustained none of the rates tried (see {})",
                a.output_dir.join("search").display()
            );
        }
        return Ok(ExitCode::from(1));
    };
    println!(
        "Maximum sustainable rate: {} req/s{}",
        llmload_report::html::short_number(best),
        if ceiling.is_some() { " (at least)" } else { "" }
    );
    if signals.interrupted() {
        return Ok(ExitCode::from(130));
    }

    let rates: Vec<String> = FRACTIONS
        .iter()
        .map(|f| format!("{:.3}", f * best))
        .collect();
    println!(
        "Running 10 fixed rates below it: {} req/s",
        rates.join(", ")
    );
    let mut runs = base_args(&a.server);
    runs.model = Some(model.clone());
    runs.rate_type = Some("constant".into());
    runs.rate = rates;
    runs.data = vec![a.data.clone()];
    runs.max_seconds = Some(a.run_seconds);
    runs.output_dir = Some(a.output_dir.clone());
    runs.outputs = vec!["json".into(), "csv".into(), "html".into()];
    runs.disable_console_outputs = false;
    let (plan, m) = run_one(runs, &signals, &lost).await?;
    let results = m.summary()?;
    let report = &results;
    println!("\nFixed-rate runs");
    for b in &report.benchmarks {
        if let Some(v) = &b.ext.verdict {
            println!("  {}", verdict_line(v));
        }
    }

    println!("\nCertified-results row");
    let (_, ours) = compare::certified_row(report, &model, &gpu)
        .ok_or_else(|| Error::setup("no fixed-rate run had a successful request"))?;
    let db_text = match &a.reference {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Error::usage(format!("--reference {}: cannot read: {e}", p.display())))?,
        None => compare::CERTIFIED.to_string(),
    };
    let db =
        compare::reference_db(&db_text).map_err(|e| Error::usage(format!("--reference: {e}")))?;
    let reference = compare::find_reference(&db, &model, &gpu);
    print!("{}", reference_table(&ours, reference, Some(vcpus), ram_gb));
    if reference.is_none() {
        println!("(no certified result for {model} on {gpu} to compare with)");
    }
    println!("\nSLO verdicts (p99 against the reference SLOs)");
    let cases: Vec<&llmload_report::slo::UseCase> =
        llmload_report::slo::use_cases().iter().collect();
    print!("{}", slo_tables(report, &cases));
    if let Some((_, path)) = plan
        .outputs
        .files
        .iter()
        .find(|(f, _)| *f == llmload_report::Format::Html)
    {
        println!("\nHTML report: {}", path.display());
    }
    Ok(unless_lost(&lost, m.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_lists_or_ranges() {
        assert_eq!(
            parse_rates("1..9").unwrap(),
            (1..=9).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(parse_rates("1, 2.5,3").unwrap(), [1.0, 2.5, 3.0]);
        assert!(parse_rates("0,1").is_err());
        assert!(parse_rates("a..b")
            .unwrap_err()
            .to_string()
            .contains("--rates"));
    }

    #[test]
    fn fixed_rates_are_below_the_maximum() {
        assert_eq!(FRACTIONS.len(), 10);
        assert!(FRACTIONS.iter().all(|f| *f < 1.0));
        assert!(FRACTIONS.windows(2).all(|w| w[0] < w[1]));
    }
}

//! From flags to a plan: every value validated, nothing opened or fetched.
//!
//! Errors name the flag and say what was expected; they become one line on
//! stderr and exit code 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llmload_data::{ColumnMapping, SyntheticSpec};
use llmload_engine::{
    Constraints, Profile, RunPlan, SaturationConfig, SearchConfig, Slo, TransientPhase,
    DEFAULT_MAX_CONCURRENCY,
};
use llmload_metrics::RequestType;
use llmload_report::Format;
use serde_json::Value;

use crate::BenchmarkArgs;
use crate::Error;

mod asked;
mod backend;
pub use asked::{Asked, ServerMetrics};
pub use backend::{BackendArgs, DEFAULT_TIMEOUT_SECS};

/// `--random-seed` when not given (GuideLLM's).
pub const DEFAULT_SEED: u64 = 42;

/// Where reports go.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputPlan {
    /// `(format, path)` for each file.
    pub files: Vec<(Format, PathBuf)>,
    /// Print the tables.
    pub console: bool,
    /// Write the JSON and YAML in GuideLLM 0.8's layout (schema 2).
    pub schema2: bool,
}

/// `ttft=200,itl=50,latency=5000` (p99 limits in ms).
fn parse_slo(raw: &str) -> Result<Slo, Error> {
    let mut slo = Slo::default();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            Error::usage(format!("--slo: expected key=milliseconds, got {part:?}"))
        })?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| *v > 0.0)
            .ok_or_else(|| {
                Error::usage(format!("--slo {k}: expected milliseconds > 0, got {v:?}"))
            })?;
        match k.trim() {
            "ttft" | "ttft_ms" => slo.ttft_ms = Some(v),
            "itl" | "itl_ms" => slo.itl_ms = Some(v),
            "latency" | "latency_ms" | "e2e" => slo.latency_ms = Some(v),
            other => {
                return Err(Error::usage(format!(
                    "--slo: unknown key {other:?} (expected ttft, itl, latency)"
                )))
            }
        }
    }
    Ok(slo)
}

/// Where the requests come from.
#[derive(Clone, Debug)]
pub enum DataChoice {
    /// Synthetic prompts.
    Synthetic(SyntheticSpec),
    /// A dataset file.
    File {
        /// The file.
        path: PathBuf,
        /// Column roles.
        mapping: ColumnMapping,
        /// `--data-samples` (all when `None`).
        samples: Option<usize>,
        /// Shuffle the rows (`--data-sampler shuffle`).
        shuffle: bool,
    },
}

fn parse_data(args: &BenchmarkArgs) -> Result<DataChoice, Error> {
    let one =
        match args.data.as_slice() {
            [] => return Err(Error::usage(
                "--data: required, e.g. \"prompt_tokens=512,output_tokens=256\" or a dataset file",
            )),
            [one] => one,
            _ => {
                return Err(Error::usage(
                    "--data: give one synthetic spec or one dataset file",
                ))
            }
        };
    let usage = |e: llmload_data::DataError| Error::usage(e.to_string());
    if SyntheticSpec::looks_like_spec(one) {
        return SyntheticSpec::parse(one)
            .map(DataChoice::Synthetic)
            .map_err(usage);
    }
    let path = PathBuf::from(one);
    if !path.is_file() && one.contains('=') {
        // key=value pairs with a misspelt first key: name the key.
        return SyntheticSpec::parse(one)
            .map(DataChoice::Synthetic)
            .map_err(usage);
    }
    if !path.is_file() {
        return Err(Error::usage(format!(
            "--data {one:?}: neither a synthetic spec (prompt_tokens=…,output_tokens=…) nor a readable file; \
             Hugging Face datasets are not downloaded (save them as .jsonl, .json or .csv)"
        )));
    }
    if let Some(spec) = SyntheticSpec::from_file(&path).map_err(usage)? {
        return Ok(DataChoice::Synthetic(spec));
    }
    let mapping = ColumnMapping::parse(args.data_column_mapper.as_deref()).map_err(usage)?;
    let shuffle = match args.data_sampler.as_deref() {
        None | Some("none") | Some("None") => false,
        Some("shuffle") | Some("random") => true,
        Some(other) => {
            return Err(Error::usage(format!(
                "--data-sampler {other:?}: expected shuffle"
            )))
        }
    };
    let samples = match args.data_samples {
        -1 => None,
        n if n >= 1 => Some(n as usize),
        n => {
            return Err(Error::usage(format!(
                "--data-samples: expected -1 (all) or at least 1, got {n}"
            )))
        }
    };
    Ok(DataChoice::File {
        path,
        mapping,
        samples,
        shuffle,
    })
}

/// A validated benchmark invocation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Target URL, or `None` for the built-in mock.
    pub target: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// Route.
    pub request_type: RequestType,
    /// `--processor`.
    pub processor: Option<String>,
    /// Where requests come from.
    pub data: DataChoice,
    /// The benchmarks and how they run (`--rate-type`/`--rate`, the
    /// constraints, `--max-concurrency`, `--random-seed`, `--warmup`,
    /// `--cooldown`, `--rampup`): what the engine runs and the report records.
    pub run: RunPlan,
    /// Backend settings.
    pub backend: BackendArgs,
    /// Reports.
    pub outputs: OutputPlan,
    /// Show live progress.
    pub progress: bool,
    /// Records kept per status.
    pub sample_requests: Option<u64>,
    /// What was asked, as the report records it.
    pub asked: Asked,
    /// With `--shard`: the run's shared directory (rendezvous, journals).
    pub shard_dir: Option<PathBuf>,
    /// `--source-addresses`.
    pub source_addresses: Vec<std::net::IpAddr>,
}

fn parse_rates(raw: &[String]) -> Result<Vec<f64>, Error> {
    let mut out = Vec::new();
    for part in raw
        .iter()
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let v: f64 = part
            .parse()
            .map_err(|_| Error::usage(format!("--rate: expected a number, got {part:?}")))?;
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::usage(format!(
                "--rate: expected a number > 0, got {part}"
            )));
        }
        out.push(v);
    }
    Ok(out)
}

fn whole(rates: &[f64], what: &str) -> Result<Vec<u32>, Error> {
    rates
        .iter()
        .map(|&r| {
            if r.fract() == 0.0 && r >= 1.0 && r <= u32::MAX as f64 {
                Ok(r as u32)
            } else {
                Err(Error::usage(format!(
                    "--rate: {what} must be whole numbers >= 1, got {r}"
                )))
            }
        })
        .collect()
}

fn parse_profile(
    kind: &str,
    rates: &[f64],
    max_concurrency: &mut u32,
    explicit_cap: bool,
) -> Result<Profile, Error> {
    match kind {
        "synchronous" => {
            if !rates.is_empty() {
                return Err(Error::usage("--rate: synchronous takes no rate"));
            }
            Ok(Profile::Synchronous)
        }
        "concurrent" => {
            if rates.is_empty() {
                return Err(Error::usage("--rate: concurrent needs the number of streams (e.g. --rate 8)"));
            }
            Ok(Profile::Concurrent(whole(rates, "stream counts")?))
        }
        "throughput" => {
            match rates {
                [] => {}
                [r] => {
                    let cap = whole(&[*r], "the throughput concurrency")?[0];
                    if explicit_cap && cap != *max_concurrency {
                        return Err(Error::usage("--rate and --max-concurrency disagree for throughput"));
                    }
                    *max_concurrency = cap;
                }
                _ => return Err(Error::usage("--rate: throughput takes one value (its max concurrency)")),
            }
            Ok(Profile::Throughput)
        }
        "constant" | "async" | "poisson" => {
            if rates.is_empty() {
                return Err(Error::usage(format!("--rate: {kind} needs requests per second (e.g. --rate 5)")));
            }
            Ok(if kind == "poisson" { Profile::Poisson(rates.to_vec()) } else { Profile::Constant(rates.to_vec()) })
        }
        "sweep" => {
            let size = match rates {
                [] => 10,
                [r] if r.fract() == 0.0 && *r >= 2.0 => *r as u32,
                _ => return Err(Error::usage("--rate: sweep takes one whole number >= 2 (the number of benchmarks)")),
            };
            Ok(Profile::Sweep { size })
        }
        "search" | "max_throughput" | "max-throughput" => {
            let start = match rates {
                [] => 1.0,
                [r] => *r,
                _ => return Err(Error::usage("--rate: search takes one value (the first rate to try)")),
            };
            Ok(Profile::Search(SearchConfig { start, ..Default::default() }))
        }
        other => Err(Error::usage(format!(
            "--rate-type {other:?}: expected one of synchronous, concurrent, throughput, constant, poisson, async, sweep, search"
        ))),
    }
}

fn parse_request_type(raw: Option<&str>) -> Result<RequestType, Error> {
    match raw.unwrap_or("chat_completions") {
        "chat_completions" | "/v1/chat/completions" | "chat" => Ok(RequestType::ChatCompletions),
        "text_completions" | "/v1/completions" | "completions" => Ok(RequestType::TextCompletions),
        other => Err(Error::usage(format!(
            "--request-type {other:?}: expected chat_completions or text_completions"
        ))),
    }
}

fn parse_outputs(args: &BenchmarkArgs) -> Result<OutputPlan, Error> {
    if args.output_path.is_some() && args.output_dir.is_some() {
        return Err(Error::usage(
            "--output-path and --output-dir cannot be used together",
        ));
    }
    let mut dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut names: Vec<String> = args
        .outputs
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(p) = &args.output_path {
        if p.is_dir() || p.extension().is_none() {
            dir = p.clone();
        } else {
            dir = p
                .parent()
                .map(PathBuf::from)
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."));
            names = vec![p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string()];
        }
    }
    if names.is_empty() {
        names = vec!["json".into(), "csv".into()];
    }
    let schema2 = match args.schema.trim() {
        "" | "0.4" | "1" => false,
        "0.8" | "2" => true,
        other => {
            return Err(Error::usage(format!(
                "--schema {other:?}: expected 0.4 (GuideLLM 0.4's report) or 0.8 (GuideLLM 0.8's, schema 2)"
            )))
        }
    };
    let mut plan = output_files(&dir, &names, !args.disable_console_outputs)?;
    plan.schema2 = schema2;
    Ok(plan)
}

/// Files (and the console) for `--outputs` names in `dir`: a format name
/// writes `benchmarks.<ext>`, a file name is used as given.
pub fn output_files(dir: &Path, names: &[String], console: bool) -> Result<OutputPlan, Error> {
    let mut plan = OutputPlan {
        files: Vec::new(),
        console,
        schema2: false,
    };
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if name == "console" {
            plan.console = true;
            continue;
        }
        let format = Format::parse(name).ok_or_else(|| {
            Error::usage(format!("--outputs {name:?}: expected json, csv, yaml, html or console (or a file name with one of those extensions)"))
        })?;
        let is_file = name.contains('.');
        let path = if is_file {
            dir.join(name)
        } else {
            dir.join(format.file_name())
        };
        plan.files.push((format, path));
    }
    Ok(plan)
}

fn check_rate(flag: &str, v: Option<f64>) -> Result<(), Error> {
    match v {
        Some(r) if !(r > 0.0 && r < 1.0) => Err(Error::usage(format!(
            "{flag}: expected a fraction between 0 and 1, got {r}"
        ))),
        _ => Ok(()),
    }
}

impl Plan {
    /// Validate flags into a plan.
    pub fn from_args(mut args: BenchmarkArgs) -> Result<Plan, Error> {
        if let Some(spec) = args.scenario.clone() {
            let scenario = crate::scenario::load(&spec)?;
            crate::scenario::apply(&mut args, &spec, &scenario)?;
        }
        if let Some(i) = args.server_metrics_interval {
            if !(i.is_finite() && (0.05..=3600.0).contains(&i)) {
                return Err(Error::usage(format!(
                    "--server-metrics-interval: expected seconds from 0.05 to 3600, got {i}"
                )));
            }
        }
        for url in args.server_metrics.iter().flat_map(|s| s.split(',')) {
            let url = url.trim();
            if url != "off" && llmload_client::Target::parse(url).is_err() {
                return Err(Error::usage(format!(
                    "--server-metrics: expected `off` or http(s) URLs of /metrics, got {url:?}"
                )));
            }
        }
        let target =
            match args.target.as_deref() {
                None => return Err(Error::usage(
                    "--target: required (a server URL such as http://localhost:8000, or `mock`)",
                )),
                Some("mock") => None,
                Some(t) => {
                    llmload_client::Target::parse(t).map_err(|e| Error::usage(e.to_string()))?;
                    Some(t.to_string())
                }
            };
        if let Some(b) = args.backend.as_deref().filter(|b| *b != "openai_http") {
            return Err(Error::usage(format!(
                "--backend {b:?}: only openai_http is supported"
            )));
        }
        let request_type = parse_request_type(args.request_type.as_deref())?;
        let mut backend = BackendArgs::parse(args.backend_args.as_deref())?;
        if args.insecure {
            backend.verify = false;
        }
        if let Some(path) = &args.ca_bundle {
            backend.ca_bundle = Some(path.clone());
        }
        if let Some(path) = &backend.ca_bundle {
            if !path.is_file() {
                return Err(Error::usage(format!(
                    "--ca-bundle {}: no such file (expected PEM CA certificates)",
                    path.display()
                )));
            }
        }
        if let Some(raw) = &args.processor_args {
            serde_json::from_str::<Value>(raw)
                .map_err(|e| Error::usage(format!("--processor-args: not JSON ({e})")))?;
        }
        let data = parse_data(&args)?;
        let rates = parse_rates(&args.rate)?;
        let explicit_cap = args.max_concurrency.is_some();
        let mut max_concurrency = args.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY);
        if max_concurrency == 0 {
            return Err(Error::usage("--max-concurrency: expected at least 1"));
        }
        let kind = args.rate_type.clone().unwrap_or_else(|| "sweep".into());
        let profile = parse_profile(&kind, &rates, &mut max_concurrency, explicit_cap)?;
        if let Some(s) = args.max_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::usage(format!(
                    "--max-seconds: expected a number of seconds > 0, got {s}"
                )));
            }
        }
        if args.max_requests == Some(0) {
            return Err(Error::usage("--max-requests: expected at least 1"));
        }
        check_rate("--max-error-rate", args.max_error_rate)?;
        check_rate("--max-global-error-rate", args.max_global_error_rate)?;
        let over_saturation = match (&args.over_saturation, args.detect_saturation) {
            (Some(raw), _) => SaturationConfig::parse(raw).map_err(Error::usage)?,
            (None, true) => Some(SaturationConfig::default()),
            (None, false) => None,
        };
        let constraints = Constraints {
            max_seconds: args.max_seconds,
            max_requests: args.max_requests,
            max_errors: args.max_errors,
            max_error_rate: args.max_error_rate,
            max_global_error_rate: args.max_global_error_rate,
            over_saturation,
        };
        let phase = |flag: &str, raw: &Option<String>| -> Result<TransientPhase, Error> {
            raw.as_deref().map_or(Ok(TransientPhase::default()), |r| {
                TransientPhase::parse(flag, r).map_err(Error::usage)
            })
        };
        let warmup = phase("--warmup", &args.warmup)?;
        let cooldown = phase("--cooldown", &args.cooldown)?;
        let rampup = parse_rampup(args.rampup, &profile)?;
        let mut profile = profile;
        if let Some(raw) = &args.slo {
            let slo = parse_slo(raw)?;
            match &mut profile {
                Profile::Search(cfg) => cfg.slo = slo,
                _ => return Err(Error::usage("--slo: only applies to --rate-type search")),
            }
        }
        let mut outputs = parse_outputs(&args)?;
        let shard = match &args.shard {
            Some(raw) => {
                let job = std::env::var("JOB_COMPLETION_INDEX").ok();
                let shard = crate::shard::parse(raw, job.as_deref())?;
                crate::shard::check(shard, &profile, constraints.over_saturation.is_some())?;
                Some(shard)
            }
            None => None,
        };
        let start_at = args
            .start_at
            .as_deref()
            .map(crate::shard::parse_start)
            .transpose()?;
        // A shard writes its own share's report in its own directory; the
        // run's directory holds the journals that `merge` reads.
        let shard_dir = shard.map(|s| {
            let dir = args
                .output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("."));
            for (_, path) in &mut outputs.files {
                if let Some(name) = path.file_name() {
                    *path = crate::shard::report_dir(&dir, s).join(name);
                }
            }
            dir
        });
        let mut plan = Plan {
            target,
            model: args.model.clone(),
            request_type,
            processor: args.processor.clone(),
            data,
            run: RunPlan {
                profile,
                constraints,
                max_concurrency,
                seed: args.random_seed.unwrap_or(DEFAULT_SEED),
                explicit_max_concurrency: explicit_cap,
                warmup,
                cooldown,
                rampup,
                shard,
                start_at,
            },
            backend,
            outputs,
            progress: !args.disable_progress,
            sample_requests: args.sample_requests,
            asked: Asked::default(),
            shard_dir,
            source_addresses: args.source_addresses.clone(),
        };
        plan.asked = Asked::new(&args, &plan);
        Ok(plan)
    }
}

/// `--rampup`: seconds >= 0, for the profiles GuideLLM allows it on.
fn parse_rampup(raw: Option<f64>, profile: &Profile) -> Result<Duration, Error> {
    let Some(secs) = raw else {
        return Ok(Duration::ZERO);
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(Error::usage(format!(
            "--rampup: expected a number of seconds >= 0, got {secs}"
        )));
    }
    if secs > 0.0 && matches!(profile, Profile::Synchronous | Profile::Poisson(_)) {
        return Err(Error::usage(
            "--rampup: only applies to concurrent, throughput, constant, sweep and search",
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests;

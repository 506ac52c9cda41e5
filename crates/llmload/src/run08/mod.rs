//! `llmload run`: GuideLLM 0.8's command line. The options (and a scenario
//! file or built-in `rhaiis/*` scenario under them) make one GuideLLM 0.8
//! `BenchmarkScenario`; it is checked kind by kind and key by key, then
//! run as the equivalent `llmload benchmark` with `--schema 0.8` (reports
//! in GuideLLM 0.8's layout). What llmload does not do is refused up front,
//! naming the option and key.

mod spec;

pub use spec::option_value;

use std::process::ExitCode;

use clap::Args;
use serde_json::{Map, Value};

use crate::CliError;

/// `llmload run`, GuideLLM 0.8.1's options.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A scenario file (JSON/YAML, or a saved report) or a built-in one: rhaiis/concurrent-1k-1k-equal, ...
    #[arg(short = 'c', long = "scenario", visible_alias = "config")]
    pub scenario: Option<String>,
    /// key=value label written to the report (repeatable).
    #[arg(short = 'l', long = "label")]
    pub labels: Vec<String>,
    /// kind=openai_http,target=URL[,model=...,request_format=...,api_key=...,timeout=...,verify=...]
    #[arg(long)]
    pub backend: Option<String>,
    /// kind=synchronous|concurrent|throughput|async|constant|poisson|sweep,... (rate=, streams=, sweep_size=, max_concurrency=, warmup=, cooldown=, rampup_duration=)
    #[arg(long)]
    pub profile: Option<String>,
    /// kind=max_duration,seconds=N | max_requests,count=N | max_errors,count=N | max_error_rate,rate=R | max_global_error_rate,rate=R | over_saturation (repeatable)
    #[arg(long = "constraint")]
    pub constraints: Vec<String>,
    /// kind=huggingface_auto,model=PATH
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// kind=synthetic_text,prompt_tokens=N,output_tokens=N,... or a file/dataset kind with path=/source= (repeatable)
    #[arg(long)]
    pub data: Vec<String>,
    /// kind=generative_column_mapper (accepted as is)
    #[arg(long)]
    pub data_column_mapper: Option<String>,
    /// kind=encode_media (accepted as is; repeatable)
    #[arg(long = "data-preprocessor")]
    pub data_preprocessors: Vec<String>,
    /// kind=generative (accepted as is)
    #[arg(long)]
    pub data_finalizer: Option<String>,
    /// kind=pytorch,samples=N
    #[arg(long)]
    pub data_loader: Option<String>,
    /// kind=static,value=N
    #[arg(long)]
    pub seed: Option<String>,
    /// kind=json|yaml|csv|html|console[,path=FILE] (repeatable; default json and csv)
    #[arg(long = "output")]
    pub outputs: Vec<String>,
    /// kind=generative,sample_size=N
    #[arg(long)]
    pub metrics: Option<String>,
    /// KEY VALUES: one benchmark per value, e.g. --override profile.streams 1,2,4 (repeatable)
    #[arg(long = "override", num_args = 2, value_names = ["KEY", "VALUES"])]
    pub overrides: Vec<String>,
    /// Do not print the result tables.
    #[arg(long, visible_alias = "disable-console")]
    pub disable_console_outputs: bool,
    /// Do not show live progress.
    #[arg(long, visible_alias = "disable-console-interactive")]
    pub disable_progress: bool,
}

/// The scenario the options make: the scenario file first, the options over it.
pub fn scenario(a: &RunArgs) -> Result<Value, CliError> {
    let mut doc = match &a.scenario {
        Some(s) => spec::scenario(s)?,
        None => serde_json::json!({"spec": {}}),
    };
    let mut over = Map::new();
    let one = |flag: &str, v: &Option<String>| v.as_deref().map(|v| spec::option_value(flag, v));
    for (key, flag, v) in [
        ("backend", "--backend", &a.backend),
        ("profile", "--profile", &a.profile),
        ("tokenizer", "--tokenizer", &a.tokenizer),
        (
            "data_column_mapper",
            "--data-column-mapper",
            &a.data_column_mapper,
        ),
        ("data_finalizer", "--data-finalizer", &a.data_finalizer),
        ("data_loader", "--data-loader", &a.data_loader),
        ("seed", "--seed", &a.seed),
        ("metrics", "--metrics", &a.metrics),
    ] {
        if let Some(v) = one(flag, v) {
            over.insert(key.into(), v?);
        }
    }
    for (key, flag, list) in [
        ("constraints", "--constraint", &a.constraints),
        ("data", "--data", &a.data),
        (
            "data_preprocessors",
            "--data-preprocessor",
            &a.data_preprocessors,
        ),
        ("outputs", "--output", &a.outputs),
    ] {
        if !list.is_empty() {
            let parsed: Result<Vec<Value>, CliError> =
                list.iter().map(|v| spec::option_value(flag, v)).collect();
            over.insert(key.into(), Value::Array(parsed?));
        }
    }
    spec::deep_update(&mut doc, serde_json::json!({ "spec": Value::Object(over) }));
    for l in &a.labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--label {l:?}: expected key=value")))?;
        doc["metadata"]["labels"][k.trim()] = Value::String(v.trim().to_string());
    }
    if !a.overrides.is_empty() {
        let list = spec::overrides(&a.overrides)?;
        doc["benchmarks"] = Value::Array(list.into_iter().map(Value::Object).collect());
    }
    Ok(doc)
}

/// Run it.
pub async fn run(a: &RunArgs) -> Result<ExitCode, CliError> {
    let doc = scenario(a)?;
    let argv = translate::to_benchmark_argv(&doc, a)?;
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(&argv)
        .map_err(|e| CliError::usage(format!("llmload run: {}", e.to_string().trim())))?;
    let crate::cli::Command::Benchmark(b) = cli.command else {
        unreachable!("the argv starts with benchmark")
    };
    crate::benchmark::run(crate::plan::Plan::from_args(b.args)?).await
}

mod translate;

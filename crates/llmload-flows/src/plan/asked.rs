//! What the user asked, as the report records it: taken from the flags
//! once, when the plan is made, so nothing after planning reads them.

use std::time::Duration;

use serde_json::{json, Value};

use super::{BackendArgs, Plan};
use crate::BenchmarkArgs;

/// The run as asked for, for the report and the server scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Asked {
    /// GuideLLM 0.4's flat `args` object (secrets redacted).
    pub report_args: Value,
    /// `--data`, as given.
    pub data: Vec<String>,
    /// `--data-samples`.
    pub data_samples: i64,
    /// `--label k=v`, in order.
    pub labels: Vec<(String, String)>,
    /// The 0.8 `--override`s, as `llmload run` recorded them.
    pub overrides: Option<Vec<Value>>,
    /// Where to scrape the server's /metrics.
    pub server_metrics: ServerMetrics,
    /// `--server-metrics-interval` (1 s when not given).
    pub server_metrics_interval: Duration,
}

/// `--server-metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ServerMetrics {
    /// The target's `/metrics` (the default).
    #[default]
    Target,
    /// `off`.
    Off,
    /// These URLs.
    Urls(Vec<String>),
}

impl Asked {
    /// What `args` asked for, given the plan made from them.
    pub(super) fn new(args: &BenchmarkArgs, plan: &Plan) -> Asked {
        Asked {
            report_args: report_args(args, plan),
            data: args.data.clone(),
            data_samples: args.data_samples,
            labels: args
                .labels
                .iter()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            overrides: args
                .overrides_record
                .as_deref()
                .and_then(|s| serde_json::from_str::<Vec<Value>>(s).ok()),
            server_metrics: match args.server_metrics.as_deref().map(str::trim) {
                None => ServerMetrics::Target,
                Some("off") => ServerMetrics::Off,
                Some(list) => ServerMetrics::Urls(
                    list.split(',')
                        .map(|u| u.trim().to_string())
                        .filter(|u| !u.is_empty())
                        .collect(),
                ),
            },
            server_metrics_interval: Duration::from_secs_f64(
                args.server_metrics_interval.unwrap_or(1.0),
            ),
        }
    }
}

/// GuideLLM 0.4's flat `args` object for the report (secrets redacted).
fn report_args(a: &BenchmarkArgs, plan: &Plan) -> Value {
    let outputs: Vec<String> = plan
        .outputs
        .files
        .iter()
        .map(|(f, _)| f.file_name().trim_start_matches("benchmarks.").to_string())
        .collect();
    let rates: Vec<f64> = a
        .rate
        .iter()
        .flat_map(|r| r.split(','))
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    json!({
        "target": a.target,
        "data": a.data,
        // GuideLLM's loader knows its own profiles only: the search's steps
        // are constant rates (llmload.search tells the rest).
        "profile": match plan.run.profile {
            llmload_engine::Profile::Search(_) => Some("constant".to_string()),
            _ => a.rate_type.clone(),
        },
        "rate": if rates.is_empty() { Value::Null } else { json!(rates) },
        "backend": a.backend.clone().unwrap_or_else(|| "openai_http".into()),
        "backend_kwargs": BackendArgs::redacted(a.backend_args.as_deref()),
        "model": a.model,
        "processor": a.processor,
        "processor_args": a.processor_args.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        "data_args": a.data_args,
        "data_samples": a.data_samples,
        "data_column_mapper": "generative_column_mapper",
        "data_request_formatter": plan.request_type.as_str(),
        "data_collator": "generative",
        "data_sampler": null,
        "data_num_workers": 1,
        "dataloader_kwargs": null,
        "random_seed": plan.run.seed,
        "outputs": outputs,
        "output_dir": plan.outputs.files.first().and_then(|(_, p)| p.parent()).map(|p| p.display().to_string()),
        "sample_requests": a.sample_requests,
        "warmup": a.warmup.as_deref().map(phase_arg),
        "cooldown": a.cooldown.as_deref().map(phase_arg),
        "rampup": a.rampup.unwrap_or(0.0),
        "prefer_response_metrics": true,
        "max_seconds": a.max_seconds,
        "max_requests": a.max_requests,
        "max_errors": a.max_errors,
        "max_error_rate": a.max_error_rate,
        "max_global_error_rate": a.max_global_error_rate,
    })
}

/// A `--warmup`/`--cooldown` value as GuideLLM's args hold it: a number or an object.
fn phase_arg(raw: &str) -> Value {
    raw.trim()
        .parse::<f64>()
        .map(Value::from)
        .or_else(|_| serde_json::from_str(raw))
        .unwrap_or(Value::Null)
}

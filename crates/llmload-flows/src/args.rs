//! The flags of `llmload benchmark` (GuideLLM 0.4's), as clap arguments:
//! declared here, next to the plan they become (`plan.rs`), so the
//! validation flows and `llmload run` can build them too.

use std::path::PathBuf;

use clap::Args;

/// Flags of `llmload benchmark`, with GuideLLM 0.4's names and aliases.
#[derive(Debug, Clone, Args, Default)]
pub struct BenchmarkArgs {
    /// Options from a scenario file (GuideLLM 0.4's flat format: the keys are
    /// these options) or a built-in scenario: chat, code-fixing, rag,
    /// long-rag (Red Hat's partner validation). Flags given here win.
    #[arg(long, short = 'c', visible_alias = "config", env = "GUIDELLM_SCENARIO")]
    pub scenario: Option<String>,

    /// Server base URL (`http://localhost:8000`; a trailing /v1 is ignored),
    /// or `mock` to start the built-in mock server on a free loopback port.
    #[arg(long, env = "GUIDELLM_TARGET")]
    pub target: Option<String>,

    /// Backend type; only `openai_http` exists.
    #[arg(long, visible_alias = "backend-type", env = "GUIDELLM_BACKEND")]
    pub backend: Option<String>,

    /// JSON object: headers, api_key, timeout, stall_timeout, verify, ca_bundle, extra_body,
    /// max_output_tokens, stream.
    #[arg(long, visible_alias = "backend-kwargs", env = "GUIDELLM_BACKEND_ARGS")]
    pub backend_args: Option<String>,

    /// Do not verify the server's TLS certificate (as `--backend-args '{"verify": false}'`).
    #[arg(long)]
    pub insecure: bool,

    /// PEM file of CA certificates to trust besides the public roots.
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,

    /// Model to request (default: the first id from GET /v1/models).
    #[arg(long, env = "GUIDELLM_MODEL")]
    pub model: Option<String>,

    /// `chat_completions` (default) or `text_completions`.
    #[arg(long, visible_alias = "request-format", env = "GUIDELLM_REQUEST_TYPE")]
    pub request_type: Option<String>,

    /// Tokenizer for synthetic prompts: a tokenizer.json, a directory holding
    /// one, or a Hugging Face model id found in the local cache.
    #[arg(long, env = "GUIDELLM_PROCESSOR")]
    pub processor: Option<String>,

    /// JSON passed to the tokenizer loader (accepted for compatibility; see docs).
    #[arg(long)]
    pub processor_args: Option<String>,

    /// Synthetic spec `prompt_tokens=…,output_tokens=…,…` (or a JSON object,
    /// or a .json/.yaml/.config file holding one), or a dataset file
    /// (.jsonl, .json, .csv, .txt).
    #[arg(long, env = "GUIDELLM_DATA")]
    pub data: Vec<String>,

    /// JSON arguments for loading the dataset (accepted for compatibility).
    #[arg(long)]
    pub data_args: Vec<String>,

    /// Number of dataset samples to use (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub data_samples: i64,

    /// JSON column mapping for dataset files, e.g. '{"text_column": "article"}'.
    #[arg(long)]
    pub data_column_mapper: Option<String>,

    /// `shuffle` to shuffle dataset rows (seeded by --random-seed).
    #[arg(long)]
    pub data_sampler: Option<String>,

    /// Scheduling profile: synchronous, concurrent, throughput, constant, poisson,
    /// async, sweep, or search (llmload's max-throughput search).
    #[arg(long, visible_alias = "profile", env = "GUIDELLM_RATE_TYPE")]
    pub rate_type: Option<String>,

    /// Rates (req/s) for constant/poisson, stream counts for concurrent, max
    /// concurrency for throughput, benchmarks for sweep (default 10), the first
    /// rate for search (default 1). Comma lists give one benchmark each.
    #[arg(long, env = "GUIDELLM_RATE", allow_negative_numbers = true)]
    pub rate: Vec<String>,

    /// Seed of prompts, lengths and Poisson arrivals (default 42).
    #[arg(long, env = "GUIDELLM_RANDOM_SEED")]
    pub random_seed: Option<u64>,

    /// Directory for the reports (created if missing; default: current directory).
    #[arg(long, env = "GUIDELLM_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,

    /// Run one shard of a run split across processes: INDEX/COUNT, or COUNT with INDEX
    /// from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). Every shard takes the same
    /// options and --output-dir (shared); `llmload merge DIR` makes the one report.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,

    /// Local addresses to open connections from, in turn (each an address of this host):
    /// one address has about 28k ports towards one server; several hold more streams.
    #[arg(long, value_delimiter = ',', value_name = "IP,...")]
    pub source_addresses: Vec<std::net::IpAddr>,

    /// When the run starts: RFC 3339 or epoch seconds (with --shard: the shards' common
    /// start; without, 2 s after the last shard is ready).
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,

    /// Report formats: json, csv, yaml, html, console (default json,csv), or
    /// file names whose extension picks the format.
    #[arg(long, value_delimiter = ',')]
    pub outputs: Vec<String>,

    /// Legacy: a directory, or a file whose extension picks the format.
    #[arg(long, env = "GUIDELLM_OUTPUT_PATH")]
    pub output_path: Option<PathBuf>,

    /// Layout of the JSON and YAML reports: GuideLLM 0.4's (default) or
    /// GuideLLM 0.8's (`metadata.version: 2`, what `guidellm run` writes).
    #[arg(long, value_name = "0.4|0.8", default_value = "0.4")]
    pub schema: String,

    /// key=value label for the GuideLLM 0.8 report's `config.metadata.labels` (repeatable).
    #[arg(long = "label", hide = true)]
    pub labels: Vec<String>,

    /// Scrape the server's Prometheus metrics during the run: `off`, or the
    /// metrics URLs (comma-separated, one per replica). Default: the
    /// target's /metrics when it serves vLLM's (one warning when it does not).
    #[arg(long, value_name = "URL,...|off")]
    pub server_metrics: Option<String>,

    /// Seconds between two scrapes of the server's metrics [default: 1].
    #[arg(long, value_name = "SECONDS")]
    pub server_metrics_interval: Option<f64>,

    /// GuideLLM 0.8's per-benchmark overrides as a JSON list, for the 0.8
    /// report's `config.benchmarks` (`llmload run --override`).
    #[arg(long = "overrides-record", hide = true)]
    pub overrides_record: Option<String>,

    /// Do not print the result tables.
    #[arg(long, visible_alias = "disable-console")]
    pub disable_console_outputs: bool,

    /// Do not show live progress.
    #[arg(long, visible_alias = "disable-console-interactive")]
    pub disable_progress: bool,

    /// Request records kept per status in the report (default: all).
    #[arg(long, visible_alias = "output-sampling")]
    pub sample_requests: Option<u64>,

    /// Seconds per benchmark.
    #[arg(long, env = "GUIDELLM_MAX_SECONDS", allow_negative_numbers = true)]
    pub max_seconds: Option<f64>,

    /// Requests per benchmark.
    #[arg(long, env = "GUIDELLM_MAX_REQUESTS", allow_negative_numbers = true)]
    pub max_requests: Option<u64>,

    /// Stop a benchmark after this many errored requests.
    #[arg(long, allow_negative_numbers = true)]
    pub max_errors: Option<u64>,

    /// Stop when the error rate of the last 30 requests reaches this (0 < r < 1).
    #[arg(long, env = "GUIDELLM_MAX_ERROR_RATE", allow_negative_numbers = true)]
    pub max_error_rate: Option<f64>,

    /// Stop when the error rate of the whole benchmark reaches this (0 < r < 1).
    #[arg(long, allow_negative_numbers = true)]
    pub max_global_error_rate: Option<f64>,

    /// Requests in flight at most for throughput, constant and poisson (default 10240; 512 for sweep).
    #[arg(long, allow_negative_numbers = true)]
    pub max_concurrency: Option<u32>,

    /// Warmup: a fraction (< 1) of the benchmark, or seconds/requests (>= 1), or
    /// JSON {"percent","value","mode"}. Requests that start in it are not measured.
    #[arg(long, visible_alias = "warmup-percent", env = "GUIDELLM_WARMUP")]
    pub warmup: Option<String>,

    /// Cooldown, as --warmup, at the end of each benchmark.
    #[arg(long, visible_alias = "cooldown-percent", env = "GUIDELLM_COOLDOWN")]
    pub cooldown: Option<String>,

    /// Seconds over which constant rates climb linearly to the asked rate, and
    /// concurrent/throughput streams start evenly spread (default 0).
    #[arg(long, env = "GUIDELLM_RAMPUP", allow_negative_numbers = true)]
    pub rampup: Option<f64>,

    /// Stop a benchmark when the server is over-saturated: JSON
    /// {"enabled": true, "min_seconds": 30, "minimum_ttft": 2.5, ...}.
    #[arg(long)]
    pub over_saturation: Option<String>,

    /// Same as --over-saturation '{"enabled": true}'.
    #[arg(long, visible_alias = "default-over-saturation")]
    pub detect_saturation: bool,

    /// Latency limits (p99, ms) for the max-throughput search: ttft=200,itl=50,latency=5000.
    #[arg(long)]
    pub slo: Option<String>,
}

/// `llmload benchmark ARGV...` parsed (clap's defaults where not given).
pub(crate) fn parse(argv: &[&str]) -> Result<BenchmarkArgs, clap::Error> {
    #[derive(clap::Parser)]
    struct Benchmark {
        #[command(flatten)]
        args: BenchmarkArgs,
    }
    let all = std::iter::once("benchmark").chain(argv.iter().copied());
    <Benchmark as clap::Parser>::try_parse_from(all).map(|b| b.args)
}

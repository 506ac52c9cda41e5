//! The command line: GuideLLM 0.4's `benchmark` flags, plus llmload's own.
//!
//! This module only declares flags (clap derive); turning them into a plan,
//! with validation and clear errors, is llmload-flows' `plan`; the flags of
//! `benchmark` and of the flows are declared there too ([`BenchmarkArgs`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use llmload_flows::flow_args::{
    CheckCommand, CompareArgs, EnvelopeCommand, SloArgs, ValidateCommand,
};
pub use llmload_flows::BenchmarkArgs;

/// A load generator for OpenAI-compatible LLM servers (vLLM first),
/// compatible with GuideLLM's command line and reports.
#[derive(Debug, Parser)]
#[command(name = "llmload", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success; 1 no request succeeded; 2 bad input or setup error; 130 interrupted."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a benchmark against a server (GuideLLM's `benchmark [run]`).
    Benchmark(Box<BenchmarkCommand>),
    /// Run benchmarks with GuideLLM 0.8's options (`guidellm run`): kind=...,key=value specs, scenarios, GuideLLM 0.8 reports.
    Run(Box<crate::run08::RunArgs>),
    /// Re-export a saved report with GuideLLM 0.8's options (`guidellm export`).
    Export(ExportArgs),
    /// Serve an OpenAI-compatible mock LLM (GuideLLM's `mock-server`).
    MockServer(Box<MockArgs>),
    /// Re-export a saved report, llmload's or GuideLLM 0.4's (GuideLLM's
    /// `benchmark from-file` / `export`).
    Report(ReportArgs),
    /// Run a validation flow end to end (Red Hat partner matrix, OpenNebula certification).
    #[command(subcommand)]
    Validate(ValidateCommand),
    /// Red Hat experiment envelopes: wrap results, validate envelopes.
    #[command(subcommand)]
    Envelope(EnvelopeCommand),
    /// Sanity checks on a set of results.
    #[command(subcommand)]
    Check(CheckCommand),
    /// SLO verdicts and goodput of a report, per use case.
    Slo(SloArgs),
    /// Compare two reports (a regression gate), or a report with the certified results.
    Compare(CompareArgs),
    /// Merge the shards of one run (`benchmark --shard`) into its one report.
    Merge(MergeArgs),
    /// Kubernetes manifests that run a benchmark as N shards (an Indexed Job) and merge them.
    KubeManifest(Box<KubeArgs>),
}

/// `llmload kube-manifest --shards N [benchmark options]`
#[derive(Debug, Args)]
pub struct KubeArgs {
    /// Pods (shards) of the Indexed Job.
    #[arg(long)]
    pub shards: u32,

    /// Prefix of the objects' names, and the run's directory on the volume.
    #[arg(long, default_value = "llmload")]
    pub name: String,

    /// Container image (built from the repository's Dockerfile).
    #[arg(long, default_value = llmload_flows::kube::IMAGE)]
    pub image: String,

    /// Size of the shards' ReadWriteMany volume.
    #[arg(long, default_value = "1Gi")]
    pub storage: String,

    /// Storage class of the volume (one that offers ReadWriteMany).
    #[arg(long)]
    pub storage_class: Option<String>,

    /// Write run.yaml and merge.yaml into this directory instead of printing both.
    #[arg(long, value_name = "DIR")]
    pub manifests_dir: Option<PathBuf>,

    /// The benchmark's options, as `llmload benchmark` takes them.
    #[command(flatten)]
    pub bench: BenchmarkArgs,
}

/// `llmload merge DIR|JOURNAL...`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The run's shared directory (its shard-INDEX-of-COUNT.journal files), or the journals.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Where to write the report (default: the current directory).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,

    /// Formats or file names: json, csv, yaml, html, console (default: console,json,csv,html).
    #[arg(long, value_delimiter = ',')]
    pub outputs: Vec<String>,

    /// Layout of the JSON and YAML: 0.4 (default) or 0.8 (GuideLLM 0.8's, schema 2).
    #[arg(long, value_name = "0.4|0.8")]
    pub schema: Option<String>,
}

/// `llmload report FILE ...`
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The report: benchmarks.json (or .yaml) written by llmload or GuideLLM 0.4.
    #[arg(default_value = "benchmarks.json")]
    pub file: PathBuf,

    /// Where to write (default: the current directory).
    #[arg(long, visible_alias = "output-path")]
    pub output_dir: Option<PathBuf>,

    /// Rebuild the report from a run's journal (benchmarks.journal.jsonl),
    /// after a crash or SIGKILL, instead of loading FILE.
    #[arg(long)]
    pub from_journal: Option<PathBuf>,

    /// Formats or file names: json, csv, yaml, html, console (default: all;
    /// the input file itself is never overwritten).
    #[arg(long, visible_alias = "output-formats", value_delimiter = ',')]
    pub outputs: Vec<String>,

    /// Layout of the JSON and YAML written: 0.4 or 0.8 (default: the
    /// input's). A 0.8 report converts down to 0.4 (its intervals, turns
    /// and warnings are dropped); a 0.4 report converts up only from its
    /// journal (--from-journal), which holds the run.
    #[arg(long, value_name = "0.4|0.8")]
    pub schema: Option<String>,
}

/// `llmload export [PATH] --output kind=...`: GuideLLM 0.8's `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The saved report (default: ./benchmarks.json).
    #[arg(default_value = "benchmarks.json")]
    pub path: PathBuf,
    /// kind=console|csv|html|json|yaml[,path=FILE] (repeatable; default console, json, html, csv).
    #[arg(long = "output")]
    pub outputs: Vec<String>,
}

/// `llmload benchmark [run] ...`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchmarkCommand {
    /// `run` is optional, as in GuideLLM 0.4.
    #[command(subcommand)]
    pub run: Option<BenchmarkSub>,
    /// The benchmark's flags.
    #[command(flatten)]
    pub args: BenchmarkArgs,
}

/// `llmload benchmark run ...`
#[derive(Debug, Subcommand)]
pub enum BenchmarkSub {
    /// Run a benchmark (same as `llmload benchmark`).
    Run(Box<BenchmarkArgs>),
}

/// Flags of `llmload mock-server` (GuideLLM's names and defaults).
#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The model name served.
    #[arg(long, default_value = "llama-3.1-8b-instruct")]
    pub model: String,
    /// Tokenizer for counting prompt tokens in usage (default: 1 token per 4 characters).
    #[arg(long)]
    pub processor: Option<String>,
    /// Mean time to first token, ms.
    #[arg(long, default_value_t = 150.0)]
    pub ttft_ms: f64,
    /// Standard deviation of the time to first token, ms.
    #[arg(long, default_value_t = 0.0)]
    pub ttft_ms_std: f64,
    /// Mean inter-token latency, ms.
    #[arg(long, default_value_t = 10.0)]
    pub itl_ms: f64,
    /// Standard deviation of the inter-token latency, ms.
    #[arg(long, default_value_t = 0.0)]
    pub itl_ms_std: f64,
    /// Output tokens when a request sets no limit.
    #[arg(long, default_value_t = 128)]
    pub output_tokens: u64,
    /// Standard deviation of the output tokens.
    #[arg(long, default_value_t = 0.0)]
    pub output_tokens_std: f64,
    /// Seed of the jitter.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Append each request's true timings (JSON lines) to this file.
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Probability (0..1) that a completion request answers HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Completion requests after this many answer HTTP 500.
    #[arg(long)]
    pub fail_after_requests: Option<u64>,
    /// Probability of HTTP 429 with Retry-After: 1.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// Probability of HTTP 400 with vLLM's prompt-too-long body.
    #[arg(long, default_value_t = 0.0)]
    pub bad_request_rate: f64,
    /// Probability that a stream is cut (connection closed) halfway.
    #[arg(long, default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Probability that a stream sends one chunk that is not JSON, halfway.
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Probability that a stream sends its headers, then nothing.
    #[arg(long, default_value_t = 0.0)]
    pub stall_rate: f64,
    /// Probability that a stream's first token is one 10 MiB chunk.
    #[arg(long, default_value_t = 0.0)]
    pub huge_chunk_rate: f64,
    /// Delay the response headers by this many ms (see --slow-headers-rate).
    #[arg(long)]
    pub slow_headers_ms: Option<f64>,
    /// Probability that a request's headers are delayed by --slow-headers-ms.
    #[arg(long, default_value_t = 1.0)]
    pub slow_headers_rate: f64,
    /// After this many completion requests, close the port and every
    /// connection (the next request is cut, later ones are refused).
    #[arg(long)]
    pub close_after_requests: Option<u64>,
    /// Completion requests served at once; others wait their turn.
    #[arg(long)]
    pub max_concurrent_requests: Option<usize>,
    /// Require `Authorization: Bearer KEY` on completions (vLLM's --api-key); 401 otherwise.
    #[arg(long, env = "LLMLOAD_MOCK_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The context length: longer prompts get vLLM's HTTP 400.
    #[arg(long, default_value_t = 131_072)]
    pub max_model_len: u64,
    /// Tokens a chat template adds to a chat prompt (Qwen2.5's default: 29), plus 5 per
    /// further message.
    #[arg(long, default_value_t = 0)]
    pub chat_template_tokens: u64,
    /// `root` reported by GET /v1/models (vLLM: the directory the model was loaded from).
    #[arg(long)]
    pub root: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The simulated vLLM engine (`mock-server --simulate`): docs/mock.md.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Simulated engine (any of these implies --simulate)")]
pub struct EngineArgs {
    /// Time tokens with a simulated continuous-batching engine that saturates
    /// (--ttft-ms/--itl-ms are then unused).
    #[arg(long)]
    pub simulate: bool,
    /// Requests in the running batch at most (vLLM --max-num-seqs) [default: 256].
    #[arg(long)]
    pub max_num_seqs: Option<usize>,
    /// Tokens computed per engine step at most (vLLM --max-num-batched-tokens) [default: 2048].
    #[arg(long)]
    pub max_num_batched_tokens: Option<u64>,
    /// Fixed time of one engine step, ms [default: 12].
    #[arg(long)]
    pub step_ms: Option<f64>,
    /// Step time added per decoding request, ms [default: 0.1].
    #[arg(long)]
    pub step_per_seq_ms: Option<f64>,
    /// Step time added per prompt token computed, ms [default: 0.04].
    #[arg(long)]
    pub prefill_ms_per_token: Option<f64>,
    /// KV cache capacity, tokens [default: 262144].
    #[arg(long)]
    pub kv_cache_tokens: Option<u64>,
    /// Tokens per KV block [default: 16].
    #[arg(long)]
    pub block_size: Option<u64>,
    /// Reserve each request's whole length at admission instead of preempting when the
    /// KV cache is full.
    #[arg(long)]
    pub no_preemption: bool,
    /// Reuse computed prompt blocks across requests (cached_tokens in usage).
    #[arg(long)]
    pub enable_prefix_caching: bool,
    /// Stop the whole engine once, this many ms after its first request (a hiccup:
    /// requests queue meanwhile); with --pause-ms.
    #[arg(long, value_name = "MS", requires = "pause_ms")]
    pub pause_at_ms: Option<f64>,
    /// How long the engine stands still, ms.
    #[arg(long, value_name = "MS", requires = "pause_at_ms")]
    pub pause_ms: Option<f64>,
}

//! Flags of the validation flows and result tools: `validate`, `envelope`,
//! `check`, `slo` and `compare`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `llmload validate ...`
#[derive(Debug, Subcommand)]
pub enum ValidateCommand {
    /// Red Hat partner validation: each scenario at each rate, every report
    /// wrapped in the guide's experiment envelope, then the monotonicity check.
    Redhat(Box<RedhatArgs>),
    /// OpenNebula certification: find the maximum throughput, run 10 fixed
    /// rates below it, print the certified-results row, SLO verdicts and the
    /// comparison with the certified results.
    Opennebula(Box<OpennebulaArgs>),
}

/// The server being measured (shared by both flows).
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Server base URL, or `mock` for the built-in mock server.
    #[arg(long, default_value = "http://localhost:8000")]
    pub target: String,
    /// Model (default: the first of GET /v1/models).
    #[arg(long)]
    pub model: Option<String>,
    /// Tokenizer: a tokenizer.json, a directory holding one, or a cached HF id.
    #[arg(long)]
    pub processor: Option<String>,
    /// Backend options as JSON (headers, api_key, timeout, verify), as `benchmark`.
    #[arg(long, visible_alias = "backend-kwargs")]
    pub backend_args: Option<String>,
    /// Do not show live progress.
    #[arg(long)]
    pub disable_progress: bool,
}

/// What the model was served on, for experiment envelopes (Red Hat's schema).
#[derive(Debug, Clone, Args, Default)]
pub struct DeploymentArgs {
    /// Inference server.
    #[arg(long, default_value = "vLLM")]
    pub inference_server: String,
    /// Its version (default: the server's GET /version).
    #[arg(long)]
    pub inference_server_version: Option<String>,
    /// Container image, e.g. registry.redhat.io/rhaiis/vllm-cuda-rhel9.
    #[arg(long)]
    pub container_image: Option<String>,
    /// Container image tag, e.g. 3.2.2.
    #[arg(long)]
    pub container_image_tag: Option<String>,
    /// The command run in the container.
    #[arg(long)]
    pub container_entrypoint: Option<String>,
    /// The server's arguments as a JSON object, e.g. '{"tensor-parallel-size": 1}' (default {}).
    #[arg(long)]
    pub inference_server_args: Option<String>,
    /// Accelerator, e.g. H100, A100-80, L40S, L4, MI300X (default: from nvidia-smi or rocm-smi).
    #[arg(long)]
    pub accelerator_type: Option<String>,
    /// Accelerators used (default: detected).
    #[arg(long)]
    pub accelerator_count: Option<u64>,
    /// Memory of one accelerator in GB (default: detected).
    #[arg(long)]
    pub accelerator_memory_gb: Option<u64>,
    /// Machine type, e.g. g6e.xlarge.
    #[arg(long)]
    pub machine_type: Option<String>,
    /// Where the machine ran: AWS, IBM, on-prem, ...
    #[arg(long)]
    pub provider: Option<String>,
}

/// `llmload validate redhat`
#[derive(Debug, Clone, Args)]
pub struct RedhatArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Scenarios: all, or names (chat, code-fixing, rag, long-rag) or files, comma-separated.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub scenario: Vec<String>,
    /// Rates in requests/s: a list (1,2,3) or a range (1..9).
    #[arg(long, default_value = "1..9")]
    pub rates: String,
    /// Seconds per run (the guide: at least 300, preferably 900).
    #[arg(long, default_value_t = 900.0)]
    pub max_seconds: f64,
    /// Where runs and envelopes go: DIR/SCENARIO/rpsN/{benchmarks.json,experiment.json}.
    #[arg(long, default_value = "benchmark_results")]
    pub output_dir: PathBuf,
    /// Allowed relative dip for the monotonicity check run at the end.
    #[arg(long, default_value = "10%")]
    pub tolerance: String,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// `llmload validate opennebula`
#[derive(Debug, Clone, Args)]
pub struct OpennebulaArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Synthetic data (OpenNebula: 512/256 tokens, 1,000 samples).
    #[arg(
        long,
        default_value = "prompt_tokens=512,output_tokens=256,samples=1000"
    )]
    pub data: String,
    /// Seconds per step of the maximum-throughput search.
    #[arg(long, default_value_t = 30.0)]
    pub step_seconds: f64,
    /// Seconds per fixed-rate run.
    #[arg(long, default_value_t = 60.0)]
    pub run_seconds: f64,
    /// Where reports go (search/, and the runs' benchmarks.{json,csv,html}).
    #[arg(long, default_value = "certification")]
    pub output_dir: PathBuf,
    /// GPU name for the results row and the reference lookup (default: nvidia-smi).
    #[arg(long)]
    pub gpu: Option<String>,
    /// vCPUs for the results row (default: this machine's).
    #[arg(long)]
    pub vcpus: Option<u64>,
    /// RAM in GB for the results row (default: this machine's).
    #[arg(long)]
    pub ram_gb: Option<u64>,
    /// Certified results to compare with (default: the shipped table).
    #[arg(long)]
    pub reference: Option<PathBuf>,
}

/// `llmload envelope ...`
#[derive(Debug, Subcommand)]
pub enum EnvelopeCommand {
    /// Wrap a GuideLLM/llmload report (performance) or an lm-eval result
    /// (evaluation) in Red Hat's experiment envelope, validated.
    Wrap(Box<WrapArgs>),
    /// Validate envelopes against the shipped draft-07 schema.
    Validate {
        /// Envelope files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `llmload envelope wrap`
#[derive(Debug, Clone, Args)]
pub struct WrapArgs {
    /// The result file.
    pub file: PathBuf,
    /// performance or evaluation (default: from the file).
    #[arg(long)]
    pub experiment_type: Option<String>,
    /// Model name as on Hugging Face (default: from the report).
    #[arg(long)]
    pub model: Option<String>,
    /// When the experiment ran, RFC 3339 (default: the report's start, else now).
    #[arg(long)]
    pub timestamp: Option<String>,
    /// Output file (default: FILE with .experiment.json).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// `llmload check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Latency and throughput must not improve as the rate rises (until the
    /// server saturates), and latency must follow the accelerator order.
    Monotonic(MonotonicArgs),
}

/// `llmload check monotonic`
#[derive(Debug, Clone, Args)]
pub struct MonotonicArgs {
    /// Envelopes or reports.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Allowed relative change in the wrong direction (noise).
    #[arg(long, default_value = "10%")]
    pub tolerance: String,
    /// Accelerators, fastest first.
    #[arg(long, value_delimiter = ',', default_value = "H100,A100-80,L40S,L4")]
    pub order: Vec<String>,
}

/// `llmload slo`
#[derive(Debug, Clone, Args)]
pub struct SloArgs {
    /// A report (JSON or YAML).
    pub file: PathBuf,
    /// Use cases: all, or chat, rag, agentic, content-generation,
    /// code-generation, code-completion (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub use_case: Vec<String>,
}

/// `llmload compare`
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// BASE.json NEW.json (regression gate), or one report with --reference.
    #[arg(required = true, num_args = 1..=2)]
    pub files: Vec<PathBuf>,
    /// Allowed changes for the worse, e.g. ttft_p99=10%,throughput=5%.
    #[arg(long)]
    pub max_regression: Option<String>,
    /// Compare with the certified results: the shipped table, or
    /// `--reference=FILE.csv`.
    #[arg(long, num_args = 0..=1, require_equals = true, value_name = "FILE")]
    pub reference: Option<Option<PathBuf>>,
    /// GPU of the run, for --reference (default: nvidia-smi).
    #[arg(long)]
    pub gpu: Option<String>,
    /// Model of the run, for --reference (default: from the report).
    #[arg(long)]
    pub model: Option<String>,
}

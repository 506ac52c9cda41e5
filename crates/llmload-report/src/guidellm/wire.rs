//! The GuideLLM 0.4 `benchmarks.json` format as serde types: field names,
//! nesting, order and units exactly as GuideLLM 0.4.0 writes them.
//!
//! Only serialization shapes live here; building them from llmload's runs is
//! in `build.rs` and reading records back is in `convert.rs`. Parts whose shape
//! depends on the profile or backend (strategy, profile, constraints, backend,
//! scheduler constraint states) are kept as JSON values. Fields llmload adds
//! sit under `llmload` keys, which GuideLLM's loader ignores.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole report file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run's arguments, flat, as GuideLLM 0.4's `BenchmarkGenerativeTextArgs`.
    pub args: Value,
    /// One entry per benchmark (rate, stream count, sweep step...).
    pub benchmarks: Vec<Benchmark>,
    /// llmload's run-level additions (version, platform, error totals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llmload: Option<Value>,
}

/// One benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    /// Always `generative_benchmark`.
    pub type_: String,
    /// What was run.
    pub config: BenchmarkConfig,
    /// The scheduler's final state (constraint outcomes and counts).
    pub scheduler_state: Value,
    /// Timings and averaged scheduling delays.
    pub scheduler_metrics: SchedulerMetrics,
    /// Every distribution.
    pub metrics: Box<Metrics>,
    /// Per-request records by status.
    pub requests: Requests,
    /// Measurement window start (epoch seconds).
    pub start_time: f64,
    /// Measurement window end.
    pub end_time: f64,
    /// `end_time - start_time`.
    pub duration: f64,
    /// Time between the first request and the window start.
    pub warmup_duration: f64,
    /// Time between the window end and the last request end.
    pub cooldown_duration: f64,
    /// llmload's additions for this benchmark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llmload: Option<Value>,
}

/// `benchmarks[].config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkConfig {
    /// Benchmark id (UUIDv4).
    pub id_: String,
    /// Run id, shared by the benchmarks of one invocation.
    pub run_id: String,
    /// Position in the run.
    pub run_index: u64,
    /// The scheduling strategy (`type_`, `rate`, `max_concurrency`, ...).
    pub strategy: Value,
    /// Constraint configurations keyed by flag name.
    pub constraints: Value,
    /// `--sample-requests`.
    pub sample_requests: Option<u64>,
    /// Warmup configuration.
    pub warmup: TransientPhase,
    /// Cooldown configuration.
    pub cooldown: TransientPhase,
    /// Whether server-reported usage wins over local counts.
    pub prefer_response_metrics: bool,
    /// The profile (`type_`, completed strategies, rates, ...).
    pub profile: Value,
    /// How requests were produced.
    pub requests: Value,
    /// Backend description (target, model, timeout, ...).
    pub backend: Value,
    /// Execution environment.
    pub environment: Value,
}

/// Warmup or cooldown settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransientPhase {
    /// Fraction of the run (`< 1`).
    pub percent: Option<f64>,
    /// Seconds or requests (`>= 1`).
    pub value: Option<f64>,
    /// `prefer_duration`, `prefer_requests`, `duration`, `requests` or `both`.
    pub mode: String,
}

/// Counts by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Completed.
    pub successful: u64,
    /// Errored.
    pub errored: u64,
    /// Cancelled after starting.
    pub incomplete: u64,
    /// Sum.
    pub total: u64,
}

/// `benchmarks[].scheduler_metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerMetrics {
    /// Scheduler start.
    pub start_time: f64,
    /// First request start.
    pub request_start_time: f64,
    /// Measurement window start.
    pub measure_start_time: f64,
    /// Measurement window end.
    pub measure_end_time: f64,
    /// Last request end.
    pub request_end_time: f64,
    /// Scheduler end.
    pub end_time: f64,
    /// Requests made by status.
    pub requests_made: Counts,
    /// Mean stage durations (seconds).
    pub queued_time_avg: f64,
    pub resolve_start_delay_avg: f64,
    pub resolve_targeted_start_delay_avg: f64,
    pub request_start_delay_avg: f64,
    pub request_targeted_start_delay_avg: f64,
    pub request_time_avg: f64,
    pub resolve_end_delay_avg: f64,
    pub resolve_time_avg: f64,
    pub finalized_delay_avg: f64,
    pub processed_delay_avg: f64,
}

/// A distribution summary (`DistributionSummary`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ds {
    pub mean: f64,
    pub median: f64,
    pub mode: f64,
    pub variance: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
    pub total_sum: f64,
    /// p001 … p999.
    pub percentiles: llmload_metrics::Percentiles,
    /// Always null (GuideLLM writes the pdf only on request).
    pub pdf: Option<Value>,
}

/// A distribution per status (`StatusDistributionSummary`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sds {
    pub successful: Ds,
    pub errored: Ds,
    pub incomplete: Ds,
    pub total: Ds,
}

/// Input/output/total summaries with rates and concurrency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    pub input: Option<Sds>,
    pub input_per_second: Option<Sds>,
    pub input_concurrency: Option<Sds>,
    pub output: Option<Sds>,
    pub output_per_second: Option<Sds>,
    pub output_concurrency: Option<Sds>,
    pub total: Option<Sds>,
    pub total_per_second: Option<Sds>,
    pub total_concurrency: Option<Sds>,
}

/// `metrics.text`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextMetrics {
    pub tokens: Option<Box<MetricsSummary>>,
    pub words: Option<Box<MetricsSummary>>,
    pub characters: Option<Box<MetricsSummary>>,
}

/// `metrics.image` (llmload sends text only: every summary is empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageMetrics {
    pub tokens: Option<Box<MetricsSummary>>,
    pub images: Option<Box<MetricsSummary>>,
    pub pixels: Option<Box<MetricsSummary>>,
    pub bytes: Option<Box<MetricsSummary>>,
}

/// `metrics.video`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoMetrics {
    pub tokens: Option<Box<MetricsSummary>>,
    pub frames: Option<Box<MetricsSummary>>,
    pub seconds: Option<Box<MetricsSummary>>,
    pub bytes: Option<Box<MetricsSummary>>,
}

/// `metrics.audio`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AudioMetrics {
    pub tokens: Option<Box<MetricsSummary>>,
    pub samples: Option<Box<MetricsSummary>>,
    pub seconds: Option<Box<MetricsSummary>>,
    pub bytes: Option<Box<MetricsSummary>>,
}

/// `benchmarks[].metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub request_totals: Counts,
    pub requests_per_second: Sds,
    pub request_concurrency: Sds,
    pub request_latency: Sds,
    pub request_streaming_iterations_count: Sds,
    pub prompt_token_count: Sds,
    pub output_token_count: Sds,
    pub total_token_count: Sds,
    pub time_to_first_token_ms: Sds,
    pub time_per_output_token_ms: Sds,
    pub inter_token_latency_ms: Sds,
    pub prompt_tokens_per_second: Sds,
    pub output_tokens_per_second: Sds,
    pub tokens_per_second: Sds,
    pub output_tokens_per_iteration: Sds,
    pub iter_tokens_per_iteration: Sds,
    pub text: TextMetrics,
    pub image: ImageMetrics,
    pub video: VideoMetrics,
    pub audio: AudioMetrics,
}

/// `benchmarks[].requests`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Requests {
    pub successful: Vec<RequestStats>,
    pub errored: Vec<RequestStats>,
    pub incomplete: Vec<RequestStats>,
    /// Always null.
    pub total: Option<Value>,
    /// When set, the report lists these requests instead, read from where
    /// the run spilled them as the report is written (a run that lists too
    /// many to hold); the lists above then hold an even sample of them, for
    /// the HTML report and the console.
    #[serde(skip)]
    pub streamed: Streamed,
}

/// Every listed request of a large benchmark, written as it is read.
#[derive(Clone, Default)]
pub struct Streamed(pub Option<std::sync::Arc<super::streamed::Lazy>>);

impl PartialEq for Streamed {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(l) => write!(f, "Streamed({} requests)", l.len()),
            None => f.write_str("Streamed(None)"),
        }
    }
}

impl Serialize for Requests {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Requests", 4)?;
        match &self.streamed.0 {
            None => {
                st.serialize_field("successful", &self.successful)?;
                st.serialize_field("errored", &self.errored)?;
                st.serialize_field("incomplete", &self.incomplete)?;
            }
            Some(lazy) => {
                st.serialize_field("successful", &lazy.list(0))?;
                st.serialize_field("errored", &lazy.list(1))?;
                st.serialize_field("incomplete", &lazy.list(2))?;
            }
        }
        st.serialize_field("total", &self.total)?;
        st.end()
    }
}

/// Token/word/character counts (`UsageMetrics`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub text_tokens: Option<u64>,
    pub text_words: Option<u64>,
    pub text_characters: Option<u64>,
    pub image_tokens: Option<u64>,
    pub image_count: Option<u64>,
    pub image_pixels: Option<u64>,
    pub image_bytes: Option<u64>,
    pub video_tokens: Option<u64>,
    pub video_frames: Option<u64>,
    pub video_seconds: Option<f64>,
    pub video_bytes: Option<u64>,
    pub audio_tokens: Option<u64>,
    pub audio_samples: Option<u64>,
    pub audio_seconds: Option<f64>,
    pub audio_bytes: Option<u64>,
    pub total_tokens: Option<u64>,
}

/// `requests.*[].info.timings` (epoch seconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub targeted_start: Option<f64>,
    pub queued: Option<f64>,
    pub dequeued: Option<f64>,
    pub scheduled_at: Option<f64>,
    pub resolve_start: Option<f64>,
    pub request_start: Option<f64>,
    pub first_request_iteration: Option<f64>,
    pub first_token_iteration: Option<f64>,
    pub last_token_iteration: Option<f64>,
    pub last_request_iteration: Option<f64>,
    pub request_iterations: u64,
    pub token_iterations: u64,
    pub request_end: Option<f64>,
    pub resolve_end: Option<f64>,
    pub finalized: Option<f64>,
    /// When the turn before was answered (GuideLLM 0.8; llmload's multi-turn runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor_completed: Option<f64>,
}

/// `requests.*[].info`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub request_id: String,
    /// `completed`, `errored` or `cancelled`.
    pub status: String,
    pub scheduler_node_id: i64,
    pub scheduler_process_id: i64,
    pub scheduler_start_time: f64,
    pub timings: Timings,
    pub error: Option<String>,
    pub started_at: Option<f64>,
    pub completed_at: Option<f64>,
    /// The conversation (GuideLLM 0.8 always; llmload's 0.4 reports for multi-turn runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The turn's index in its conversation (as `conversation_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_index: Option<u32>,
}

/// One request record (`GenerativeRequestStats`) with its computed fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    /// Always `generative_request_stats`.
    pub type_: String,
    pub request_id: String,
    /// `chat_completions` or `text_completions` (absent from GuideLLM 0.8's records).
    #[serde(default)]
    pub request_type: String,
    /// The request as sent (GuideLLM writes a Python repr; llmload writes the JSON body).
    pub request_args: Option<String>,
    /// The generated text.
    pub output: Option<String>,
    pub info: RequestInfo,
    pub input_metrics: Usage,
    pub output_metrics: Usage,
    pub request_start_time: Option<f64>,
    pub request_end_time: Option<f64>,
    pub request_latency: Option<f64>,
    pub prompt_tokens: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub time_to_first_token_ms: Option<f64>,
    pub time_per_output_token_ms: Option<f64>,
    pub inter_token_latency_ms: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub output_tokens_per_second: Option<f64>,
    pub iter_tokens_per_iteration: Option<f64>,
    pub output_tokens_per_iteration: Option<f64>,
    /// Prompt tokens served from the server's prefix cache (GuideLLM 0.8's
    /// field; written only when the server said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// llmload's additions (error kind, HTTP status, response id, delays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llmload: Option<RequestExtras>,
}

/// Per-request fields llmload adds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestExtras {
    /// Error kind of a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// HTTP status of a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The server's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// `request_start - targeted_start` (s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_delay: Option<f64>,
    /// `request_end - targeted_start` (s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_latency: Option<f64>,
}

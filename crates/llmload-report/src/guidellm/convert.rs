//! Conversions between llmload's records and metrics and the GuideLLM wire types.

use llmload_clock::Timestamp;
use llmload_core::Measured;
use llmload_metrics::{
    BenchmarkMetrics, Distribution, ErrorKind, MetricsSummary as MSummary, RequestError,
    RequestRecord, RequestStatus, RequestTimings, RequestType, StatusCounts, StatusDistribution,
    Turn, UsageMetrics,
};

use super::wire::{
    Counts, Ds, Metrics, MetricsSummary, RequestExtras, RequestInfo, RequestStats, Sds,
    TextMetrics, Timings, Usage,
};

fn secs(t: Option<Timestamp>) -> Option<f64> {
    t.map(Timestamp::as_secs_f64)
}

fn stamp(t: Option<f64>) -> Option<Timestamp> {
    t.and_then(Timestamp::from_secs_f64)
}

impl From<&Distribution> for Ds {
    fn from(d: &Distribution) -> Self {
        Ds {
            mean: d.mean,
            median: d.median,
            mode: d.mode,
            variance: d.variance,
            std_dev: d.std_dev,
            min: d.min,
            max: d.max,
            count: d.count,
            total_sum: d.total_sum,
            percentiles: d.percentiles,
            pdf: None,
        }
    }
}

impl From<&StatusDistribution> for Sds {
    fn from(s: &StatusDistribution) -> Self {
        Sds {
            successful: (&s.successful).into(),
            errored: (&s.errored).into(),
            incomplete: (&s.incomplete).into(),
            total: (&s.total).into(),
        }
    }
}

impl From<StatusCounts> for Counts {
    fn from(c: StatusCounts) -> Self {
        Counts {
            successful: c.successful,
            errored: c.errored,
            incomplete: c.incomplete,
            total: c.total,
        }
    }
}

impl From<&MSummary> for MetricsSummary {
    fn from(m: &MSummary) -> Self {
        let f = |x: &Option<StatusDistribution>| x.as_ref().map(Sds::from);
        MetricsSummary {
            input: f(&m.input),
            input_per_second: f(&m.input_per_second),
            input_concurrency: f(&m.input_concurrency),
            output: f(&m.output),
            output_per_second: f(&m.output_per_second),
            output_concurrency: f(&m.output_concurrency),
            total: f(&m.total),
            total_per_second: f(&m.total_per_second),
            total_concurrency: f(&m.total_concurrency),
        }
    }
}

impl From<&BenchmarkMetrics> for Metrics {
    fn from(m: &BenchmarkMetrics) -> Self {
        let empty = || Box::new(MetricsSummary::default());
        Metrics {
            request_totals: m.request_totals.into(),
            requests_per_second: (&m.requests_per_second).into(),
            request_concurrency: (&m.request_concurrency).into(),
            request_latency: (&m.request_latency).into(),
            request_streaming_iterations_count: (&m.request_streaming_iterations_count).into(),
            prompt_token_count: (&m.prompt_token_count).into(),
            output_token_count: (&m.output_token_count).into(),
            total_token_count: (&m.total_token_count).into(),
            time_to_first_token_ms: (&m.time_to_first_token_ms).into(),
            time_per_output_token_ms: (&m.time_per_output_token_ms).into(),
            inter_token_latency_ms: (&m.inter_token_latency_ms).into(),
            prompt_tokens_per_second: (&m.prompt_tokens_per_second).into(),
            output_tokens_per_second: (&m.output_tokens_per_second).into(),
            tokens_per_second: (&m.tokens_per_second).into(),
            output_tokens_per_iteration: (&m.output_tokens_per_iteration).into(),
            iter_tokens_per_iteration: (&m.iter_tokens_per_iteration).into(),
            text: TextMetrics {
                tokens: Some(Box::new((&m.text.tokens).into())),
                words: Some(Box::new((&m.text.words).into())),
                characters: Some(Box::new((&m.text.characters).into())),
            },
            image: super::wire::ImageMetrics {
                tokens: Some(empty()),
                images: Some(empty()),
                pixels: Some(empty()),
                bytes: Some(empty()),
            },
            video: super::wire::VideoMetrics {
                tokens: Some(empty()),
                frames: Some(empty()),
                seconds: Some(empty()),
                bytes: Some(empty()),
            },
            audio: super::wire::AudioMetrics {
                tokens: Some(empty()),
                samples: Some(empty()),
                seconds: Some(empty()),
                bytes: Some(empty()),
            },
        }
    }
}

fn usage(u: &UsageMetrics) -> Usage {
    Usage {
        text_tokens: u.text_tokens,
        text_words: u.text_words,
        text_characters: u.text_characters,
        total_tokens: u.total_tokens(),
        ..Default::default()
    }
}

/// The GuideLLM record of one request. `scheduler_start` is the benchmark's
/// scheduler start time (GuideLLM repeats it in every record).
pub fn request_stats(r: &RequestRecord, scheduler_start: Timestamp) -> RequestStats {
    let t = &r.timings;
    let id = r.request_id.to_string();
    let error = r.error.as_ref().map(|e| match r.status {
        RequestStatus::Cancelled => "Request was cancelled".to_string(),
        _ => e.to_string(),
    });
    let extras = RequestExtras {
        error_kind: r.error.as_ref().map(|e| e.kind.as_str().to_string()),
        http_status: r.error.as_ref().and_then(|e| e.status),
        response_id: r.response_id.clone(),
        dispatch_delay: r.dispatch_delay(),
        scheduled_latency: r.scheduled_latency(),
    };
    RequestStats {
        type_: "generative_request_stats".into(),
        request_id: id.clone(),
        request_type: r.request_type.as_str().into(),
        request_args: r
            .request_body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        output: r.output_text.clone(),
        info: RequestInfo {
            request_id: id,
            status: r.status.as_str().into(),
            scheduler_node_id: r.worker as i64,
            scheduler_process_id: 0,
            scheduler_start_time: scheduler_start.as_secs_f64(),
            timings: Timings {
                targeted_start: secs(t.targeted_start),
                queued: secs(t.queued),
                dequeued: secs(t.dequeued),
                scheduled_at: secs(t.scheduled_at),
                resolve_start: secs(t.resolve_start),
                request_start: secs(t.request_start),
                first_request_iteration: secs(t.first_request_iteration),
                first_token_iteration: secs(t.first_token_iteration),
                last_token_iteration: secs(t.last_token_iteration),
                last_request_iteration: secs(t.last_request_iteration),
                request_iterations: t.request_iterations,
                token_iterations: t.token_iterations,
                request_end: secs(t.request_end),
                resolve_end: secs(t.resolve_end),
                finalized: secs(t.finalized),
                predecessor_completed: secs(t.predecessor_completed),
            },
            error,
            started_at: secs(t.request_start.or(t.resolve_start)),
            completed_at: secs(t.request_end.or(t.resolve_end)),
            conversation_id: r.turn.map(|t| t.conversation_id.to_string()),
            turn_index: r.turn.map(|t| t.index),
        },
        input_metrics: usage(&r.input),
        output_metrics: usage(&r.output),
        request_start_time: secs(r.request_start_time()),
        request_end_time: secs(r.request_end_time()),
        request_latency: r.request_latency(),
        prompt_tokens: r.prompt_tokens(),
        input_tokens: r.input_tokens(),
        output_tokens: r.output_tokens(),
        total_tokens: r.total_tokens(),
        time_to_first_token_ms: r.time_to_first_token_ms(),
        time_per_output_token_ms: r.time_per_output_token_ms(),
        inter_token_latency_ms: r.inter_token_latency_ms(),
        tokens_per_second: r.tokens_per_second(),
        output_tokens_per_second: r.output_tokens_per_second(),
        iter_tokens_per_iteration: r.iter_tokens_per_iteration(),
        output_tokens_per_iteration: r.output_tokens_per_iteration(),
        cached_tokens: r.cached_tokens,
        llmload: Some(extras),
    }
}

/// Read a GuideLLM (or llmload) request record back into a [`RequestRecord`].
///
/// Timestamps keep the nanosecond part of the epoch floats; counts and
/// statuses are taken as written. Used to recompute statistics from saved
/// reports and to check llmload's statistics against GuideLLM's own.
pub fn record_from_stats(s: &RequestStats) -> RequestRecord {
    let t = &s.info.timings;
    let status = match s.info.status.as_str() {
        "completed" => RequestStatus::Completed,
        "cancelled" => RequestStatus::Cancelled,
        _ => RequestStatus::Errored,
    };
    let extras = s.llmload.clone().unwrap_or_default();
    let kind = extras
        .error_kind
        .as_deref()
        .and_then(|k| ErrorKind::ALL.into_iter().find(|e| e.as_str() == k));
    let error = s.info.error.as_ref().map(|msg| RequestError {
        kind: kind.unwrap_or(match status {
            RequestStatus::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::HttpStatus,
        }),
        status: extras.http_status,
        message: msg.clone(),
    });
    let u = |w: &Usage| UsageMetrics {
        text_tokens: w.text_tokens,
        text_words: w.text_words,
        text_characters: w.text_characters,
    };
    RequestRecord {
        request_id: s.request_id.parse().unwrap_or_else(|_| uuid::Uuid::nil()),
        request_type: if s.request_type == "text_completions" {
            RequestType::TextCompletions
        } else {
            RequestType::ChatCompletions
        },
        status,
        worker: s.info.scheduler_node_id.max(0) as u32,
        timings: RequestTimings {
            targeted_start: stamp(t.targeted_start),
            queued: stamp(t.queued),
            dequeued: stamp(t.dequeued),
            scheduled_at: stamp(t.scheduled_at),
            resolve_start: stamp(t.resolve_start),
            request_start: stamp(t.request_start),
            first_request_iteration: stamp(t.first_request_iteration),
            first_token_iteration: stamp(t.first_token_iteration),
            last_token_iteration: stamp(t.last_token_iteration),
            last_request_iteration: stamp(t.last_request_iteration),
            request_iterations: t.request_iterations,
            token_iterations: t.token_iterations,
            request_end: stamp(t.request_end),
            resolve_end: stamp(t.resolve_end),
            finalized: stamp(t.finalized),
            cap_released: None,
            predecessor_completed: stamp(t.predecessor_completed),
        },
        input: u(&s.input_metrics),
        output: u(&s.output_metrics),
        error,
        response_id: extras.response_id,
        output_text: s.output.clone(),
        request_body: s.request_args.clone().map(bytes::Bytes::from),
        cached_tokens: s.cached_tokens,
        turn: s.info.conversation_id.as_deref().map(|c| Turn {
            conversation_id: c.parse().unwrap_or_else(|_| uuid::Uuid::nil()),
            index: s.info.turn_index.unwrap_or(0),
        }),
    }
}

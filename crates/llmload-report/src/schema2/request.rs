//! One request record in GuideLLM 0.8's shape (`GenerativeRequestStats`).
//!
//! A single-turn request is the root of its own conversation (`turn_index`
//! 0, no predecessor, its id as the conversation's); a multi-turn
//! conversation's turn `k` is node `main_k`, child of `main_{k-1}`, with the
//! `k` turns before it as its history. `request_args`
//! holds the JSON body as sent, in 0.8's `{method, stream, headers, params,
//! body, files, content}` envelope.

use llmload_clock::Timestamp;
use llmload_core::Measured;
use llmload_metrics::{RequestRecord, RequestStatus, UsageMetrics};
use serde_json::{json, Value};

fn secs(t: Option<Timestamp>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// `input_metrics` / `output_metrics`.
fn usage(u: &UsageMetrics, cached: Option<u64>) -> Value {
    json!({
        "text_tokens": u.text_tokens, "cached_tokens": cached, "text_words": u.text_words,
        "text_characters": u.text_characters, "image_tokens": null, "image_count": null,
        "image_pixels": null, "image_bytes": null, "video_tokens": null, "video_frames": null,
        "video_seconds": null, "video_bytes": null, "audio_tokens": null, "audio_samples": null,
        "audio_seconds": null, "audio_bytes": null, "tool_call_tokens": null,
        "mixed_content_tool_tokens": null, "tool_call_count": null,
        "total_tokens": u.text_tokens
    })
}

/// The body as sent, wrapped as GuideLLM 0.8 writes `request_args`.
fn request_args(r: &RequestRecord) -> Value {
    let Some(body) = &r.request_body else {
        return Value::Null;
    };
    let body: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let args = json!({"method": null, "stream": true, "headers": null, "params": null,
                      "body": body, "files": null, "content": null});
    Value::String(args.to_string())
}

/// One record; `scheduler_start` is the benchmark's start.
pub fn request(r: &RequestRecord, scheduler_start: Timestamp) -> Value {
    let t = &r.timings;
    let id = r.request_id.to_string();
    let error = r.error.as_ref().map(|e| match r.status {
        RequestStatus::Cancelled => "Request was cancelled".to_string(),
        _ => e.to_string(),
    });
    let dispatch = r.dispatch_delay();
    let k = r.turn_index();
    let conversation = r
        .turn
        .map_or_else(|| id.clone(), |t| t.conversation_id.to_string());
    let predecessor = match (
        dispatch,
        t.predecessor_completed,
        t.targeted_start,
        t.request_start,
    ) {
        (Some(_), Some(p), Some(target), Some(start)) => {
            Some((start.min(p).as_secs_f64() - target.as_secs_f64()).max(0.0))
        }
        (Some(_), ..) => Some(0.0),
        _ => None,
    };
    let ttft = r.time_to_first_token_ms();
    let timings = json!({
        "targeted_start": secs(t.targeted_start),
        "predecessor_completed": secs(t.predecessor_completed),
        "queued": secs(t.queued),
        "dequeued": secs(t.dequeued),
        "scheduled_at": secs(t.scheduled_at),
        "resolve_start": secs(t.resolve_start),
        "request_start": secs(t.request_start),
        "first_request_iteration": secs(t.first_request_iteration),
        "first_token_iteration": secs(t.first_token_iteration),
        "first_output_token_iteration": secs(t.first_token_iteration),
        "last_token_iteration": secs(t.last_token_iteration),
        "last_request_iteration": secs(t.last_request_iteration),
        "request_iterations": t.request_iterations,
        "token_iterations": t.token_iterations,
        "last_request_sent": null,
        "request_sent_sum": 0.0,
        "request_sent_count": 0,
        "token_received_sum": 0.0,
        "token_received_count": 0,
        "request_end": secs(t.request_end),
        "resolve_end": secs(t.resolve_end),
        "finalized": secs(t.finalized)
    });
    json!({
        "type_": "generative_request_stats",
        "request_id": id,
        "response_id": r.response_id,
        "request_args": request_args(r),
        "output": r.output_text,
        "reasoning_output": null,
        "tool_calls": null,
        "info": {
            "request_id": id,
            "conversation_id": conversation,
            "history_len": k,
            "turn_index": k,
            "preceding_nodes": k,
            "node_id": format!("main_{k}"),
            "agent_id": "default",
            "parent_node_ids": if k == 0 { vec![] } else { vec![format!("main_{}", k - 1)] },
            "status": r.status.as_str(),
            "scheduler_node_id": r.worker,
            "scheduler_process_id": 0,
            "scheduler_start_time": scheduler_start.as_secs_f64(),
            "timings": timings,
            "settings": {"relative_timestamp": null, "requeue_delay": null, "trace_duration": null},
            "error": error,
            "traceback": null,
            "started_at": secs(t.request_start.or(t.resolve_start)),
            "completed_at": secs(t.request_end.or(t.resolve_end))
        },
        "input_metrics": usage(&r.input, r.cached_tokens),
        "response_metrics": null,
        "output_metrics": usage(&r.output, None),
        "request_start_time": secs(r.request_start_time()),
        "request_end_time": secs(r.request_end_time()),
        "request_latency": r.request_latency(),
        "request_dispatch_delay": dispatch,
        "turn_predecessor_delay": predecessor,
        "turn_scheduling_delay": dispatch.zip(predecessor).map(|(d, p)| d - p),
        "request_scheduled_latency": r.scheduled_latency(),
        "prompt_tokens": r.prompt_tokens(),
        "cached_tokens": r.cached_tokens,
        "output_tokens": r.output_tokens(),
        "total_tokens": r.total_tokens(),
        "time_to_first_token_ms": ttft,
        "time_to_last_round_trip_ms": null,
        "avg_round_trip_time_ms": null,
        "time_per_output_token_ms": r.time_per_output_token_ms(),
        "inter_token_latency_ms": r.inter_token_latency_ms(),
        "tokens_per_second": r.tokens_per_second(),
        "output_tokens_per_second": r.output_tokens_per_second(),
        "time_to_first_output_token_ms": ttft,
        "iter_tokens_per_iteration": r.iter_tokens_per_iteration(),
        "output_tokens_per_iteration": r.output_tokens_per_iteration(),
        "llmload": {
            "error_kind": r.error.as_ref().map(|e| e.kind.as_str()),
            "http_status": r.error.as_ref().and_then(|e| e.status)
        }
    })
}

//! Distribution summaries in GuideLLM 0.8's shape: the 0.4 fields plus
//! `mean_ci` and `percentile_cis` (null where GuideLLM gives none).

use llmload_metrics::{Distribution, Percentiles, StatusDistribution};
use serde_json::{json, Map, Value};

fn interval(i: Option<(f64, f64)>) -> Value {
    i.map_or(
        Value::Null,
        |(lower, upper)| json!({"lower": lower, "upper": upper}),
    )
}

/// A `DistributionSummary`.
pub fn ds(d: &Distribution) -> Value {
    let p = &d.percentiles;
    let (mean_ci, percentile_cis) = match &d.intervals {
        Some(i) => {
            let cis: Map<String, Value> = Percentiles::POINTS
                .iter()
                .zip(i.percentiles)
                .map(|((name, _), ci)| ((*name).to_string(), interval(ci)))
                .collect();
            (interval(i.mean), Value::Object(cis))
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "mean": d.mean, "median": d.median, "mode": d.mode, "variance": d.variance,
        "std_dev": d.std_dev, "min": d.min, "max": d.max, "count": d.count,
        "total_sum": d.total_sum,
        "percentiles": {
            "p001": p.p001, "p01": p.p01, "p05": p.p05, "p10": p.p10, "p25": p.p25,
            "p50": p.p50, "p75": p.p75, "p90": p.p90, "p95": p.p95, "p99": p.p99,
            "p999": p.p999
        },
        "pdf": null, "mean_ci": mean_ci, "percentile_cis": percentile_cis
    })
}

/// A `StatusDistributionSummary`.
pub fn sds(s: &StatusDistribution) -> Value {
    json!({
        "successful": ds(&s.successful), "errored": ds(&s.errored),
        "incomplete": ds(&s.incomplete), "total": ds(&s.total)
    })
}

/// A `GenerativeMetricsSummary` (input/output/total, each with its rate and
/// concurrency).
fn summary(s: &llmload_metrics::MetricsSummary) -> Value {
    let f = |x: &Option<StatusDistribution>| x.as_ref().map_or(Value::Null, sds);
    json!({
        "input": f(&s.input), "input_per_second": f(&s.input_per_second),
        "input_concurrency": f(&s.input_concurrency), "output": f(&s.output),
        "output_per_second": f(&s.output_per_second),
        "output_concurrency": f(&s.output_concurrency), "total": f(&s.total),
        "total_per_second": f(&s.total_per_second), "total_concurrency": f(&s.total_concurrency)
    })
}

/// A summary of a modality llmload does not send: every part null.
fn none(parts: &[&str]) -> Value {
    let empty = summary(&llmload_metrics::MetricsSummary::default());
    Value::Object(
        parts
            .iter()
            .map(|p| ((*p).to_string(), empty.clone()))
            .collect(),
    )
}

/// The same requests as `like`, every value 0: what GuideLLM reports for
/// the round-trip times of an HTTP backend (`or 0.0` per request).
fn zeros(like: &StatusDistribution) -> StatusDistribution {
    let n = |d: &Distribution| vec![(0.0, 1.0); d.count as usize];
    StatusDistribution::with_intervals(
        llmload_metrics::ByStatus {
            successful: n(&like.successful),
            incomplete: n(&like.incomplete),
            errored: n(&like.errored),
        },
        llmload_metrics::CONFIDENCE,
    )
}

/// `metrics.turns`: one entry per turn position.
pub fn turns(t: &[llmload_metrics::TurnMetrics]) -> Value {
    t.iter()
        .map(|t| {
            let c = &t.request_totals;
            json!({
                "turn_index": t.turn_index,
                "request_totals": {"successful": c.successful, "errored": c.errored,
                                   "incomplete": c.incomplete, "total": c.total},
                "request_latency": sds(&t.request_latency),
                "prompt_token_count": sds(&t.prompt_token_count),
                "time_to_first_token_ms": sds(&t.time_to_first_token_ms),
                "inter_token_latency_ms": sds(&t.inter_token_latency_ms)
            })
        })
        .collect()
}

/// `benchmarks[].metrics`, from [`BenchmarkMetrics::compile_08`](llmload_metrics::BenchmarkMetrics::compile_08).
pub fn metrics(m: &llmload_metrics::BenchmarkMetrics) -> Value {
    let t = &m.request_totals;
    let opt = |d: &Option<StatusDistribution>| d.as_ref().map_or(Value::Null, sds);
    json!({
        "request_totals": {"successful": t.successful, "errored": t.errored,
                           "incomplete": t.incomplete, "total": t.total},
        "requests_per_second": sds(&m.requests_per_second),
        "request_concurrency": sds(&m.request_concurrency),
        "request_latency": sds(&m.request_latency),
        "request_dispatch_delay": opt(&m.request_dispatch_delay),
        "request_scheduled_latency": opt(&m.request_scheduled_latency),
        "turn_predecessor_delay": opt(&m.turn_predecessor_delay),
        "turn_scheduling_delay": opt(&m.turn_scheduling_delay),
        "root_dispatch_delay": m.root_dispatch_delay.as_ref().map_or(Value::Null, ds),
        "request_streaming_iterations_count": sds(&m.request_streaming_iterations_count),
        "prompt_token_count": sds(&m.prompt_token_count),
        "output_token_count": sds(&m.output_token_count),
        "total_token_count": sds(&m.total_token_count),
        "time_to_first_token_ms": sds(&m.time_to_first_token_ms),
        "time_to_first_output_token_ms": sds(m
            .time_to_first_output_token_ms
            .as_ref()
            .unwrap_or(&m.time_to_first_token_ms)),
        "time_per_output_token_ms": sds(&m.time_per_output_token_ms),
        "inter_token_latency_ms": sds(&m.inter_token_latency_ms),
        "time_to_last_round_trip_ms": sds(&zeros(&m.request_latency)),
        "avg_round_trip_time_ms": sds(&zeros(&m.request_latency)),
        "prompt_tokens_per_second": sds(&m.prompt_tokens_per_second),
        "output_tokens_per_second": sds(&m.output_tokens_per_second),
        "tokens_per_second": sds(&m.tokens_per_second),
        "output_tokens_per_iteration": sds(&m.output_tokens_per_iteration),
        "iter_tokens_per_iteration": sds(&m.iter_tokens_per_iteration),
        "text": {
            "tokens": summary(&m.text.tokens),
            "words": summary(&m.text.words),
            "characters": summary(&m.text.characters)
        },
        "image": none(&["tokens", "images", "pixels", "bytes"]),
        "video": none(&["tokens", "frames", "seconds", "bytes"]),
        "audio": none(&["tokens", "samples", "seconds", "bytes"]),
        "tool_call": none(&["tokens", "mixed_tokens", "count"]),
        "turns": m.turns.as_deref().map_or(Value::Null, turns),
        "slo_attainment": null,
        "slo_determined_requests": 0,
        "request_goodput": null
    })
}

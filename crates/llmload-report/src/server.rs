//! The server's side of a benchmark (`llmload.server_metrics`): what its
//! `/metrics` said over the benchmark ([`ServerSummary`]) and the
//! cross-checks of its counters against what llmload measured.

use llmload_core::{BenchmarkRun, RequestStatus};
use llmload_metrics::server::ServerSummary;
use serde_json::{json, Value};

/// `llmload.server_metrics` of one benchmark (`null` when not scraped).
pub fn section(run: &BenchmarkRun) -> Value {
    let Some(s) = ServerSummary::compile(&run.server, run.measure_start, run.measure_end) else {
        return Value::Null;
    };
    let mut v = serde_json::to_value(&s).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("cross_checks".into(), cross_checks(run, &s));
        m.insert("series".into(), series(run));
    }
    v
}

/// Each scrape beside what llmload saw at the same instant, on the
/// benchmark's time axis (seconds since its start): the server's running
/// and waiting requests and KV cache use, its generation rate since the
/// scrape before, and llmload's requests in flight then.
fn series(run: &BenchmarkRun) -> Value {
    let t0 = run.start;
    let mut starts: Vec<f64> = Vec::with_capacity(run.records.len());
    let mut ends: Vec<f64> = Vec::with_capacity(run.records.len());
    for r in &run.records {
        if let Some(s) = r.timings.request_start {
            starts.push(s.secs_since(t0));
            ends.push(
                r.request_end_time()
                    .map_or(f64::INFINITY, |e| e.secs_since(t0)),
            );
        }
    }
    starts.sort_by(f64::total_cmp);
    ends.sort_by(f64::total_cmp);
    let in_flight = |t: f64| {
        starts.partition_point(|&s| s <= t) as i64 - ends.partition_point(|&e| e <= t) as i64
    };
    let mut prev: Option<(f64, f64)> = None;
    let mut out = Vec::with_capacity(run.server.len());
    for sc in &run.server {
        let t = sc.at.secs_since(t0);
        let v = |k: &str| sc.values.get(k).copied();
        let generated = v("vllm:generation_tokens_total");
        let rate = match (prev, generated) {
            (Some((pt, pg)), Some(g)) if t > pt && g >= pg => Some((g - pg) / (t - pt)),
            _ => None,
        };
        if let Some(g) = generated {
            prev = Some((t, g));
        }
        out.push(json!({
            "t": t,
            "running": v("vllm:num_requests_running"),
            "waiting": v("vllm:num_requests_waiting"),
            "kv_cache_perc": v("vllm:kv_cache_usage_perc"),
            "generation_tokens_per_s": rate,
            "llmload_in_flight": in_flight(t).max(0),
        }));
    }
    Value::Array(out)
}

/// The server's counters over the whole benchmark against llmload's own
/// counts of its requests. Requests cut off at the end were generating
/// when llmload let go: the server generated tokens for them that never
/// reached llmload, so its count may exceed llmload's by those.
fn cross_checks(run: &BenchmarkRun, s: &ServerSummary) -> Value {
    let server = |k: &str| s.benchmark.get(k).copied();
    let (mut ok, mut cut) = (0u64, 0u64);
    let (mut out_ok, mut out_cut, mut prompt) = (0u64, 0u64, 0u64);
    for r in &run.records {
        match r.status {
            RequestStatus::Completed => {
                ok += 1;
                out_ok += r.output_tokens().unwrap_or(0);
                prompt += r.prompt_tokens().unwrap_or(0);
            }
            RequestStatus::Cancelled if r.timings.request_start.is_some() => {
                cut += 1;
                out_cut += r.output_tokens().unwrap_or(0);
            }
            _ => {}
        }
    }
    let requests = server("vllm:request_success_total");
    let generated = server("vllm:generation_tokens_total");
    let prompts = server("vllm:prompt_tokens_total");
    let mut warnings = Vec::new();
    // A request cut off at the end may have finished on the server.
    if let Some(n) = requests {
        if n < ok as f64 || n > (ok + cut) as f64 {
            warnings.push(format!(
                "the server counted {n} successful requests, llmload {ok} (and {cut} cut off)"
            ));
        }
    }
    if let Some(g) = generated {
        let received = (out_ok + out_cut) as f64;
        if g < out_ok as f64 || (cut == 0 && g != received) {
            warnings.push(format!(
                "the server generated {g} tokens, llmload received {received} ({out_cut} of them from {cut} requests cut off)"
            ));
        }
    }
    json!({
        "successful_requests": {"client": ok, "server": requests},
        "output_tokens": {"client_successful": out_ok, "client_cut_off": out_cut,
                          "cut_off_requests": cut, "server": generated},
        "prompt_tokens_successful": {"client": prompt, "server_all": prompts},
        "warnings": warnings,
    })
}

/// The console's lines for one benchmark's `server_metrics`.
pub fn console_lines(label: &str, sm: &Value) -> String {
    let g = |k: &str, stat: &str| sm["gauges"][k][stat].as_f64();
    let f = |x: Option<f64>, scale: f64| x.map_or("-".to_string(), |v| format!("{:.1}", v * scale));
    let mut out = format!(
        "{label}: server ({} scrapes): running mean {} max {}, waiting mean {} max {}, KV cache mean {}% max {}%",
        sm["scrapes"],
        f(g("vllm:num_requests_running", "mean"), 1.0),
        f(g("vllm:num_requests_running", "max"), 1.0),
        f(g("vllm:num_requests_waiting", "mean"), 1.0),
        f(g("vllm:num_requests_waiting", "max"), 1.0),
        f(g("vllm:kv_cache_usage_perc", "mean"), 100.0),
        f(g("vllm:kv_cache_usage_perc", "max"), 100.0),
    );
    let ttft = &sm["histograms"]["vllm:time_to_first_token_seconds"];
    if ttft.is_object() {
        out.push_str(&format!(
            "; its TTFT p50 {} ms p99 {} ms",
            f(ttft["p50"].as_f64(), 1000.0),
            f(ttft["p99"].as_f64(), 1000.0)
        ));
    }
    let c = &sm["cross_checks"];
    out.push_str(&format!(
        "; requests {} (llmload {} + {} cut off), output tokens {} (llmload {})\n",
        c["successful_requests"]["server"],
        c["successful_requests"]["client"],
        c["output_tokens"]["cut_off_requests"],
        c["output_tokens"]["server"],
        c["output_tokens"]["client_successful"]
            .as_u64()
            .unwrap_or(0)
            + c["output_tokens"]["client_cut_off"].as_u64().unwrap_or(0),
    ));
    for w in c["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!("{label}: warning: {}\n", w.as_str().unwrap_or("")));
    }
    out
}

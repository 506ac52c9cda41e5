//! The server's side of a benchmark (`llmload.server_metrics`): what its
//! `/metrics` said over the benchmark ([`ServerSummary`]) and the
//! cross-checks of its counters against what llmload measured.

use llmload_core::{BenchmarkRun, Measured, RequestStatus};
use llmload_metrics::server::ServerSummary;
use serde::{Deserialize, Serialize};

/// `llmload.server_metrics` of one benchmark: the server's summary, the
/// cross-checks and every scrape beside llmload's in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// What the server's counters, gauges and histograms said.
    #[serde(flatten)]
    pub summary: ServerSummary,
    /// The server's counts against llmload's.
    pub cross_checks: CrossChecks,
    /// Each scrape on the benchmark's time axis.
    pub series: Vec<SeriesPoint>,
}

/// A figure from both sides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pair<C, S> {
    /// llmload's.
    pub client: C,
    /// The server's.
    pub server: S,
}

/// llmload's median TTFT against the server's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TtftCheck {
    /// llmload's median, ms.
    pub client: Option<f64>,
    /// The server's median, ms.
    pub server: Option<f64>,
    /// The bucket holding the server's median, ms.
    pub server_bucket: Option<[f64; 2]>,
}

/// llmload's in flight minus the server's running + waiting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldCheck {
    /// Mean over the scrapes inside the benchmark.
    pub mean: Option<f64>,
    /// Those scrapes.
    pub scrapes: usize,
}

/// Output tokens on both sides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokensCheck {
    /// Of llmload's successful requests.
    pub client_successful: u64,
    /// Of the requests cut off at the end.
    pub client_cut_off: u64,
    /// Requests cut off.
    pub cut_off_requests: u64,
    /// The server's `generation_tokens` delta.
    pub server: Option<f64>,
}

/// Prompt tokens on both sides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptCheck {
    /// Of llmload's successful requests.
    pub client: u64,
    /// The server's `prompt_tokens` delta (every request).
    pub server_all: Option<f64>,
}

/// The server's counters over the benchmark against llmload's (docs/metrics.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossChecks {
    /// Median TTFT.
    pub time_to_first_token_ms_p50: TtftCheck,
    /// In flight against running + waiting.
    pub in_flight_minus_server_held: HeldCheck,
    /// Successful requests.
    pub successful_requests: Pair<u64, Option<f64>>,
    /// Output tokens.
    pub output_tokens: TokensCheck,
    /// Prompt tokens.
    pub prompt_tokens_successful: PromptCheck,
    /// What disagreed, in words.
    pub warnings: Vec<String>,
}

/// One scrape beside llmload's requests in flight at that instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Seconds since the benchmark's start.
    pub t: f64,
    /// `num_requests_running`.
    pub running: Option<f64>,
    /// `num_requests_waiting`.
    pub waiting: Option<f64>,
    /// `kv_cache_usage_perc` (0..1).
    pub kv_cache_perc: Option<f64>,
    /// Generated tokens per second since the scrape before.
    pub generation_tokens_per_s: Option<f64>,
    /// llmload's requests in flight.
    pub llmload_in_flight: i64,
}

/// `llmload.server_metrics` of one benchmark (`None` when not scraped).
pub fn section(run: &BenchmarkRun) -> Option<Section> {
    let s = ServerSummary::compile(&run.server, run.measure_start, run.measure_end)?;
    Some(Section {
        cross_checks: cross_checks(run, &s),
        series: series(run),
        summary: s,
    })
}

/// Each scrape beside what llmload saw at the same instant, on the
/// benchmark's time axis (seconds since its start): the server's running
/// and waiting requests and KV cache use, its generation rate since the
/// scrape before, and llmload's requests in flight then.
fn series(run: &BenchmarkRun) -> Vec<SeriesPoint> {
    let t0 = run.start;
    let mut starts: Vec<f64> = Vec::with_capacity(run.records.len());
    let mut ends: Vec<f64> = Vec::with_capacity(run.records.len());
    for r in &run.records {
        if let Some(s) = r.request_start() {
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
        out.push(SeriesPoint {
            t,
            running: v("vllm:num_requests_running"),
            waiting: v("vllm:num_requests_waiting"),
            kv_cache_perc: v("vllm:kv_cache_usage_perc"),
            generation_tokens_per_s: rate,
            llmload_in_flight: in_flight(t).max(0),
        });
    }
    out
}

/// The server's counters over the whole benchmark against llmload's own
/// counts of its requests. Requests cut off at the end were generating
/// when llmload let go: the server generated tokens for them that never
/// reached llmload, so its count may exceed llmload's by those.
fn cross_checks(run: &BenchmarkRun, s: &ServerSummary) -> CrossChecks {
    let server = |k: &str| s.benchmark.get(k).copied();
    let (mut ok, mut cut) = (0u64, 0u64);
    let (mut out_ok, mut out_cut, mut prompt) = (0u64, 0u64, 0u64);
    for r in &run.records {
        match r.status() {
            RequestStatus::Completed => {
                ok += 1;
                out_ok += r.output_tokens().unwrap_or(0);
                prompt += r.prompt_tokens().unwrap_or(0);
            }
            RequestStatus::Cancelled if r.request_start().is_some() => {
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
    // The client's first token cannot come before the server's: its median
    // must not fall below the bucket holding the server's median.
    let mut ttfts: Vec<f64> = run
        .records
        .iter()
        .filter(|r| r.status() == RequestStatus::Completed)
        .filter_map(|r| r.time_to_first_token_ms())
        .collect();
    ttfts.sort_by(f64::total_cmp);
    let client_ttft = (!ttfts.is_empty()).then(|| ttfts[(ttfts.len() - 1) / 2]);
    let server_ttft = s.histograms.get("vllm:time_to_first_token_seconds");
    if let (Some(c), Some(h)) = (client_ttft, server_ttft) {
        if c < 1000.0 * h.p50_bucket.0 {
            warnings.push(format!(
                "llmload's median TTFT ({c:.1} ms) is below the server's ({:.1}-{:.1} ms bucket): the clocks or the counts disagree",
                1000.0 * h.p50_bucket.0,
                1000.0 * h.p50_bucket.1
            ));
        }
    }
    // The server's requests (running + waiting) against llmload's in flight
    // at each scrape inside the benchmark: a server holding more than
    // llmload sent serves another client too. Only until llmload cut off a
    // request: the server holds those until it notices they were dropped.
    let cut_off = run
        .records
        .iter()
        .filter(|r| r.status() == RequestStatus::Cancelled)
        .filter_map(|r| r.request_end_time())
        .min()
        .map_or(run.end, |c| c.min(run.end));
    let until = cut_off.secs_since(run.start);
    let held: Vec<f64> = series(run)
        .iter()
        .filter(|p| p.t >= 0.0 && p.t < until)
        .filter_map(|p| Some(p.llmload_in_flight as f64 - p.running? - p.waiting?))
        .collect();
    let mean_diff = (!held.is_empty()).then(|| held.iter().sum::<f64>() / held.len() as f64);
    if mean_diff.is_some_and(|d| d < -1.0) {
        warnings.push(format!(
            "the server held {:.1} requests more than llmload had in flight (mean over {} scrapes): another client shares it",
            -mean_diff.unwrap_or(0.0),
            held.len()
        ));
    }
    CrossChecks {
        time_to_first_token_ms_p50: TtftCheck {
            client: client_ttft,
            server: server_ttft.map(|h| 1000.0 * h.p50),
            server_bucket: server_ttft.map(|h| [1000.0 * h.p50_bucket.0, 1000.0 * h.p50_bucket.1]),
        },
        in_flight_minus_server_held: HeldCheck {
            mean: mean_diff,
            scrapes: held.len(),
        },
        successful_requests: Pair {
            client: ok,
            server: requests,
        },
        output_tokens: TokensCheck {
            client_successful: out_ok,
            client_cut_off: out_cut,
            cut_off_requests: cut,
            server: generated,
        },
        prompt_tokens_successful: PromptCheck {
            client: prompt,
            server_all: prompts,
        },
        warnings,
    }
}

/// The console table's row for one benchmark's `server_metrics`: running,
/// waiting and KV cache (mean, max), the server's TTFT (p50, p99), and its
/// requests and output tokens beside llmload's (successful + cut off).
pub fn table_row(label: &str, sm: &Section) -> Vec<String> {
    let g = |k: &str| sm.summary.gauges.get(k);
    let f = |x: Option<f64>, scale: f64| x.map_or("-".to_string(), |v| format!("{:.1}", v * scale));
    let ttft = sm
        .summary
        .histograms
        .get("vllm:time_to_first_token_seconds");
    let c = &sm.cross_checks;
    let n = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.0}"));
    let received = c.output_tokens.client_successful + c.output_tokens.client_cut_off;
    vec![
        label.to_string(),
        f(g("vllm:num_requests_running").map(|g| g.mean), 1.0),
        f(g("vllm:num_requests_running").map(|g| g.max), 1.0),
        f(g("vllm:num_requests_waiting").map(|g| g.mean), 1.0),
        f(g("vllm:num_requests_waiting").map(|g| g.max), 1.0),
        f(g("vllm:kv_cache_usage_perc").map(|g| g.mean), 100.0),
        f(g("vllm:kv_cache_usage_perc").map(|g| g.max), 100.0),
        f(ttft.map(|h| h.p50), 1000.0),
        f(ttft.map(|h| h.p99), 1000.0),
        n(c.successful_requests.server),
        format!(
            "{}+{}",
            c.successful_requests.client, c.output_tokens.cut_off_requests
        ),
        n(c.output_tokens.server),
        received.to_string(),
    ]
}

/// The console's warning lines for one benchmark's `server_metrics`.
pub fn console_lines(label: &str, sm: &Section) -> String {
    let mut out = String::new();
    for w in &sm.cross_checks.warnings {
        out.push_str(&format!("{label}: warning: {w}\n"));
    }
    out
}

//! Per-benchmark metrics: GuideLLM's `GenerativeMetrics.compile`, in Rust,
//! as 0.4.0 and as 0.8.1 compute it.
//!
//! Given every record of one benchmark and its measurement window, this
//! computes the distributions GuideLLM writes under `benchmarks[].metrics`.
//!
//! - [`BenchmarkMetrics::compile`] / [`BenchmarkMetrics::compile_with`]:
//!   GuideLLM 0.4.0, with the same record selection (any request
//!   overlapping the window), the same weights (output tokens for TPOT,
//!   output tokens - 1 for ITL) and the same windowing (only the request
//!   rate and concurrency are clipped to the window). The 0.8-only fields
//!   (`time_to_first_output_token_ms`, `root_dispatch_delay`) stay `None`.
//! - [`BenchmarkMetrics::compile_08`] / [`BenchmarkMetrics::compile_08_with`]:
//!   GuideLLM 0.8.1, which also clips the token rates to the window, selects
//!   TTFT and ITL requests by their first token, computes per-request times
//!   on epoch-second floats and reports dispatch delays only for profiles
//!   with an arrival schedule; `benchmark/guidellm08.rs` lists every
//!   difference.
//!
//! Both give every per-request distribution GuideLLM 0.8's confidence
//! intervals; the 0.4 report ignores them.

use std::collections::BTreeMap;

use llmload_clock::Timestamp;
use serde::{Deserialize, Serialize};

use crate::distribution::{ByStatus, Distribution, Parts, Pick, StatusDistribution};
use llmload_core::{ErrorKind, Measured, RequestStatus, UsageMetrics};

mod events;
mod guidellm08;

use events::RecordEvents;

/// A record's output tokens as timed events.
fn output_events<R: Measured>(r: &R, out: &mut Vec<(f64, f64)>) {
    r.output_token_events(out)
}

/// A record's prompt tokens as one timed event.
fn prompt_events<R: Measured>(r: &R, out: &mut Vec<(f64, f64)>) {
    out.extend(r.prompt_tokens_timing().map(|(t, w)| (t.as_secs_f64(), w)))
}

/// A record's end as one timed event.
fn end_events<R: Measured>(r: &R, out: &mut Vec<(f64, f64)>) {
    out.extend(r.request_end_time().map(|t| (t.as_secs_f64(), 1.0)))
}

pub use guidellm08::TurnMetrics;

/// Request counts split by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Completed requests.
    pub successful: u64,
    /// Errored requests.
    pub errored: u64,
    /// Requests cut off by the end of the benchmark.
    pub incomplete: u64,
    /// All of them.
    pub total: u64,
}

/// Input, output and total distributions of one quantity, with their rates
/// and concurrency: GuideLLM's `GenerativeMetricsSummary`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Input values per request.
    pub input: Option<StatusDistribution>,
    /// Input per second (credited at request end).
    pub input_per_second: Option<StatusDistribution>,
    /// Input in flight over time.
    pub input_concurrency: Option<StatusDistribution>,
    /// Output values per request.
    pub output: Option<StatusDistribution>,
    /// Output per second.
    pub output_per_second: Option<StatusDistribution>,
    /// Output in flight over time.
    pub output_concurrency: Option<StatusDistribution>,
    /// Input and output values together.
    pub total: Option<StatusDistribution>,
    /// Input and output per second.
    pub total_per_second: Option<StatusDistribution>,
    /// Input and output in flight.
    pub total_concurrency: Option<StatusDistribution>,
}

/// Token, word and character summaries of the text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextMetrics {
    /// Tokens.
    pub tokens: MetricsSummary,
    /// Words.
    pub words: MetricsSummary,
    /// Characters.
    pub characters: MetricsSummary,
}

/// Every GuideLLM metric of one benchmark, plus llmload's additions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkMetrics {
    /// Requests overlapping the window, by status.
    pub request_totals: StatusCounts,
    /// Completions per second over the window.
    pub requests_per_second: StatusDistribution,
    /// Requests in flight over the window (time-weighted).
    pub request_concurrency: StatusDistribution,
    /// End-to-end latency, seconds.
    pub request_latency: StatusDistribution,
    /// Response lines per request.
    pub request_streaming_iterations_count: StatusDistribution,
    /// Prompt tokens per request.
    pub prompt_token_count: StatusDistribution,
    /// Output tokens per request.
    pub output_token_count: StatusDistribution,
    /// Prompt plus output tokens per request.
    pub total_token_count: StatusDistribution,
    /// Time to first token, ms.
    pub time_to_first_token_ms: StatusDistribution,
    /// Time per output token including TTFT, ms, weighted by output tokens.
    pub time_per_output_token_ms: StatusDistribution,
    /// Inter-token latency, ms, weighted by output tokens - 1.
    pub inter_token_latency_ms: StatusDistribution,
    /// Prompt tokens per second.
    pub prompt_tokens_per_second: StatusDistribution,
    /// Output tokens per second.
    pub output_tokens_per_second: StatusDistribution,
    /// Prompt plus output tokens per second.
    pub tokens_per_second: StatusDistribution,
    /// Output tokens per output chunk.
    pub output_tokens_per_iteration: StatusDistribution,
    /// Output tokens after the first per chunk after the first.
    pub iter_tokens_per_iteration: StatusDistribution,
    /// Text token/word/character summaries.
    pub text: TextMetrics,
    /// llmload: `request_start - targeted_start`, seconds (open-loop profiles).
    pub request_dispatch_delay: Option<StatusDistribution>,
    /// llmload: `request_end - targeted_start`, seconds: latency measured from
    /// the intended send time (coordinated-omission corrected).
    pub request_scheduled_latency: Option<StatusDistribution>,
    /// GuideLLM 0.8: time to the first output (non-reasoning) token, ms,
    /// over the requests whose `[start, first output token]` overlaps the
    /// window.
    /// llmload times no reasoning tokens apart, so this is TTFT's data.
    /// Only [`BenchmarkMetrics::compile_08`] fills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_output_token_ms: Option<StatusDistribution>,
    /// GuideLLM 0.8: dispatch delay (seconds) of each conversation's first
    /// request, every status together. llmload sends no conversations, so
    /// every request is a first one; `None` when no request has a targeted
    /// start. Only [`BenchmarkMetrics::compile_08`] fills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_dispatch_delay: Option<Distribution>,
    /// GuideLLM 0.8: the part of each request's dispatch delay spent
    /// waiting for the turn before it to be answered (0 for a first turn),
    /// seconds; profiles with an arrival schedule only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_predecessor_delay: Option<StatusDistribution>,
    /// GuideLLM 0.8: the rest of the dispatch delay (the sender's own lag
    /// and think time past the intended start), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_scheduling_delay: Option<StatusDistribution>,
    /// GuideLLM 0.8: distributions per turn position of multi-turn
    /// conversations (`None` when every request is a first turn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<Vec<TurnMetrics>>,
    /// llmload: errored requests in the window by error kind.
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// llmload: the same requests by kind, then by message
    /// ([`RequestError::summary`](crate::RequestError::summary)).
    #[serde(default)]
    pub errors_by_message: BTreeMap<ErrorKind, BTreeMap<String, u64>>,
}

/// The confidence level of the intervals (GuideLLM 0.8's default).
pub const CONFIDENCE: f64 = 0.95;

/// Which requests a benchmark's metrics cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every request whose `[start, end]` overlaps the window (GuideLLM).
    #[default]
    Overlap,
    /// Requests that start inside the window (with warmup/cooldown, so that
    /// requests started in warmup do not leak in).
    StartedWithin,
}

/// Records selected for a benchmark's metrics, split by status.
struct Selected<'a, R> {
    by_status: ByStatus<&'a R>,
}

impl<'a, R: Measured> Selected<'a, R> {
    fn new(records: &'a [R], start: Timestamp, end: Timestamp, selection: Selection) -> Self {
        Self::with(records, |r| {
            let Some(req_end) = r.request_end_time() else {
                return false;
            };
            match selection {
                Selection::Overlap => {
                    req_end >= start
                        && match r.request_start_time() {
                            Some(s) => s <= end,
                            None => req_end <= end,
                        }
                }
                Selection::StartedWithin => r
                    .request_start_time()
                    .is_some_and(|s| s >= start && s < end),
            }
        })
    }

    /// The records `keep` accepts, split by status as GuideLLM accumulates
    /// them (a request cancelled before it began resolving is never counted).
    fn with(records: &'a [R], keep: impl Fn(&R) -> bool) -> Self {
        let mut by_status = ByStatus::default();
        for r in records.iter().filter(|r| keep(r)) {
            match r.status() {
                RequestStatus::Completed => by_status.successful.push(r),
                RequestStatus::Errored => by_status.errored.push(r),
                // Cancelled before it started resolving: never counted.
                RequestStatus::Cancelled if r.resolve_start().is_some() => {
                    by_status.incomplete.push(r)
                }
                RequestStatus::Cancelled => {}
            }
        }
        Selected { by_status }
    }

    /// Event times are epoch seconds as f64, as GuideLLM computes them, so
    /// rates (which divide by half-gaps) round exactly as GuideLLM's do.
    fn secs(&self, t: Timestamp) -> f64 {
        t.as_secs_f64()
    }

    /// The selected records `f` keeps, split by status.
    fn keep(&self, f: impl Fn(&R) -> bool) -> ByStatus<&'a R> {
        let k = |v: &Vec<&'a R>| v.iter().copied().filter(|r| f(r)).collect();
        let s = &self.by_status;
        ByStatus {
            successful: k(&s.successful),
            incomplete: k(&s.incomplete),
            errored: k(&s.errored),
        }
    }

    /// Map every selected record to zero or more items, keeping the split.
    fn map<T>(&self, f: impl Fn(&R) -> Vec<T>) -> ByStatus<T> {
        let m = |v: &Vec<&R>| v.iter().flat_map(|r| f(r)).collect();
        ByStatus {
            successful: m(&self.by_status.successful),
            incomplete: m(&self.by_status.incomplete),
            errored: m(&self.by_status.errored),
        }
    }

    /// One value per request, with confidence intervals.
    fn values(&self, f: impl Fn(&R) -> f64) -> StatusDistribution {
        StatusDistribution::with_intervals(self.map(|r| vec![(f(r), 1.0)]), CONFIDENCE)
    }

    /// One value per request, without intervals (GuideLLM 0.4 has none:
    /// sorting every metric again for them would be work thrown away).
    fn plain(&self, f: impl Fn(&R) -> f64) -> StatusDistribution {
        StatusDistribution::from_weighted_lists(self.map(|r| vec![(f(r), 1.0)]))
    }

    fn weighted(&self, f: impl Fn(&R) -> (f64, f64)) -> StatusDistribution {
        StatusDistribution::from_weighted_lists(self.map(|r| vec![f(r)]))
    }

    /// Timed `(seconds, weight)` events that `make` gives for every
    /// selected record, read in time order as often as needed without being
    /// held (see `benchmark/events.rs`).
    fn events(&self, make: events::Make<R>) -> Parts<RecordEvents<'a, R>> {
        let s = &self.by_status;
        events::by_status([&s.successful, &s.incomplete, &s.errored], make)
    }

    fn text_summary(&self, field: impl Fn(&UsageMetrics) -> Option<u64>) -> MetricsSummary {
        // The records with both ends and a value: each distribution takes
        // their (start, end, input, output) as it needs them.
        type T4 = (f64, f64, f64, f64);
        let tuple = |r: &R| -> Option<T4> {
            let (Some(s), Some(e)) = (r.request_start_time(), r.request_end_time()) else {
                return None;
            };
            let (i, o) = (field(&r.input()), field(&r.output()));
            if i.is_none() && o.is_none() {
                return None;
            }
            let v = |x: Option<u64>| x.unwrap_or(0) as f64;
            Some((self.secs(s), self.secs(e), v(i), v(o)))
        };
        let timed = self.keep(|r| tuple(r).is_some());
        let t = |r: &&R| tuple(r).unwrap_or_default();
        let value = |pick: Of| move |r: &&R| Some((pick(&t(r)), 1.0));
        let rate = |pick: Of| move |r: &&R| Some((t(r).1, pick(&t(r))));
        let span = |pick: Of| move |r: &&R| Some((t(r).0, t(r).1, pick(&t(r))));
        type Of = fn(&T4) -> f64;
        let (input, output): (Of, Of) = (|t| t.2, |t| t.3);
        let side = |pick: Of| {
            let values = StatusDistribution::weighted_of(&timed, &[&value(pick)]);
            if values.total.total_sum == 0.0 {
                return None;
            }
            Some((
                values,
                StatusDistribution::rates_picked(&timed, &[&rate(pick)], None, None),
                StatusDistribution::concurrency_picked(&timed, &[&span(pick)], None, None),
            ))
        };
        let mut summary = MetricsSummary::default();
        let (i, o) = (side(input), side(output));
        if i.is_some() && o.is_some() {
            let (v, r, c) = (
                [&value(input) as Pick<&R, _>, &value(output)],
                [&rate(input) as Pick<&R, _>, &rate(output)],
                [&span(input) as Pick<&R, _>, &span(output)],
            );
            summary.total = Some(StatusDistribution::weighted_of(&timed, &v));
            summary.total_per_second =
                Some(StatusDistribution::rates_picked(&timed, &r, None, None));
            summary.total_concurrency = Some(StatusDistribution::concurrency_picked(
                &timed, &c, None, None,
            ));
        }
        if let Some((v, r, c)) = i {
            (
                summary.input,
                summary.input_per_second,
                summary.input_concurrency,
            ) = (Some(v), Some(r), Some(c));
        }
        if let Some((v, r, c)) = o {
            (
                summary.output,
                summary.output_per_second,
                summary.output_concurrency,
            ) = (Some(v), Some(r), Some(c));
        }
        summary
    }
}

/// Errored requests by error kind, and by kind then message.
type ErrorCounts = (
    BTreeMap<ErrorKind, u64>,
    BTreeMap<ErrorKind, BTreeMap<String, u64>>,
);

fn error_counts<R: Measured>(errored: &[&R]) -> ErrorCounts {
    let mut by_kind = BTreeMap::new();
    let mut by_message: BTreeMap<ErrorKind, BTreeMap<String, u64>> = BTreeMap::new();
    for e in errored.iter().filter_map(|r| r.error()) {
        *by_kind.entry(e.kind).or_insert(0) += 1;
        *by_message
            .entry(e.kind)
            .or_default()
            .entry(e.summary())
            .or_insert(0) += 1;
    }
    (by_kind, by_message)
}

impl BenchmarkMetrics {
    /// Compile every metric from a benchmark's records and its measurement
    /// window `[start, end]`, selecting requests as GuideLLM does.
    pub fn compile<R: Measured>(records: &[R], start: Timestamp, end: Timestamp) -> Self {
        Self::compile_with(records, start, end, Selection::Overlap)
    }

    /// As [`BenchmarkMetrics::compile`], choosing which requests count.
    pub fn compile_with<R: Measured>(
        records: &[R],
        start: Timestamp,
        end: Timestamp,
        selection: Selection,
    ) -> Self {
        let sel = Selected::new(records, start, end, selection);
        let window = Some((sel.secs(start), sel.secs(end)));
        let s = &sel.by_status;
        let (n_ok, n_inc, n_err) = (
            s.successful.len() as u64,
            s.incomplete.len() as u64,
            s.errored.len() as u64,
        );
        let (errors_by_kind, errors_by_message) = error_counts(&s.errored);
        let open_loop = s.all().iter().any(|r| r.targeted_start().is_some());
        // Every output token is a timed event: the large lists, built and
        // sorted once, then merged for the all-tokens rate.
        let output_tokens_per_second =
            StatusDistribution::rates_of(&sel.events(output_events), None, None);
        let prompt_tokens_per_second =
            StatusDistribution::rates_of(&sel.events(prompt_events), None, None);
        let tokens = Parts::zip(sel.events(output_events), sel.events(prompt_events));
        let tokens_per_second = StatusDistribution::rates_of(&tokens, None, None);
        drop(tokens);
        let f0 = |x: Option<f64>| x.unwrap_or(0.0);
        let u0 = |x: Option<u64>| x.unwrap_or(0) as f64;
        BenchmarkMetrics {
            request_totals: StatusCounts {
                successful: n_ok,
                errored: n_err,
                incomplete: n_inc,
                total: n_ok + n_inc + n_err,
            },
            requests_per_second: StatusDistribution::rates_of(
                &sel.events(end_events),
                window.map(|w| w.0),
                window.map(|w| w.1),
            ),
            request_concurrency: StatusDistribution::concurrency(
                &sel.map(|r| match (r.request_start_time(), r.request_end_time()) {
                    (Some(a), Some(b)) => vec![(sel.secs(a), sel.secs(b), 1.0)],
                    _ => vec![],
                }),
                window.map(|w| w.0),
                window.map(|w| w.1),
            ),
            request_latency: sel.plain(|r| f0(r.request_latency())),
            request_streaming_iterations_count: sel.plain(|r| r.request_iterations() as f64),
            prompt_token_count: sel.plain(|r| u0(r.prompt_tokens())),
            output_token_count: sel.plain(|r| u0(r.output_tokens())),
            total_token_count: sel.plain(|r| u0(r.total_tokens())),
            time_to_first_token_ms: sel.plain(|r| f0(r.time_to_first_token_ms())),
            time_per_output_token_ms: sel
                .weighted(|r| (f0(r.time_per_output_token_ms()), u0(r.output_tokens()))),
            inter_token_latency_ms: sel.weighted(|r| {
                (
                    f0(r.inter_token_latency_ms()),
                    r.output_tokens().unwrap_or(1) as f64 - 1.0,
                )
            }),
            tokens_per_second,
            prompt_tokens_per_second,
            output_tokens_per_second,
            // One (tokens, 1) pair per chunk, collapsed to (tokens, chunks)
            // per request: the same sums (whole numbers add exactly).
            output_tokens_per_iteration: StatusDistribution::from_weighted_lists(
                sel.map(|r| r.output_tokens_per_chunk()),
            ),
            iter_tokens_per_iteration: StatusDistribution::from_weighted_lists(
                sel.map(|r| r.iter_tokens_per_chunk()),
            ),
            text: TextMetrics {
                tokens: sel.text_summary(|u| u.text_tokens),
                words: sel.text_summary(|u| u.text_words),
                characters: sel.text_summary(|u| u.text_characters),
            },
            request_dispatch_delay: open_loop.then(|| {
                StatusDistribution::from_weighted_lists(
                    sel.map(|r| r.dispatch_delay().map(|d| (d, 1.0)).into_iter().collect()),
                )
            }),
            request_scheduled_latency: open_loop.then(|| {
                StatusDistribution::from_weighted_lists(sel.map(|r| {
                    r.scheduled_latency()
                        .map(|d| (d, 1.0))
                        .into_iter()
                        .collect()
                }))
            }),
            time_to_first_output_token_ms: None,
            root_dispatch_delay: None,
            turn_predecessor_delay: None,
            turn_scheduling_delay: None,
            turns: None,
            errors_by_kind,
            errors_by_message,
        }
    }
}

/// Successful completions per second over the measurement window
/// `[start, end]`: what GuideLLM reports as
/// `requests_per_second.successful.mean` and what its sweep measures.
pub fn successful_rate<R: Measured>(records: &[R], start: Timestamp, end: Timestamp) -> f64 {
    let ends: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.status() == RequestStatus::Completed)
        .filter_map(R::request_end_time)
        .map(|t| (t.as_secs_f64(), 1.0))
        .collect();
    crate::Distribution::rate_from_events(ends, Some(start.as_secs_f64()), Some(end.as_secs_f64()))
        .mean
}

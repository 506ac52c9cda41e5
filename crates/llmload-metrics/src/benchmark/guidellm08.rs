//! GuideLLM 0.8.1's `GenerativeMetrics.compile`, beside 0.4's.
//!
//! What 0.8.1 computes differently from 0.4 (checked against its
//! `benchmark/schemas/metrics.py` and `schemas/base/request_stats.py`, and
//! replayed on its own reports by tests/guidellm08_statistics.rs in
//! llmload-report):
//! - prompt, output and total tokens per second are clipped to the
//!   measurement window, as requests per second and concurrency already were;
//! - TTFT (and TTFOT) cover the requests whose `[start, first token]`
//!   overlaps the window (`get_within_range(end_func=first_token_iteration)`):
//!   a first token before the window leaves a request out, and requests
//!   without a first token are left out instead of counting as 0 ms;
//! - ITL covers the requests whose `[first token, end]` overlaps the window
//!   (`start_func=first_token_iteration`; without a first token, their end
//!   must lie in it);
//! - per-request times are differences of epoch-second floats
//!   (`1000 * (last - first) / n`), not of nanosecond timestamps, so small
//!   values such as a 0.0175 ms ITL round as GuideLLM's do;
//! - request dispatch delay and scheduled latency are reported only for a
//!   profile with an arrival schedule (constant, poisson), whatever the
//!   records hold, and `root_dispatch_delay` is new;
//! - text summaries leave a side out when no request has a value for it
//!   (0.4: when every value is zero) and do not count missing values as 0.
//!
//! - a conversation's later turns are left out of `root_dispatch_delay`
//!   (a slow earlier turn moves them); `turn_predecessor_delay` splits the
//!   dispatch delay into the wait for the turn before and the rest, and
//!   `turns` holds distributions per turn position.
//!
//! Not computed: the round-trip times of GuideLLM's websocket backend and
//! goodput.

use llmload_clock::Timestamp;
use llmload_core::{Measured, Timing, UsageMetrics};

use super::{
    end_events, error_counts, output_events, prompt_events, BenchmarkMetrics, MetricsSummary,
    Selected, Selection, StatusCounts, TextMetrics, CONFIDENCE,
};
use crate::distribution::{ByStatus, Distribution, Parts, Pick, StatusDistribution};

/// One turn position's distributions (0.8's `GenerativeTurnMetrics`): the
/// requests at that index of their conversation, selected as the whole
/// benchmark's metrics of the same names are.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TurnMetrics {
    /// The turn position, from 0.
    pub turn_index: u32,
    /// Requests at this position by status.
    pub request_totals: StatusCounts,
    /// Request latency, seconds.
    pub request_latency: StatusDistribution,
    /// Prompt tokens (the history included).
    pub prompt_token_count: StatusDistribution,
    /// Time to first token, ms.
    pub time_to_first_token_ms: StatusDistribution,
    /// Inter-token latency, ms, weighted by output tokens - 1.
    pub inter_token_latency_ms: StatusDistribution,
}

/// `later - earlier` in seconds, on epoch-second floats as GuideLLM 0.8.
fn secs(later: Timestamp, earlier: Timestamp) -> f64 {
    later.as_secs_f64() - earlier.as_secs_f64()
}

/// `1000 * (later - earlier)`, on epoch-second floats.
fn ms(later: Timestamp, earlier: Timestamp) -> f64 {
    1000.0 * secs(later, earlier)
}

// The per-request metrics of 0.8's `GenerativeRequestStats`, in its float
// arithmetic; the formulas are [`Measured`]'s.

fn request_latency<R: Measured>(r: &R) -> Option<f64> {
    Some(secs(r.request_end()?, r.request_start()?))
}

fn time_to_first_token_ms<R: Measured>(r: &R) -> Option<f64> {
    Some(ms(r.first_token_iteration()?, r.request_start()?))
}

fn time_per_output_token_ms<R: Measured>(r: &R) -> Option<f64> {
    let start = r.request_start()?;
    let last = r.last_token_iteration().or(r.request_end_time())?;
    let out = r.output_tokens().filter(|&o| o > 0)?;
    Some(ms(last, start) / out as f64)
}

fn inter_token_latency_ms<R: Measured>(r: &R) -> Option<f64> {
    let (first, last) = (r.first_token_iteration()?, r.last_token_iteration()?);
    let out = r.output_tokens().filter(|&o| o > 1)?;
    Some(ms(last, first) / (out - 1) as f64)
}

fn dispatch_delay<R: Measured>(r: &R) -> Option<f64> {
    Some(secs(r.request_start()?, r.targeted_start()?))
}

fn scheduled_latency<R: Measured>(r: &R) -> Option<f64> {
    Some(secs(r.request_end()?, r.targeted_start()?))
}

/// `max(0, min(start, predecessor_completed) - targeted)`; 0 without a predecessor.
fn predecessor_delay<R: Measured>(r: &R) -> Option<f64> {
    let (targeted, start) = (r.targeted_start()?, r.request_start()?);
    Some(match r.timing(Timing::PredecessorCompleted) {
        None => 0.0,
        Some(p) => secs(start.min(p), targeted).max(0.0),
    })
}

fn scheduling_delay<R: Measured>(r: &R) -> Option<f64> {
    Some(dispatch_delay(r)? - predecessor_delay(r)?)
}

impl<'a, R: Measured> Selected<'a, R> {
    /// The selected requests at turn position `k`.
    fn turn(&self, k: u32) -> Selected<'a, R> {
        let keep = |v: &[&'a R]| -> Vec<&'a R> {
            v.iter().copied().filter(|r| r.turn_index() == k).collect()
        };
        let s = &self.by_status;
        Selected {
            by_status: ByStatus {
                successful: keep(&s.successful),
                incomplete: keep(&s.incomplete),
                errored: keep(&s.errored),
            },
        }
    }

    fn turn_indices(&self, into: &mut std::collections::BTreeSet<u32>) {
        let s = &self.by_status;
        for r in s.successful.iter().chain(&s.incomplete).chain(&s.errored) {
            into.insert(r.turn_index());
        }
    }
}

/// 0.8's `GenerativeTurnMetrics.compile_by_turn`: `None` when every
/// request is at turn 0.
fn by_turn<R: Measured>(
    sel: &Selected<R>,
    first: &Selected<R>,
    after: &Selected<R>,
) -> Option<Vec<TurnMetrics>> {
    let mut indices = std::collections::BTreeSet::new();
    for s in [sel, first, after] {
        s.turn_indices(&mut indices);
    }
    if indices.iter().all(|&k| k == 0) {
        return None;
    }
    let f0 = |x: Option<f64>| x.unwrap_or(0.0);
    let turns = indices.into_iter().map(|k| {
        let (s, f, a) = (sel.turn(k), first.turn(k), after.turn(k));
        let b = &s.by_status;
        let (ok, inc, err) = (
            b.successful.len() as u64,
            b.incomplete.len() as u64,
            b.errored.len() as u64,
        );
        TurnMetrics {
            turn_index: k,
            request_totals: StatusCounts {
                successful: ok,
                errored: err,
                incomplete: inc,
                total: ok + inc + err,
            },
            request_latency: s.plain(|r| f0(request_latency(r))),
            prompt_token_count: s.plain(|r| r.prompt_tokens().unwrap_or(0) as f64),
            time_to_first_token_ms: f.plain(|r| f0(time_to_first_token_ms(r))),
            inter_token_latency_ms: a.weighted(|r| {
                (
                    f0(inter_token_latency_ms(r)),
                    r.output_tokens().unwrap_or(1) as f64 - 1.0,
                )
            }),
        }
    });
    Some(turns.collect())
}

impl BenchmarkMetrics {
    /// Compile every metric as GuideLLM 0.8.1 does, from a benchmark's
    /// records and measurement window `[start, end]`.
    ///
    /// `arrival_schedule`: whether the profile sends on a schedule of its own
    /// (constant, poisson), which is when 0.8 reports the request dispatch
    /// delay and scheduled latency; closed-loop profiles (synchronous,
    /// concurrent, throughput) get `None`.
    pub fn compile_08<R: Measured>(
        records: &[R],
        start: Timestamp,
        end: Timestamp,
        arrival_schedule: bool,
    ) -> Self {
        Self::compile_08_with(records, start, end, Selection::Overlap, arrival_schedule)
    }

    /// As [`BenchmarkMetrics::compile_08`], choosing which requests count.
    /// With [`Selection::StartedWithin`] every metric covers the requests
    /// started in the window, TTFT and TTFOT those of them with a first token.
    pub fn compile_08_with<R: Measured>(
        records: &[R],
        start: Timestamp,
        end: Timestamp,
        selection: Selection,
        arrival_schedule: bool,
    ) -> Self {
        let sel = Selected::new(records, start, end, selection);
        let first_token = match selection {
            Selection::Overlap => Selected::with(records, |r| {
                r.first_token_iteration()
                    .is_some_and(|ft| ft >= start && r.request_start_time().unwrap_or(ft) <= end)
            }),
            Selection::StartedWithin => Selected::with(records, |r| {
                r.first_token_iteration().is_some()
                    && r.request_start_time()
                        .is_some_and(|s| s >= start && s < end)
            }),
        };
        let after_first_token = match selection {
            Selection::Overlap => Selected::with(records, |r| {
                r.request_end_time()
                    .is_some_and(|e| e >= start && r.first_token_iteration().unwrap_or(e) <= end)
            }),
            Selection::StartedWithin => Selected::new(records, start, end, selection),
        };
        let (ws, we) = (Some(start.as_secs_f64()), Some(end.as_secs_f64()));
        let s = &sel.by_status;
        let (n_ok, n_inc, n_err) = (
            s.successful.len() as u64,
            s.incomplete.len() as u64,
            s.errored.len() as u64,
        );
        let (errors_by_kind, errors_by_message) = error_counts(&s.errored);
        let output_tokens_per_second =
            StatusDistribution::rates_of(&sel.events(output_events), ws, we);
        let prompt_tokens_per_second =
            StatusDistribution::rates_of(&sel.events(prompt_events), ws, we);
        let tokens = Parts::zip(sel.events(output_events), sel.events(prompt_events));
        let tokens_per_second = StatusDistribution::rates_of(&tokens, ws, we);
        drop(tokens);
        let f0 = |x: Option<f64>| x.unwrap_or(0.0);
        let u0 = |x: Option<u64>| x.unwrap_or(0) as f64;
        let ttft = first_token.values(|r| f0(time_to_first_token_ms(r)));
        let per_request = |f: fn(&R) -> Option<f64>| {
            StatusDistribution::with_intervals(
                sel.map(|r| f(r).map(|d| (d, 1.0)).into_iter().collect()),
                CONFIDENCE,
            )
        };
        let plain = |f: fn(&R) -> Option<f64>| {
            StatusDistribution::from_weighted_lists(
                sel.map(|r| f(r).map(|d| (d, 1.0)).into_iter().collect()),
            )
        };
        // A conversation's first turns (0.8: `preceding_nodes == 0`).
        let root_delays: Vec<f64> = s
            .all()
            .iter()
            .filter(|r| r.turn_index() == 0)
            .filter_map(|r| dispatch_delay(*r))
            .collect();
        BenchmarkMetrics {
            request_totals: StatusCounts {
                successful: n_ok,
                errored: n_err,
                incomplete: n_inc,
                total: n_ok + n_inc + n_err,
            },
            requests_per_second: StatusDistribution::rates_of(&sel.events(end_events), ws, we),
            request_concurrency: StatusDistribution::concurrency(
                &sel.map(|r| match (r.request_start_time(), r.request_end_time()) {
                    (Some(a), Some(b)) => vec![(a.as_secs_f64(), b.as_secs_f64(), 1.0)],
                    _ => vec![],
                }),
                ws,
                we,
            ),
            request_latency: sel.values(|r| f0(request_latency(r))),
            request_streaming_iterations_count: sel.values(|r| r.request_iterations() as f64),
            prompt_token_count: sel.values(|r| u0(r.prompt_tokens())),
            output_token_count: sel.values(|r| u0(r.output_tokens())),
            total_token_count: sel.values(|r| u0(r.total_tokens())),
            time_to_first_output_token_ms: Some(ttft),
            time_to_first_token_ms: ttft,
            time_per_output_token_ms: sel
                .weighted(|r| (f0(time_per_output_token_ms(r)), u0(r.output_tokens()))),
            inter_token_latency_ms: after_first_token.weighted(|r| {
                (
                    f0(inter_token_latency_ms(r)),
                    r.output_tokens().unwrap_or(1) as f64 - 1.0,
                )
            }),
            tokens_per_second,
            prompt_tokens_per_second,
            output_tokens_per_second,
            output_tokens_per_iteration: StatusDistribution::from_weighted_lists(
                sel.map(|r| r.output_tokens_per_chunk()),
            ),
            iter_tokens_per_iteration: StatusDistribution::from_weighted_lists(
                sel.map(|r| r.iter_tokens_per_chunk()),
            ),
            text: TextMetrics {
                tokens: text_summary(&sel, |u| u.text_tokens),
                words: text_summary(&sel, |u| u.text_words),
                characters: text_summary(&sel, |u| u.text_characters),
            },
            request_dispatch_delay: arrival_schedule.then(|| per_request(dispatch_delay)),
            request_scheduled_latency: arrival_schedule.then(|| per_request(scheduled_latency)),
            root_dispatch_delay: (!root_delays.is_empty())
                .then(|| Distribution::from_values(root_delays)),
            turn_predecessor_delay: arrival_schedule.then(|| plain(predecessor_delay)),
            turn_scheduling_delay: arrival_schedule.then(|| plain(scheduling_delay)),
            turns: by_turn(&sel, &first_token, &after_first_token),
            errors_by_kind,
            errors_by_message,
        }
    }
}

/// One request's `(start, end, input, output)` for a text summary.
type Timed = (f64, f64, Option<u64>, Option<u64>);

/// 0.8's `GenerativeMetricsSummary.compile`: a side's values leave out the
/// requests without one; its rates and concurrency count them as 0; a side
/// no request has a value for is `None`, and so is the total then.
fn text_summary<R: Measured>(
    sel: &Selected<R>,
    field: impl Fn(&UsageMetrics) -> Option<u64>,
) -> MetricsSummary {
    // The records with both ends and a value: each distribution takes
    // their (start, end, input, output) as it needs them.
    let tuple = |r: &R| -> Option<Timed> {
        let (Some(s), Some(e)) = (r.request_start_time(), r.request_end_time()) else {
            return None;
        };
        let (i, o) = (field(&r.input()), field(&r.output()));
        if i.is_none() && o.is_none() {
            return None;
        }
        Some((s.as_secs_f64(), e.as_secs_f64(), i, o))
    };
    let timed = sel.keep(|r| tuple(r).is_some());
    let t = |r: &&R| tuple(r).unwrap_or_default();
    let value = |pick: Of| move |r: &&R| pick(&t(r)).map(|x| (x as f64, 1.0));
    let v0 = |pick: Of| move |r: &&R| pick(&t(r)).unwrap_or(0) as f64;
    let rate = |pick| move |r: &&R| Some((t(r).1, v0(pick)(r)));
    let span = |pick| move |r: &&R| Some((t(r).0, t(r).1, v0(pick)(r)));
    type Of = fn(&Timed) -> Option<u64>;
    let (input, output): (Of, Of) = (|t| t.2, |t| t.3);
    let side = |pick: Of| {
        let all = [&timed.successful, &timed.incomplete, &timed.errored];
        if !all.iter().any(|v| v.iter().any(|r| pick(&t(r)).is_some())) {
            return None;
        }
        Some((
            StatusDistribution::weighted_of(&timed, &[&value(pick)]),
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
        summary.total_per_second = Some(StatusDistribution::rates_picked(&timed, &r, None, None));
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

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_core::{RequestRecord, RequestStatus, RequestType};

    const T0: f64 = 1_796_188_000.0;

    fn at(s: f64) -> Option<Timestamp> {
        Timestamp::from_secs_f64(T0 + s)
    }

    /// A request sent at `start` (targeted 0.1 s earlier) whose tokens came
    /// from `first` to `last` over 10 chunks, ending at `end`.
    fn record(
        status: RequestStatus,
        start: f64,
        first: Option<(f64, f64)>,
        end: f64,
    ) -> RequestRecord {
        let mut r = RequestRecord::new(RequestType::ChatCompletions, 0);
        r.status = status;
        let t = &mut r.timings;
        (t.targeted_start, t.resolve_start, t.request_start) =
            (at(start - 0.1), at(start), at(start));
        // A cancelled request never saw the end of its response.
        t.request_end = at(end).filter(|_| status != RequestStatus::Cancelled);
        t.resolve_end = at(end);
        r.input.text_tokens = Some(100);
        if let Some((f, l)) = first {
            (t.first_token_iteration, t.last_token_iteration) = (at(f), at(l));
            t.token_iterations = 10;
            r.output.text_tokens = Some(31);
        }
        r
    }

    fn records() -> Vec<RequestRecord> {
        use RequestStatus::*;
        vec![
            record(Completed, 1.0, Some((1.5, 2.5)), 3.0),
            // First token before the window: in ITL, not in TTFT.
            record(Completed, -1.0, Some((-0.5, 0.5)), 1.0),
            // Sent in the window, first token after it: in TTFT, not in ITL.
            record(Completed, 9.5, Some((10.5, 10.9)), 11.0),
            // Cut off before its first token: no TTFT rather than 0 ms.
            record(Cancelled, 8.0, None, 11.0),
        ]
    }

    #[test]
    fn first_token_selection_and_window_as_guidellm_08() {
        let (start, end) = (at(0.0).unwrap(), at(10.0).unwrap());
        let old = BenchmarkMetrics::compile(&records(), start, end);
        let new = BenchmarkMetrics::compile_08(&records(), start, end, false);
        assert_eq!(old.request_totals, new.request_totals);
        assert_eq!(new.request_totals.total, 4);
        assert_eq!(old.time_to_first_token_ms.total.count, 4);
        assert_eq!(new.time_to_first_token_ms.total.count, 2);
        assert_eq!(new.time_to_first_token_ms.incomplete.count, 0);
        assert_eq!(
            new.time_to_first_output_token_ms,
            Some(new.time_to_first_token_ms)
        );
        // ITL weights are output tokens - 1: two requests in 0.8, four in 0.4
        // (the cancelled one weighs 0).
        assert_eq!(old.inter_token_latency_ms.total.count, 90);
        assert_eq!(new.inter_token_latency_ms.total.count, 60);
        // Only the first request's prompt is credited inside the window.
        assert_eq!(old.prompt_tokens_per_second.total.count, 400);
        assert_eq!(new.prompt_tokens_per_second.total.count, 100);
        // All of the first request's output, 5 of the second's 9 later
        // chunks (30 / 9 tokens each): 31 + 16.7.
        assert_eq!(new.output_tokens_per_second.successful.count, 48);
        // Closed loop: no dispatch delay, but every request is a root.
        assert!(new.request_dispatch_delay.is_none() && old.request_dispatch_delay.is_some());
        let roots = new.root_dispatch_delay.unwrap();
        assert_eq!(roots.count, 4);
        assert!((roots.mean - 0.1).abs() < 1e-6);
        assert!(old.root_dispatch_delay.is_none() && old.time_to_first_output_token_ms.is_none());
        let open = BenchmarkMetrics::compile_08(&records(), start, end, true);
        assert_eq!(open.request_dispatch_delay.unwrap().total.count, 4);
        assert_eq!(open.request_scheduled_latency.unwrap().total.count, 3);
    }

    #[test]
    fn per_request_times_are_epoch_float_differences() {
        let r = &records()[0];
        let t = &r.timings;
        let (f, l) = (
            t.first_token_iteration.unwrap(),
            t.last_token_iteration.unwrap(),
        );
        let expected = 1000.0 * (l.as_secs_f64() - f.as_secs_f64()) / 30.0;
        assert_eq!(inter_token_latency_ms(r), Some(expected));
        let start = t.request_start.unwrap();
        assert_eq!(
            time_per_output_token_ms(r),
            Some(1000.0 * (l.as_secs_f64() - start.as_secs_f64()) / 31.0)
        );
    }
}

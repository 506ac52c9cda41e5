//! Why requests failed, in words: a benchmark's errors by kind, each kind
//! with its most frequent messages (the server's own, for HTTP errors).
//!
//! llmload's reports keep them per benchmark under `llmload.error_messages`
//! (counted over the same requests as `llmload.errors_by_kind`); for a report
//! without them (GuideLLM's, or an older llmload's) they are read from the
//! errored request records the report keeps.

use std::collections::BTreeMap;

use llmload_metrics::BenchmarkMetrics;
use serde_json::{json, Value};

use crate::model::{Benchmark, RequestStats};

/// Messages kept per error kind in the report.
pub const MESSAGES_KEPT: usize = 5;
/// Messages shown per error kind on the console.
pub const MESSAGES_SHOWN: usize = 3;
/// Characters of a message kept in the report.
pub const MESSAGE_CHARS_KEPT: usize = 500;
/// Characters of a message shown on the console.
pub const MESSAGE_CHARS_SHOWN: usize = 120;

/// The errors of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindErrors {
    /// `http_status`, `connect`, ... (`error` when the report does not say).
    pub kind: String,
    /// Errored requests of this kind.
    pub count: u64,
    /// The most frequent messages with their counts, most frequent first.
    pub messages: Vec<(String, u64)>,
}

/// `s` on one line (control characters as spaces, runs of blanks as one),
/// cut to `max` characters with `…` where it was cut.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(4 * max));
    let mut blank = false;
    for c in s.trim().chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' {
            if blank {
                continue;
            }
            blank = true;
        } else {
            blank = false;
        }
        out.push(c);
    }
    if out.chars().count() > max {
        let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        return cut;
    }
    out
}

/// `(message, count)` pairs, most frequent first (ties by message), the first `n`.
fn top(counts: impl IntoIterator<Item = (String, u64)>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// `llmload.error_messages` of a benchmark: per kind, its
/// [`MESSAGES_KEPT`] most frequent messages with their counts.
pub fn messages_json(m: &BenchmarkMetrics) -> Value {
    let per_kind = m.errors_by_message.iter().map(|(kind, messages)| {
        let kept = top(
            messages.iter().map(|(msg, n)| (msg.clone(), *n)),
            MESSAGES_KEPT,
        );
        let list: Vec<Value> = kept
            .into_iter()
            .map(|(msg, n)| json!({"message": one_line(&msg, MESSAGE_CHARS_KEPT), "count": n}))
            .collect();
        (kind.as_str().to_string(), Value::Array(list))
    });
    Value::Object(per_kind.collect())
}

/// A record's message for people: `HTTP 404: ...` when it has a status
/// (without the `http_status 404: ` that llmload's `info.error` starts with).
fn record_message(r: &RequestStats) -> String {
    let raw = r.info.error.as_deref().unwrap_or("").trim();
    let extras = r.llmload.as_ref();
    let kind = extras.and_then(|x| x.error_kind.as_deref());
    let status = extras.and_then(|x| x.http_status);
    let mut text = raw;
    if let Some(kind) = kind {
        let prefix = match status {
            Some(s) => format!("{kind} {s}: "),
            None => format!("{kind}: "),
        };
        text = raw.strip_prefix(prefix.as_str()).unwrap_or(raw);
    }
    let text = if text.is_empty() {
        "(no message)"
    } else {
        text
    };
    match status {
        Some(s) => format!("HTTP {s}: {text}"),
        None => text.to_string(),
    }
}

/// The errors of a benchmark by kind (largest first), from llmload's
/// counts when the report has them, else from its errored records.
pub fn of(b: &Benchmark) -> Vec<KindErrors> {
    let counted = Some(&b.ext.errors_by_kind).filter(|k| !k.is_empty());
    let records = &b.requests.errored;
    let record_kind = |r: &RequestStats| {
        r.llmload
            .as_ref()
            .and_then(|x| x.error_kind.clone())
            .unwrap_or_else(|| "error".to_string())
    };
    let from_records = |kind: Option<&str>| -> Vec<(String, u64)> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in records
            .iter()
            .filter(|r| kind.is_none_or(|k| record_kind(r) == k))
        {
            *counts.entry(record_message(r)).or_insert(0) += 1;
        }
        top(counts, MESSAGES_KEPT)
    };
    let mut out: Vec<KindErrors> = match counted {
        Some(kinds) => kinds
            .iter()
            .filter_map(|(kind, &count)| {
                (count > 0).then_some(())?;
                let messages = match b.ext.error_messages.get(kind) {
                    Some(list) => list.iter().map(|m| (m.message.clone(), m.count)).collect(),
                    None => from_records(Some(kind.as_str())),
                };
                Some(KindErrors {
                    kind: kind.clone(),
                    count,
                    messages,
                })
            })
            .collect(),
        None => {
            let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
            for r in records {
                *kinds.entry(record_kind(r)).or_insert(0) += 1;
            }
            kinds
                .into_iter()
                .map(|(kind, count)| KindErrors {
                    messages: from_records(Some(kind.as_str())),
                    kind,
                    count,
                })
                .collect()
        }
    };
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
    out
}

fn requests(n: u64) -> String {
    format!("{n} request{}", if n == 1 { "" } else { "s" })
}

/// The console's lines on a benchmark's failures (none when nothing
/// failed): when every failure had the same message, that message in one
/// line; else each kind with its count and its most frequent messages.
pub fn console_lines(label: &str, b: &Benchmark) -> String {
    let kinds = of(b);
    let failed: u64 = kinds.iter().map(|k| k.count).sum();
    if failed == 0 {
        return String::new();
    }
    let t = &b.metrics.request_totals;
    let of_all = if t.successful == 0 && t.incomplete == 0 {
        format!("all {} failed", requests(failed))
    } else {
        let total = t.total.max(failed);
        format!("{failed} of {} failed", requests(total))
    };
    let show = |m: &str| one_line(m, MESSAGE_CHARS_SHOWN);
    let kind = |k: &KindErrors| one_line(&k.kind, 40);
    if let [only] = kinds.as_slice() {
        if let [(message, n)] = only.messages.as_slice() {
            if *n == only.count {
                return format!("{label}: {of_all} ({}): {}\n", kind(only), show(message));
            }
        }
    }
    let mut out = format!("{label}: {of_all}, by kind:\n");
    for k in &kinds {
        out.push_str(&format!("  {}: {}\n", kind(k), requests(k.count)));
        let shown = &k.messages[..k.messages.len().min(MESSAGES_SHOWN)];
        let width = shown
            .iter()
            .map(|m| m.1.to_string().len())
            .max()
            .unwrap_or(1);
        for (message, n) in shown {
            let n = crate::console::pad_left(&n.to_string(), width);
            out.push_str(&format!("    {n} x {}\n", show(message)));
        }
        let listed: u64 = shown.iter().map(|m| m.1).sum();
        let rest = k.count.saturating_sub(listed);
        if rest > 0 {
            out.push_str(&format!("    {} with other messages\n", requests(rest)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guidellm::wire::{Metrics, RequestExtras, RequestInfo};

    fn errored(kind: Option<&str>, status: Option<u16>, error: &str) -> RequestStats {
        RequestStats {
            info: RequestInfo {
                status: "errored".into(),
                error: Some(error.into()),
                ..Default::default()
            },
            llmload: kind.map(|k| RequestExtras {
                error_kind: Some(k.into()),
                http_status: status,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn bench(llmload: Option<Value>, records: Vec<RequestStats>, ok: u64, err: u64) -> Benchmark {
        let metrics = serde_json::to_value(Metrics::default()).expect("metrics serialize");
        let mut b: crate::guidellm::wire::Benchmark = serde_json::from_value(json!({
            "type_": "generative_benchmark",
            "config": {"id_": "", "run_id": "", "run_index": 0, "strategy": {"type_": "constant", "rate": 5.0},
                "constraints": {}, "sample_requests": null,
                "warmup": {"percent": null, "value": null, "mode": "prefer_duration"},
                "cooldown": {"percent": null, "value": null, "mode": "prefer_duration"},
                "prefer_response_metrics": true, "profile": {}, "requests": {}, "backend": {}, "environment": {}},
            "scheduler_state": {},
            "scheduler_metrics": {"start_time": 0.0, "request_start_time": 0.0, "measure_start_time": 0.0,
                "measure_end_time": 0.0, "request_end_time": 0.0, "end_time": 0.0,
                "requests_made": {"successful": 0, "errored": 0, "incomplete": 0, "total": 0},
                "queued_time_avg": 0.0, "resolve_start_delay_avg": 0.0, "resolve_targeted_start_delay_avg": 0.0,
                "request_start_delay_avg": 0.0, "request_targeted_start_delay_avg": 0.0, "request_time_avg": 0.0,
                "resolve_end_delay_avg": 0.0, "resolve_time_avg": 0.0, "finalized_delay_avg": 0.0,
                "processed_delay_avg": 0.0},
            "metrics": metrics,
            "requests": {"successful": [], "errored": [], "incomplete": [], "total": null},
            "start_time": 0.0, "end_time": 0.0, "duration": 0.0, "warmup_duration": 0.0, "cooldown_duration": 0.0
        }))
        .expect("a benchmark");
        b.metrics.request_totals.successful = ok;
        b.metrics.request_totals.errored = err;
        b.metrics.request_totals.total = ok + err;
        b.requests.errored = records;
        b.llmload = llmload;
        Benchmark::from_wire(&b).expect("a benchmark of the model")
    }

    #[test]
    fn one_message_for_every_request_is_said_plainly() {
        let x = json!({
            "errors_by_kind": {"http_status": 4},
            "error_messages": {"http_status": [
                {"message": "HTTP 404: The model `x` does not exist.", "count": 4}
            ]},
        });
        let said = console_lines("constant@5.00", &bench(Some(x), vec![], 0, 4));
        assert_eq!(
            said,
            "constant@5.00: all 4 requests failed (http_status): HTTP 404: The model `x` does not exist.\n"
        );
    }

    #[test]
    fn several_messages_are_listed_by_kind_most_frequent_first() {
        let x = json!({
            "errors_by_kind": {"http_status": 9, "stream_reset": 1},
            "error_messages": {
                "http_status": [
                    {"message": "HTTP 500: boom", "count": 5},
                    {"message": "HTTP 400: too long\nreally", "count": 2},
                    {"message": "HTTP 429: slow down", "count": 1},
                    {"message": "HTTP 503: later", "count": 1},
                ],
                "stream_reset": [{"message": "connection closed", "count": 1}],
            },
        });
        let b = bench(Some(x), vec![], 30, 10);
        let said = console_lines("constant@5.00", &b);
        let lines: Vec<&str> = said.lines().collect();
        assert_eq!(
            lines,
            [
                "constant@5.00: 10 of 40 requests failed, by kind:",
                "  http_status: 9 requests",
                "    5 x HTTP 500: boom",
                "    2 x HTTP 400: too long really",
                "    1 x HTTP 429: slow down",
                "    1 request with other messages",
                "  stream_reset: 1 request",
                "    1 x connection closed",
            ]
        );
    }

    #[test]
    fn guidellm_reports_are_read_from_their_records() {
        let records = vec![
            errored(None, None, "HTTPStatusError: 404 Not Found"),
            errored(None, None, "HTTPStatusError: 404 Not Found"),
            // llmload's own record format: the kind prefix is not repeated.
            errored(
                Some("http_status"),
                Some(404),
                "http_status 404: no such model",
            ),
        ];
        let kinds = of(&bench(None, records, 0, 3));
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert_eq!(kinds[0].kind, "error");
        assert_eq!(
            kinds[0].messages,
            [("HTTPStatusError: 404 Not Found".to_string(), 2)]
        );
        assert_eq!(
            kinds[1].messages,
            [("HTTP 404: no such model".to_string(), 1)]
        );
        assert_eq!(console_lines("x", &bench(None, vec![], 3, 0)), "");
    }

    #[test]
    fn long_messages_are_cut_on_one_line() {
        let long = format!("{}\n\tend", "a".repeat(300));
        let cut = one_line(&long, 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with('…') && !cut.contains('\n'), "{cut}");
        assert_eq!(one_line("  a \n\n b  ", 20), "a b");
    }
}

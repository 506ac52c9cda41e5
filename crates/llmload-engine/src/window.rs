//! Warmup and cooldown: which part of a benchmark is measured (the
//! settings are llmload-core's [`TransientPhase`]).
//!
//! The configuration follows GuideLLM 0.4 (`--warmup 0.1` is a fraction,
//! `--warmup 30` is 30 seconds or 30 requests, or a JSON object with
//! `percent`, `value`, `mode`). The effect does not: GuideLLM keeps every
//! request that *overlaps* the measurement window, so requests started in
//! warmup leak into the metrics (its issue #1078). llmload measures exactly
//! the requests that *start* inside the window.

use std::time::Duration;

use llmload_clock::Timestamp;
use llmload_core::{Constraints, TransientPhase};
use llmload_metrics::Measured;

/// The measurement window of a finished benchmark and how requests are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// `true`: requests that start inside; `false`: GuideLLM's overlap rule.
    pub by_start: bool,
}

/// Place the window: `base` is `[first intended send, deadline or last end]`.
pub fn measure<R: Measured>(
    base: (Timestamp, Timestamp),
    records: &[R],
    c: &Constraints,
    warmup: &TransientPhase,
    cooldown: &TransientPhase,
) -> Window {
    let (start, end) = base;
    if !warmup.is_set() && !cooldown.is_set() {
        return Window {
            start,
            end,
            by_start: false,
        };
    }
    let mut starts: Vec<Timestamp> = records.iter().filter_map(R::request_start_time).collect();
    starts.sort();
    let after = |n: u64| starts.get(n as usize).copied().unwrap_or(end);
    let w = warmup.resolve(c);
    let mut m_start = start;
    if let Some(s) = w.secs {
        m_start = m_start.max(start + Duration::from_secs_f64(s));
    }
    if let Some(n) = w.requests.filter(|&n| n > 0) {
        m_start = m_start.max(after(n));
    }
    let cd = cooldown.resolve(c);
    let mut m_end = end;
    if let (Some(s), Some(total)) = (cd.secs, c.max_seconds) {
        m_end = m_end.min(start + Duration::from_secs_f64((total - s).max(0.0)));
    }
    if let Some(n) = cd.requests.filter(|&n| n > 0) {
        let total = starts.len() as u64;
        m_end = m_end.min(if n >= total { start } else { after(total - n) });
    }
    Window {
        start: m_start,
        end: m_end.max(m_start),
        by_start: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_metrics::RequestRecord;

    #[test]
    fn windows_select_by_start() {
        let one_second = Constraints {
            max_seconds: Some(1.0),
            ..Default::default()
        };
        let ten_requests = Constraints {
            max_requests: Some(10),
            ..Default::default()
        };
        let t = |ms: u64| Timestamp::from_nanos(1_000_000_000_000 + ms * 1_000_000);
        let records: Vec<RequestRecord> = (0..10)
            .map(|i| {
                let mut r = RequestRecord::new(llmload_metrics::RequestType::ChatCompletions, 0);
                r.timings.request_start = Some(t(i * 100));
                r.timings.request_end = Some(t(i * 100 + 50));
                r
            })
            .collect();
        let none = TransientPhase::default();
        let base = (t(0), t(1000));
        assert!(!measure(base, &records, &one_second, &none, &none).by_start);
        let w = measure(
            base,
            &records,
            &one_second,
            &TransientPhase::parse("w", "0.25").unwrap(),
            &none,
        );
        assert_eq!((w.start, w.end, w.by_start), (t(250), t(1000), true));
        let w = measure(
            base,
            &records,
            &ten_requests,
            &TransientPhase::parse("w", "3").unwrap(),
            &TransientPhase::parse("c", "2").unwrap(),
        );
        // Requests 3..8 (starting at 300..700 ms) are measured.
        assert_eq!((w.start, w.end), (t(300), t(800)));
    }
}

//! The tables printed at the end of a run: GuideLLM-like, fitting in 100 columns.

use crate::guidellm::wire::Ds;
use crate::model::ext::{Stop, Verdict};
use crate::model::{Benchmark, Results};

/// A table with a two-row header (group over name) and right-aligned numbers.
struct Table {
    title: String,
    groups: Vec<String>,
    names: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn render(&self, out: &mut String) {
        let n = self.names.len();
        let mut width = vec![0usize; n];
        for (i, w) in width.iter_mut().enumerate() {
            *w = self.names[i].chars().count();
            for r in &self.rows {
                *w = (*w).max(r[i].chars().count());
            }
        }
        // Columns of one group are separated by a space, groups by " | ".
        let mut spans: Vec<(String, usize, usize)> = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            match spans.last_mut() {
                Some((name, _, end)) if name == g => *end = i,
                _ => spans.push((g.clone(), i, i)),
            }
        }
        let span_width =
            |width: &[usize], s: usize, e: usize| width[s..=e].iter().sum::<usize>() + (e - s);
        for (g, s, e) in &spans {
            let w = span_width(&width, *s, *e);
            if g.chars().count() > w {
                width[*e] += g.chars().count() - w;
            }
        }
        let cells = |values: &dyn Fn(usize) -> String| -> String {
            let mut line = String::from("|");
            for (_, s, e) in &spans {
                let parts: Vec<String> = (*s..=*e)
                    .map(|i| {
                        let (v, w) = (values(i), width[i]);
                        if i == 0 {
                            pad_right(&v, w)
                        } else {
                            pad_left(&v, w)
                        }
                    })
                    .collect();
                line.push_str(&format!(" {} |", parts.join(" ")));
            }
            line
        };
        let group_line = {
            let mut line = String::from("|");
            for (g, s, e) in &spans {
                let w = span_width(&width, *s, *e);
                line.push_str(&format!(" {} |", pad_right(g, w)));
            }
            line
        };
        let total = group_line.chars().count();
        out.push_str(&self.title);
        out.push('\n');
        out.push_str(&"=".repeat(total));
        out.push('\n');
        out.push_str(&group_line);
        out.push('\n');
        out.push_str(&cells(&|i| self.names[i].clone()));
        out.push('\n');
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&cells(&|i| r[i].clone()));
            out.push('\n');
        }
        out.push_str(&"=".repeat(total));
        out.push('\n');
    }
}

/// `s` padded with spaces on the right to `w` characters. (Not `{:<w$}`:
/// a width past `u16::MAX`, from a very long label, panics there.)
pub fn pad_right(s: &str, w: usize) -> String {
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len() + w.saturating_sub(n));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
    out
}

/// `s` padded with spaces on the left to `w` characters.
pub fn pad_left(s: &str, w: usize) -> String {
    let n = s.chars().count();
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(n)).collect();
    out.push_str(s);
    out
}

/// A number in at most 7 characters: `0.123`, `12.35`, `123.5`, `12346`,
/// `123456`, `1.2e7`, `4.0e-5`, and `NaN`, `inf`, `-inf` as themselves.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        String::from(if x > 0.0 { "inf" } else { "-inf" })
    } else if x == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{x:.1e}")
    } else if a >= 10_000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The strategy label of a benchmark (`constant@5.00`, `synchronous`, ...).
pub fn strategy_label(b: &Benchmark) -> String {
    b.label()
}

fn mmp(d: &Ds) -> [String; 3] {
    [num(d.mean), num(d.median), num(d.percentiles.p99)]
}

/// The end-of-run tables.
pub fn render(report: &Results) -> String {
    let mut out = String::new();
    let bs = &report.benchmarks;
    let summary = Table {
        title: "Benchmarks".into(),
        groups: [
            "Benchmark",
            "Time",
            "Requests",
            "Requests",
            "Requests",
            "Requests",
            "Requests",
            "Tokens/s",
            "Tokens/s",
        ]
        .map(String::from)
        .to_vec(),
        names: [
            "Strategy", "Dur s", "Done", "Inc", "Err", "Per s", "Conc", "Output", "Total",
        ]
        .map(String::from)
        .to_vec(),
        rows: bs
            .iter()
            .map(|b| {
                let m = &b.metrics;
                vec![
                    strategy_label(b),
                    num(b.duration),
                    m.request_totals.successful.to_string(),
                    m.request_totals.incomplete.to_string(),
                    m.request_totals.errored.to_string(),
                    num(m.requests_per_second.total.mean),
                    num(m.request_concurrency.total.mean),
                    num(crate::figures::output_tokens_per_second(b)),
                    num(crate::figures::total_tokens_per_second(b)),
                ]
            })
            .collect(),
    };
    summary.render(&mut out);
    out.push('\n');
    let groups: Vec<String> = std::iter::once("Benchmark")
        .chain(["TTFT ms"; 3])
        .chain(["ITL ms"; 3])
        .chain(["TPOT ms"; 3])
        .chain(["Latency s"; 3])
        .map(String::from)
        .collect();
    let names: Vec<String> = std::iter::once("Strategy")
        .chain(["Mean", "Mdn", "p99"].repeat(4))
        .map(String::from)
        .collect();
    let latency = Table {
        title: "Request Latency (Completed Requests)".into(),
        groups,
        names,
        rows: bs
            .iter()
            .map(|b| {
                let m = &b.metrics;
                let mut row = vec![strategy_label(b)];
                for d in [
                    &m.time_to_first_token_ms.successful,
                    &m.inter_token_latency_ms.successful,
                    &m.time_per_output_token_ms.successful,
                    &m.request_latency.successful,
                ] {
                    row.extend(mmp(d));
                }
                row
            })
            .collect(),
    };
    latency.render(&mut out);
    let server: Vec<Vec<String>> = bs
        .iter()
        .filter_map(|b| {
            let sm = b.ext.server_metrics.as_ref()?;
            Some(crate::server::table_row(&strategy_label(b), sm))
        })
        .collect();
    if !server.is_empty() {
        out.push('\n');
        let groups = [
            "Benchmark",
            "Running",
            "Running",
            "Waiting",
            "Waiting",
            "KV cache %",
            "KV cache %",
            "TTFT ms",
            "TTFT ms",
            "Requests",
            "Requests",
            "Out tokens",
            "Out tokens",
        ];
        let names = [
            "Strategy", "Mean", "Max", "Mean", "Max", "Mean", "Max", "p50", "p99", "Server",
            "llmload", "Server", "llmload",
        ];
        Table {
            title: "The Server (its /metrics, during each benchmark)".into(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            names: names.iter().map(|s| s.to_string()).collect(),
            rows: server,
        }
        .render(&mut out);
    }
    for b in bs {
        out.push_str(&crate::errors::console_lines(&strategy_label(b), b));
        if let Some(stop) = b.ext.stopped_sending.as_ref().and_then(stopped_early) {
            out.push_str(&format!("{}: stopped early: {stop}\n", strategy_label(b)));
        }
        if let Some(sm) = &b.ext.server_metrics {
            out.push_str(&crate::server::console_lines(&strategy_label(b), sm));
        }
        if let Some(c) = &b.ext.prefix_cache {
            out.push_str(&format!(
                "{}: prefix cache hit {}% of prompt tokens ({} of {}, as the server reported)\n",
                strategy_label(b),
                num(c.hit_percent),
                c.cached_tokens,
                c.prompt_tokens
            ));
            if !c.by_turn.is_empty() {
                let each: Vec<String> = c
                    .by_turn
                    .iter()
                    .map(|t| format!("turn {} {}%", t.turn_index, num(t.hit_percent)))
                    .collect();
                out.push_str(&format!(
                    "{}: prefix cache hit by turn: {}\n",
                    strategy_label(b),
                    each.join(", ")
                ));
            }
        }
    }
    verdicts(report, &mut out);
    out
}

/// Why a benchmark stopped sending before its limits, in words (`None` when
/// it ran to `--max-seconds` or `--max-requests`): the reason, and the
/// detail where it says more than the reason does.
fn stopped_early(stop: &Stop) -> Option<String> {
    let reason = stop.reason.as_str();
    if reason.is_empty() || matches!(reason, "max_seconds" | "max_requests") {
        return None;
    }
    let detail = crate::errors::one_line(&stop.detail, 200);
    let words = reason.replace('_', " ");
    Some(
        if detail.is_empty() || detail == reason || detail == words {
            words
        } else if detail.starts_with(reason) || detail.starts_with(&words) {
            detail
        } else {
            format!("{words}: {detail}")
        },
    )
}

/// One verdict (`llmload.verdict` of a benchmark, or a search step) in one
/// line: the asked rate, the rate the server served the requests due at
/// (`achieved`: first tokens, docs/metrics.md; not the summary's Per s,
/// which counts finished requests over the whole benchmark) and whose doing
/// the outcome was.
pub fn verdict_line(v: &Verdict) -> String {
    let rate = |x: Option<f64>| x.map_or("-".into(), num);
    let reasons = &v.reasons;
    let outcome = match v.outcome.as_deref() {
        Some("sustained") => "sustained".to_string(),
        Some("saturated") => format!("saturated: {}", reasons.join("; ")),
        Some("invalid") => format!(
            "INVALID MEASUREMENT, not counted against the server: {}",
            reasons.join("; ")
        ),
        _ => "not judged".to_string(),
    };
    format!(
        "{} req/s asked, {} req/s served: {outcome}",
        rate(v.rate),
        rate(v.achieved)
    )
}

/// Did the server keep up with each rate, and was each rate measured?
fn verdicts(report: &Results, out: &mut String) {
    let judged: Vec<(String, &Verdict)> = report
        .benchmarks
        .iter()
        .filter_map(|b| Some((strategy_label(b), b.ext.verdict.as_ref()?)))
        .collect();
    if judged.is_empty() {
        return;
    }
    out.push_str("\nVerdicts (did the server keep up with the asked rate?)\n");
    for (label, v) in &judged {
        out.push_str(&format!("  {label}: {}\n", verdict_line(v)));
    }
    if let Some(s) = &report.ext.search {
        match s.best_rate {
            Some(best) => out.push_str(&format!(
                "Max-throughput search: the server sustained {} req/s{}\n",
                num(best),
                if s.client_ceiling.is_some() {
                    " at least"
                } else {
                    ""
                }
            )),
            None => out.push_str("Max-throughput search: no rate was sustained\n"),
        }
        if let Some(c) = s.client_ceiling {
            out.push_str(&format!(
                "WARNING: from {} req/s up llmload could not hold its own schedule on this host \
                 (host CPU, not the server): the server's maximum may be higher\n",
                num(c)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_short() {
        assert_eq!(num(53.83790532747904), "53.84");
        assert_eq!(num(0.36124940713246656), "0.361");
        assert_eq!(num(1234.5678), "1234.6");
        assert_eq!(num(123456.0), "123456");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1e300), "1.0e300");
        assert_eq!(num(-12345678.0), "-1.2e7");
        assert_eq!(num(0.00004), "4.0e-5");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn a_stop_reason_is_said_once() {
        let stop = |reason: &str, detail: &str| {
            stopped_early(&Stop {
                reason: reason.into(),
                at: None,
                detail: detail.into(),
            })
        };
        assert_eq!(
            stop("interrupted", "interrupted").as_deref(),
            Some("interrupted")
        );
        assert_eq!(
            stop("interrupted", "aborted").as_deref(),
            Some("interrupted: aborted")
        );
        assert_eq!(
            stop("max_errors", "5 requests errored (max 5)").as_deref(),
            Some("max errors: 5 requests errored (max 5)")
        );
        assert_eq!(
            stop("requests_exhausted", "").as_deref(),
            Some("requests exhausted")
        );
        assert_eq!(stop("max_seconds", "10 s elapsed"), None);
    }

    #[test]
    fn cells_pad_to_any_width() {
        assert_eq!(pad_right("ab", 4), "ab  ");
        assert_eq!(pad_left("ab", 4), "  ab");
        assert_eq!(pad_left("abcdef", 4), "abcdef");
        // Past u16::MAX, where `{:>w$}` panics.
        let long = "x".repeat(70_000);
        assert_eq!(pad_left("é", 70_001).chars().count(), 70_001);
        let t = Table {
            title: "t".into(),
            groups: vec!["g".into(), "g".into()],
            names: vec!["a".into(), "b".into()],
            rows: vec![vec![long.clone(), String::new()], vec![String::new(), long]],
        };
        let mut out = String::new();
        t.render(&mut out);
        assert_eq!(out.lines().count(), 8);
    }
}

//! The HTML report: one self-contained page (inline CSS, SVG and a few
//! lines of script, nothing fetched) built from the [`Results`] of a run (either schema), so it renders
//! offline and re-exports GuideLLM's own reports too.
//!
//! Sections: headline figures; load against latency across benchmarks (one
//! point per benchmark); the summary table; per benchmark its statistics,
//! latency histograms, TTFT/ITL/concurrency over the run and errors by kind;
//! the configuration.

mod axis;
mod chart;
mod series;

use std::fmt::Write;

use serde_json::Value;

use crate::console::strategy_label;
use crate::guidellm::wire::Ds;
use crate::model::{Benchmark, Results};
use chart::{short, Body, Chart, Point, Series};

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// A number in four significant digits, without trailing zeros.
pub fn short_number(v: f64) -> String {
    short(v)
}

/// Escape text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn arg<'a>(report: &'a Results, key: &str) -> Option<&'a Value> {
    report.asked(key)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Achieved successful requests per second.
fn achieved(b: &Benchmark) -> f64 {
    b.metrics.requests_per_second.successful.mean
}

/// The asked rate of constant/poisson benchmarks.
fn asked(b: &Benchmark) -> Option<f64> {
    b.strategy.rate()
}

/// The whole page.
pub fn render(report: &Results) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let model = report
        .model
        .clone()
        .unwrap_or_else(|| "model not recorded".into());
    let target = arg(report, "target").map(text).unwrap_or_default();
    let profile = arg(report, "profile")
        .or_else(|| arg(report, "rate_type"))
        .map(text)
        .unwrap_or_default();
    let started = report
        .benchmarks
        .first()
        .map(|b| format_epoch(b.start_time))
        .unwrap_or_default();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>llmload report: {}</title><style>{CSS}</style></head><body><header><h1>Benchmark report</h1><p class="sub">{} &middot; {} &middot; {} profile &middot; {} &middot; {} benchmark{}</p></header><main>"#,
        esc(&model),
        esc(&model),
        esc(&target),
        esc(&profile),
        esc(&started),
        report.benchmarks.len(),
        if report.benchmarks.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    kpis(&mut h, report);
    overview(&mut h, report);
    summary_table(&mut h, report);
    h.push_str(r#"<section id="benchmarks"><h2>Benchmarks in detail</h2>"#);
    for (i, b) in report.benchmarks.iter().enumerate() {
        benchmark_section(&mut h, i, b);
    }
    h.push_str("</section>");
    configuration(&mut h, report);
    let _ = write!(
        h,
        r#"</main><footer>Written by llmload {}. Self-contained: this file loads nothing from the network.</footer><div id="errors" hidden></div><script>{JS}</script></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// `2026-11-22 14:03:07 UTC` from epoch seconds.
fn format_epoch(secs: f64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn kpis(h: &mut String, report: &Results) {
    let bs = &report.benchmarks;
    let best = bs.iter().max_by(|a, b| achieved(a).total_cmp(&achieved(b)));
    let tps = bs
        .iter()
        .map(crate::figures::output_tokens_per_second)
        .fold(0.0, f64::max);
    // Saturating: the counts are whatever the file says.
    let (ok, err, inc) = bs.iter().fold((0u64, 0u64, 0u64), |acc, b| {
        let t = &b.metrics.request_totals;
        (
            acc.0.saturating_add(t.successful),
            acc.1.saturating_add(t.errored),
            acc.2.saturating_add(t.incomplete),
        )
    });
    let lightest = bs
        .iter()
        .filter(|b| b.metrics.request_totals.successful > 0)
        .min_by(|a, b| achieved(a).total_cmp(&achieved(b)));
    let card = |h: &mut String, label: &str, value: String, note: String| {
        let _ = write!(
            h,
            r#"<div class="kpi"><div class="v">{}</div><div class="l">{}</div><div class="n">{}</div></div>"#,
            esc(&value),
            esc(label),
            esc(&note)
        );
    };
    h.push_str(r#"<section class="kpis">"#);
    card(
        h,
        "best achieved requests/s",
        best.map_or("—".into(), |b| short(achieved(b))),
        best.map(strategy_label).unwrap_or_default(),
    );
    card(
        h,
        "peak output tokens/s",
        short(tps),
        "successful requests".into(),
    );
    card(
        h,
        "requests",
        ok.to_string(),
        format!("{err} errored, {inc} incomplete"),
    );
    card(
        h,
        "error rate",
        if ok == 0 && err == 0 {
            "—".into()
        } else {
            format!("{:.1} %", 100.0 * err as f64 / (ok as f64 + err as f64))
        },
        "errored / finished".into(),
    );
    if let Some(b) = lightest {
        card(
            h,
            "TTFT p50 at the lightest load",
            format!(
                "{} ms",
                short(b.metrics.time_to_first_token_ms.successful.median)
            ),
            strategy_label(b),
        );
    }
    h.push_str("</section>");
}

/// A percentile series across benchmarks, x = achieved requests/s.
fn across(
    report: &Results,
    name: &str,
    pick: impl Fn(&Ds) -> f64,
    get: impl Fn(&Benchmark) -> &Ds,
    unit: &str,
) -> Series {
    Series {
        name: name.into(),
        points: report
            .benchmarks
            .iter()
            .map(|b| {
                let y = pick(get(b));
                Point {
                    x: achieved(b),
                    y,
                    tip: format!(
                        "{}: {} {unit} at {} req/s",
                        strategy_label(b),
                        short(y),
                        short(achieved(b))
                    ),
                }
            })
            .collect(),
        line: true,
        markers: true,
    }
}

fn overview(h: &mut String, report: &Results) {
    if report.benchmarks.is_empty() {
        return;
    }
    h.push_str(r#"<section id="overview"><h2>Load against latency</h2><p class="note">One point per benchmark, at its achieved rate of successful requests. Hover a point for its benchmark.</p><div class="grid">"#);
    type Getter = fn(&Benchmark) -> &Ds;
    let metrics: [(&str, &str, Getter); 4] = [
        ("Time to first token", "ms", |b| {
            &b.metrics.time_to_first_token_ms.successful
        }),
        ("Inter-token latency", "ms", |b| {
            &b.metrics.inter_token_latency_ms.successful
        }),
        ("Time per output token", "ms", |b| {
            &b.metrics.time_per_output_token_ms.successful
        }),
        ("Request latency (E2E)", "s", |b| {
            &b.metrics.request_latency.successful
        }),
    ];
    for (title, unit, get) in metrics {
        let chart = Chart {
            title: format!("{title} ({unit})"),
            x_label: "achieved requests/s".into(),
            y_label: unit.into(),
            body: Body::Series(vec![
                across(report, "p50", |d| d.percentiles.p50, get, unit),
                across(report, "p90", |d| d.percentiles.p90, get, unit),
                across(report, "p99", |d| d.percentiles.p99, get, unit),
            ]),
            diagonal: false,
        };
        h.push_str(&chart.render());
    }
    // Throughput against the asked rate (closed-loop benchmarks have none:
    // they sit at their achieved rate, on the diagonal).
    let x = |b: &Benchmark| asked(b).unwrap_or_else(|| achieved(b));
    let point = |b: &Benchmark, y: f64, unit: &str| Point {
        x: x(b),
        y,
        tip: format!(
            "{}: {} {unit}{}",
            strategy_label(b),
            short(y),
            match asked(b) {
                Some(r) => format!(" asked {} req/s", short(r)),
                None => " (no asked rate)".into(),
            }
        ),
    };
    let rps = Chart {
        title: "Achieved against asked rate (requests/s)".into(),
        x_label: "asked requests/s".into(),
        y_label: "achieved requests/s".into(),
        body: Body::Series(vec![Series {
            name: "achieved".into(),
            points: report
                .benchmarks
                .iter()
                .map(|b| point(b, achieved(b), "req/s"))
                .collect(),
            line: true,
            markers: true,
        }]),
        diagonal: true,
    };
    h.push_str(&rps.render());
    let tps = Chart {
        title: "Output tokens/s against asked rate".into(),
        x_label: "asked requests/s".into(),
        y_label: "output tokens/s".into(),
        body: Body::Series(vec![Series {
            name: "output tokens/s".into(),
            points: report
                .benchmarks
                .iter()
                .map(|b| point(b, crate::figures::output_tokens_per_second(b), "tok/s"))
                .collect(),
            line: true,
            markers: true,
        }]),
        diagonal: false,
    };
    h.push_str(&tps.render());
    h.push_str("</div></section>");
}

fn summary_table(h: &mut String, report: &Results) {
    h.push_str(r#"<section id="summary"><h2>Summary</h2><div class="scroll"><table class="num"><thead><tr><th rowspan="2">Benchmark</th><th rowspan="2">Duration s</th><th colspan="3">Requests</th><th colspan="2">Rate</th><th colspan="3">TTFT ms</th><th colspan="3">ITL ms</th><th colspan="3">TPOT ms</th><th colspan="3">Latency s</th><th rowspan="2">Output tok/s</th></tr><tr><th>ok</th><th>inc</th><th>err</th><th>req/s</th><th>conc.</th>"#);
    for _ in 0..4 {
        h.push_str("<th>mean</th><th>p50</th><th>p99</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for b in &report.benchmarks {
        let m = &b.metrics;
        let _ = write!(
            h,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&strategy_label(b)),
            short(b.duration),
            m.request_totals.successful,
            m.request_totals.incomplete,
            m.request_totals.errored,
            short(achieved(b)),
            short(m.request_concurrency.successful.mean)
        );
        for d in [
            &m.time_to_first_token_ms.successful,
            &m.inter_token_latency_ms.successful,
            &m.time_per_output_token_ms.successful,
            &m.request_latency.successful,
        ] {
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td>",
                short(d.mean),
                short(d.percentiles.p50),
                short(d.percentiles.p99)
            );
        }
        let _ = write!(
            h,
            "<td>{}</td></tr>",
            short(crate::figures::output_tokens_per_second(b))
        );
    }
    h.push_str("</tbody></table></div></section>");
}

fn stats_row(h: &mut String, name: &str, d: &Ds) {
    let p = &d.percentiles;
    let _ = write!(h, "<tr><th>{}</th>", esc(name));
    for v in [d.mean, p.p50, p.p90, p.p95, p.p99, d.min, d.max, d.std_dev] {
        let _ = write!(h, "<td>{}</td>", short(v));
    }
    let _ = write!(h, "<td>{}</td></tr>", d.count);
}

fn benchmark_section(h: &mut String, i: usize, b: &Benchmark) {
    let label = strategy_label(b);
    let t = &b.metrics.request_totals;
    let _ = write!(
        h,
        r#"<details class="bench" id="b{i}"{}><summary><span class="name">{}</span> <span class="meta">{} ok &middot; {} incomplete &middot; {} errored &middot; {} req/s &middot; {} s</span></summary>"#,
        if i == 0 { " open" } else { "" },
        esc(&label),
        t.successful,
        t.incomplete,
        t.errored,
        short(achieved(b)),
        short(b.duration)
    );
    h.push_str(r#"<div class="scroll"><table class="num"><thead><tr><th>successful requests</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>min</th><th>max</th><th>std dev</th><th>count</th></tr></thead><tbody>"#);
    let m = &b.metrics;
    stats_row(h, "TTFT ms", &m.time_to_first_token_ms.successful);
    stats_row(h, "ITL ms", &m.inter_token_latency_ms.successful);
    stats_row(h, "TPOT ms", &m.time_per_output_token_ms.successful);
    stats_row(h, "Request latency s", &m.request_latency.successful);
    stats_row(h, "Requests/s", &m.requests_per_second.successful);
    stats_row(h, "Concurrency", &m.request_concurrency.successful);
    stats_row(h, "Prompt tokens", &m.prompt_token_count.successful);
    stats_row(h, "Output tokens", &m.output_token_count.successful);
    stats_row(h, "Output tokens/s", &m.output_tokens_per_second.successful);
    h.push_str("</tbody></table></div>");
    let charts = series::charts(b);
    if charts.sampled {
        let _ = write!(
            h,
            r#"<p class="note">Charts below use the {} request records kept in the report (of {} requests).</p>"#,
            charts.records, t.total
        );
    }
    h.push_str(r#"<div class="grid">"#);
    for c in &charts.charts {
        h.push_str(&c.render());
    }
    h.push_str("</div>");
    let errors = series::errors(b);
    if !errors.is_empty() {
        h.push_str(r#"<h3>Errors by kind</h3><table><thead><tr><th>kind</th><th>count</th><th>example</th></tr></thead><tbody>"#);
        for (kind, count, example) in errors {
            let _ = write!(
                h,
                "<tr><th>{}</th><td class=\"n\">{count}</td><td>{}</td></tr>",
                esc(&kind),
                esc(&example)
            );
        }
        h.push_str("</tbody></table>");
    }
    prefix_cache(h, b);
    if let Some(stop) = &b.ext.stopped_sending {
        let _ = write!(
            h,
            r#"<p class="note">Stopped sending: {} ({}).</p>"#,
            esc(&stop.reason),
            esc(&stop.detail)
        );
    }
    h.push_str("</details>");
}

/// The server's prefix-cache hits (as its usage reported them), overall
/// and per turn of multi-turn conversations.
fn prefix_cache(h: &mut String, b: &Benchmark) {
    let Some(c) = &b.ext.prefix_cache else {
        return;
    };
    h.push_str(r#"<h3>Prefix cache</h3><table class="num"><thead><tr><th></th><th>requests</th><th>prompt tokens</th><th>cached tokens</th><th>hit %</th></tr></thead><tbody>"#);
    let row = |h: &mut String, name: &str, (n, prompt, cached, hit): (u64, u64, u64, f64)| {
        let _ = write!(
            h,
            r#"<tr><th>{}</th><td class="n">{n}</td><td class="n">{prompt}</td><td class="n">{cached}</td><td class="n">{}</td></tr>"#,
            esc(name),
            short(hit)
        );
    };
    row(
        h,
        "all",
        (c.requests, c.prompt_tokens, c.cached_tokens, c.hit_percent),
    );
    for t in &c.by_turn {
        row(
            h,
            &format!("turn {}", t.turn_index),
            (t.requests, t.prompt_tokens, t.cached_tokens, t.hit_percent),
        );
    }
    h.push_str("</tbody></table>");
}

fn configuration(h: &mut String, report: &Results) {
    h.push_str(r#"<section id="config"><h2>Configuration</h2><table class="kv"><tbody>"#);
    for (k, v) in &report.asked {
        let _ = write!(
            h,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(&text(v))
        );
    }
    let x = &report.ext;
    for (key, v) in [
        ("version", &x.version),
        ("run_id", &x.run_id),
        ("platform", &x.platform),
    ] {
        if let Some(v) = v {
            let _ = write!(
                h,
                "<tr><th>llmload {key}</th><td><code>{}</code></td></tr>",
                esc(v)
            );
        }
    }
    h.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

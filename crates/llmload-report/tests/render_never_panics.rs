//! No renderer panics on a report that parses, whatever numbers it holds.
//!
//! Reports are made from GuideLLM 0.4.0's own (`../shared/fixtures`):
//! benchmarks dropped, duplicated (up to a search's worth), request lists
//! cut to a few records or none, and any number field set to 0, -0, NaN,
//! ±inf, ±1e300, ±f64::MAX, -1, subnormals, values one ulp apart, or
//! anything; counts to 0, 1 or u64::MAX; strategies and labels to every
//! kind, empty or 70 000 characters long. Every output (HTML, console, CSV,
//! YAML, JSON) and every report tool (compare, certified row, SLO verdicts
//! and goodput, monotonicity) must return, and the HTML's SVG coordinates
//! must all be finite numbers.

use std::path::PathBuf;

use llmload_report::guidellm::wire::{Benchmark, Requests};
use llmload_report::model::{Results, Schema};
use llmload_report::{compare, console, csv, html, monotonic, slo, Format, Report};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::json;

mod render;

use render::*;

/// The numbers of every SVG coordinate attribute in `page` (one pass over
/// each `<svg>`: attribute values are the text between quotes, which the
/// page escapes everywhere else).
fn svg_coordinates(page: &str) -> Vec<&str> {
    const ATTRS: [&str; 12] = [
        "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "points",
    ];
    let mut out = Vec::new();
    for svg in page.split("<svg").skip(1) {
        let svg = svg.split("</svg>").next().unwrap_or_default();
        let mut parts = svg.split('"');
        let mut before = parts.next().unwrap_or_default();
        while let (Some(value), Some(after)) = (parts.next(), parts.next()) {
            let name = before
                .strip_suffix('=')
                .and_then(|b| b.rsplit([' ', '<']).next())
                .unwrap_or_default();
            let value = if ATTRS.contains(&name) {
                Some(value)
            } else if name == "transform" {
                value
                    .strip_prefix("translate(")
                    .and_then(|v| v.split(')').next())
            } else {
                None
            };
            if let Some(v) = value {
                out.extend(v.split([' ', ',']).filter(|n| !n.is_empty()));
            }
            before = after;
        }
    }
    out
}

fn check_svg(page: &str) -> Result<(), TestCaseError> {
    for n in svg_coordinates(page) {
        prop_assert!(
            n.parse::<f64>().is_ok_and(f64::is_finite),
            "SVG coordinate {n:?} is not a finite number"
        );
    }
    Ok(())
}

/// Which outputs to render.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outputs {
    /// HTML, console, CSV, YAML, JSON and the report tools.
    All,
    /// As `All`, YAML and JSON of the first benchmark only, with at most
    /// two records of each status.
    SerdeFirst,
    /// As `All` but YAML and JSON.
    NoSerde,
    /// HTML, console and the report tools: what looks across benchmarks
    /// (the CSV's rows are each a benchmark's alone).
    AcrossBenchmarks,
}

/// The HTML page and the console tables of `r`.
fn readers(r: &Results, outputs: Outputs) -> Result<(), TestCaseError> {
    let page = html::render(r);
    prop_assert!(page.ends_with("</html>"));
    if outputs == Outputs::AcrossBenchmarks {
        // The charts across benchmarks (each benchmark's own are the other
        // test's, with fewer benchmarks and quicker to check).
        let end = page
            .find(r#"<section id="benchmarks">"#)
            .unwrap_or(page.len());
        check_svg(&page[..end])?;
    } else {
        check_svg(&page)?;
    }
    let tables = console::render(r);
    prop_assert!(tables.contains("Benchmarks"));
    Ok(())
}

/// Every renderer and report tool on `r`.
fn render_everything(r: &Report, outputs: Outputs) -> Result<(), TestCaseError> {
    let report = r;
    // A report whose strategies are not GuideLLM's has no results model:
    // its readers say so (the HTML renderer returns an error), the 0.4
    // writers below still write it.
    let model = Results::from_report(report, Schema::V04);
    if let Ok(r) = &model {
        readers(r, outputs)?;
    } else {
        prop_assert!(report.render(Format::Html).is_err());
    }
    let r = report;
    if outputs != Outputs::AcrossBenchmarks {
        let text = csv::to_csv(r);
        let rows = if r.benchmarks.is_empty() {
            0
        } else {
            3 + r.benchmarks.len()
        };
        prop_assert_eq!(text.lines().count(), rows);
        prop_assert!(r.render(Format::Csv).is_ok());
    }
    let first;
    let serde_of = match outputs {
        Outputs::All => Some(r),
        Outputs::SerdeFirst => {
            let mut benchmarks: Vec<Benchmark> = r.benchmarks.iter().take(1).cloned().collect();
            for b in &mut benchmarks {
                for status in 0..3 {
                    records(b, status).truncate(2);
                }
            }
            first = Report {
                args: r.args.clone(),
                benchmarks,
                llmload: r.llmload.clone(),
            };
            Some(&first)
        }
        _ => None,
    };
    let order: Vec<String> = monotonic::DEFAULT_ORDER.map(String::from).to_vec();
    if let Some(s) = serde_of {
        let yaml = s.to_yaml().map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert!(yaml.starts_with("args:"));
        let json = s.to_json().map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert!(
            json.starts_with('{'),
            "JSON: {}",
            &json[..json.len().min(40)]
        );
        // Monotonicity from the report as JSON (non-finite numbers are
        // null there).
        let doc = serde_json::to_value(s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(points) = monotonic::points("r.json", &doc) {
            let _ = monotonic::check(&points, 0.05, &order);
        }
    }

    let Ok(r) = &model else {
        return Ok(());
    };
    // The report tools that take a report.
    let limits: Vec<(&'static compare::Metric, f64)> =
        compare::METRICS.iter().map(|m| (m, 0.1)).collect();
    let base =
        &Results::from_report(&fixtures()[2].skeleton, Schema::V04).map_err(TestCaseError::fail)?;
    let _ = compare::compare(base, r, &limits);
    let _ = compare::compare(r, base, &limits);
    let _ = compare::compare(r, r, &limits);
    let _ = compare::certified_row(r, "m", "L40S");
    for b in &r.benchmarks {
        let _ = compare::sustained(b);
        for uc in slo::use_cases() {
            let _ = uc.judge(b);
            let _ = slo::goodput_of(uc, b);
        }
    }
    // Monotonicity from the numbers as they are.
    let typed: Vec<monotonic::Point> = r
        .benchmarks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let m = &b.metrics;
            monotonic::Point {
                file: format!("b{i}"),
                model: "m".into(),
                scenario: "s".into(),
                accelerator: ["H100", "L4"][i % 2].into(),
                accelerator_count: 1,
                kind: b.strategy.type_name().into(),
                rate: b.strategy.rate().unwrap_or(b.duration),
                achieved: m.requests_per_second.successful.mean,
                ttft_ms: m.time_to_first_token_ms.successful.median,
                itl_ms: m.inter_token_latency_ms.successful.median,
                latency_s: m.request_latency.successful.median,
                output_tps: m.output_tokens_per_second.successful.mean,
                outcome: None,
            }
        })
        .collect();
    let _ = monotonic::check(&typed, 0.05, &order);
    let _ = monotonic::check(&typed, f64::NAN, &order);
    Ok(())
}

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    /// One to three benchmarks: every output.
    #[test]
    fn no_renderer_panics_on_any_report(plan in plan(1..4, true)) {
        let outputs = if plan.serde { Outputs::SerdeFirst } else { Outputs::NoSerde };
        render_everything(&build(&plan), outputs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000) / 50,
        max_shrink_iters: 500,
        ..ProptestConfig::default()
    })]

    /// A search's worth of benchmarks: what looks across them.
    #[test]
    fn no_renderer_panics_on_many_benchmarks(plan in plan(8..25, false)) {
        render_everything(&build(&plan), Outputs::AcrossBenchmarks)?;
    }
}

/// The fixtures themselves, untouched, and a report with no benchmarks.
#[test]
fn fixtures_and_an_empty_report_render() {
    for f in fixtures() {
        let mut r = f.skeleton.clone();
        for (b, reqs) in r.benchmarks.iter_mut().zip(&f.requests) {
            b.requests = reqs.clone();
        }
        render_everything(&r, Outputs::All).unwrap();
    }
    let empty = Report {
        args: json!({}),
        benchmarks: Vec::new(),
        llmload: None,
    };
    render_everything(&empty, Outputs::All).unwrap();
    assert!(html::render(&Results::default()).contains("0 benchmarks"));
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmload-render-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The report that made `tick_label` panic ("Formatting argument out of
/// range"): a max-throughput search whose steps each finished one or two
/// requests with identical values, so the achieved rates (and latencies)
/// were equal but for rounding noise, an axis step came out 0 and its
/// label's precision `usize::MAX`.
fn search_with_one_or_two_requests_per_step() -> Report {
    let f = &fixtures()[1];
    let mut r = f.skeleton.clone();
    let template = r.benchmarks[0].clone();
    let record = f.requests[0].successful[0].clone();
    r.benchmarks = (0..8)
        .map(|k| {
            let mut b = template.clone();
            b.config.strategy = json!({"type_": "constant", "rate": 2f64.powi(k)});
            let n = 1 + (k as usize % 2);
            b.requests = Requests {
                successful: vec![record.clone(); n],
                ..Requests::default()
            };
            let m = &mut b.metrics;
            m.request_totals = Default::default();
            m.request_totals.successful = n as u64;
            m.request_totals.total = n as u64;
            // Means of equal values: equal but for the last bit.
            let noisy = |v: f64| if k % 2 == 0 { v } else { v + v * f64::EPSILON };
            for (d, v) in [
                (&mut m.time_to_first_token_ms.successful, 41.0),
                (&mut m.inter_token_latency_ms.successful, 7.0),
                (&mut m.time_per_output_token_ms.successful, 7.5),
                (&mut m.request_latency.successful, 0.3),
                (&mut m.output_tokens_per_second.successful, 120.0),
            ] {
                set_dist(d, noisy(v));
                d.std_dev = 0.0;
                d.variance = 0.0;
                d.count = n as u64;
            }
            m.requests_per_second.successful.mean = noisy(1.0);
            b
        })
        .collect();
    r
}

#[test]
fn a_search_with_one_or_two_equal_requests_per_step_writes_every_format() {
    let r = search_with_one_or_two_requests_per_step();
    let page = html::render(&Results::from_report(&r, Schema::V04).unwrap());
    check_svg(&page).unwrap();
    // (The check sees the coordinates: circles, polylines, ticks.)
    let coordinates = svg_coordinates(&page);
    assert!(coordinates.len() > 1000, "{}", coordinates.len());
    assert!(svg_coordinates(r#"<svg><circle cx="NaN" cy="1"/></svg>"#) == ["NaN", "1"]);
    assert_eq!(page.matches("<details class=\"bench\"").count(), 8);
    render_everything(&r, Outputs::All).unwrap();
    let dir = temp_dir("search");
    let files: Vec<(Format, PathBuf)> = [Format::Html, Format::Csv, Format::Yaml, Format::Json]
        .map(|f| (f, dir.join(f.file_name())))
        .to_vec();
    for (format, path, result) in r.write_each(&files) {
        result.unwrap_or_else(|e| panic!("{}: {e}", format.name()));
        assert!(std::fs::metadata(path).unwrap().len() > 0);
    }
    // The JSON reads back to the same report.
    assert_eq!(Report::load(&dir.join("benchmarks.json")).unwrap(), r);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One output that cannot be written does not stop the others; the JSON
/// goes first whatever the order asked.
#[test]
fn each_format_is_written_on_its_own_json_first() {
    let f = &fixtures()[0];
    let r = f.skeleton.clone();
    let dir = temp_dir("each");
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let files = vec![
        (Format::Html, blocker.join("benchmarks.html")),
        (Format::Csv, dir.join("benchmarks.csv")),
        (Format::Json, dir.join("benchmarks.json")),
    ];
    let done = r.write_each(&files);
    let order: Vec<&str> = done.iter().map(|d| d.0.name()).collect();
    assert_eq!(order, ["json", "html", "csv"]);
    assert!(done[0].2.is_ok() && done[1].2.is_err() && done[2].2.is_ok());
    assert!(dir.join("benchmarks.csv").exists() && dir.join("benchmarks.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The last line of defence: a panic inside comes out as an error naming
/// where and why, and the thread goes on.
#[test]
fn a_panicking_renderer_becomes_an_error() {
    let e = llmload_report::guarded(|| -> String { panic!("broken renderer {}", 7) }).unwrap_err();
    assert!(e.0.contains("broken renderer 7"), "{e}");
    assert!(e.0.contains("render_never_panics.rs:"), "where: {e}");
    let nested = llmload_report::guarded(|| llmload_report::guarded(|| -> u8 { panic!("inner") }));
    assert!(nested.unwrap().unwrap_err().0.contains("inner"));
    assert_eq!(llmload_report::guarded(|| 5).unwrap(), 5);
}

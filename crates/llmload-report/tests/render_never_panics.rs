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

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llmload_report::guidellm::wire::{Benchmark, Ds, Metrics, RequestStats, Requests, Sds};
use llmload_report::{compare, console, csv, html, monotonic, slo, Format, Report};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

/// A fixture: the report with its benchmarks' request lists emptied (cheap
/// to clone), and the lists apart.
struct Fixture {
    skeleton: Report,
    requests: Vec<Requests>,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.4.0")
}

fn fixtures() -> &'static [Fixture] {
    static F: OnceLock<Vec<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        ["mock-constant5", "vllm-constant2", "vllm-sweep4"]
            .iter()
            .map(|name| {
                let path = fixture_dir().join(format!("{name}-benchmarks.json"));
                let mut skeleton = Report::load(&path).unwrap();
                let requests = skeleton
                    .benchmarks
                    .iter_mut()
                    .map(|b| std::mem::take(&mut b.requests))
                    .collect();
                Fixture { skeleton, requests }
            })
            .collect()
    })
}

/// Numbers that have broken renderers, and any others.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            -1.0,
            1.0,
            1.0000000000000002,
            0.30000000000000004,
            5e-324,
            1e-300,
            1e-7,
            1e15,
            42.0,
        ]),
        1 => any::<f64>(),
        1 => -1e4..1e4f64,
    ]
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(1), Just(2), Just(u64::MAX), 0..1_000_000u64]
}

/// Text that has broken renderers: empty, markup, longer than a format width.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => Just("<svg>&\"'</svg>".to_string()),
        // Past u16::MAX, the most a format width may be.
        1 => Just("x".repeat(65_600)),
        3 => "[a-zé ]{0,12}",
    ]
}

fn strategy_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        number().prop_map(|r| json!({"type_": "constant", "rate": finite_or_null(r)})),
        number().prop_map(|r| json!({"type_": "poisson", "rate": finite_or_null(r)})),
        Just(json!({"type_": "synchronous"})),
        Just(json!({"type_": "throughput"})),
        count().prop_map(|c| json!({"type_": "throughput", "max_concurrency": c})),
        count().prop_map(|c| json!({"type_": "concurrent", "streams": c})),
        text().prop_map(|t| json!({"type_": t, "rate": "fast"})),
        Just(json!({})),
        Just(Value::Null),
    ]
}

/// JSON carries finite numbers only.
fn finite_or_null(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One change to a report.
#[derive(Clone, Debug)]
enum Edit {
    /// A benchmark's own number (times, durations, scheduler averages).
    Top { bench: usize, field: usize, v: f64 },
    /// One number of one distribution.
    Dist {
        bench: usize,
        metric: usize,
        status: usize,
        field: usize,
        v: f64,
    },
    /// Every number of one distribution.
    WholeDist {
        bench: usize,
        metric: usize,
        status: usize,
        v: f64,
    },
    /// A request count.
    Count { bench: usize, field: usize, v: u64 },
    /// A number of a request record (`None`: absent).
    Record {
        bench: usize,
        status: usize,
        index: usize,
        field: usize,
        v: Option<f64>,
    },
    /// The scheduling strategy.
    Strategy { bench: usize, strategy: Value },
    /// A label or message.
    Text {
        bench: usize,
        field: usize,
        s: String,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let b = 0..64usize;
    prop_oneof![
        1 => (b.clone(), 0..17usize, number()).prop_map(|(bench, field, v)| Edit::Top {
            bench,
            field,
            v
        }),
        6 => (b.clone(), 0..15usize, 0..4usize, 0..19usize, number()).prop_map(
            |(bench, metric, status, field, v)| Edit::Dist {
                bench,
                metric,
                status,
                field,
                v
            }
        ),
        2 => (b.clone(), 0..15usize, 0..4usize, number()).prop_map(|(bench, metric, status, v)| {
            Edit::WholeDist {
                bench,
                metric,
                status,
                v,
            }
        }),
        1 => (b.clone(), 0..8usize, count()).prop_map(|(bench, field, v)| Edit::Count { bench, field, v }),
        3 => (
            b.clone(),
            0..3usize,
            0..4usize,
            0..10usize,
            prop::option::weighted(0.8, number())
        )
            .prop_map(|(bench, status, index, field, v)| Edit::Record {
                bench,
                status,
                index,
                field,
                v
            }),
        1 => (b.clone(), strategy_value()).prop_map(|(bench, strategy)| Edit::Strategy { bench, strategy }),
        1 => (b, 0..5usize, text()).prop_map(|(bench, field, s)| Edit::Text { bench, field, s }),
    ]
}

/// What to make of a fixture.
#[derive(Clone, Debug)]
struct Plan {
    fixture: usize,
    /// Benchmarks taken (by index, repeats allowed), each with how many
    /// successful, errored and incomplete records it keeps.
    picks: Vec<(usize, [usize; 3])>,
    /// A search's steps: every latency, across benchmarks, this value (and
    /// the achieved rates equal but for rounding noise).
    equal: Option<f64>,
    edits: Vec<Edit>,
    /// Also through serde (YAML, JSON): slow in a debug build, and the same
    /// code for every number, so on some cases only.
    serde: bool,
}

/// Plans of `benchmarks` benchmarks, keeping up to two records of each
/// status, or sometimes (`all_records`) all of them.
fn plan(benchmarks: std::ops::Range<usize>, all_records: bool) -> impl Strategy<Value = Plan> {
    let all = if all_records { 1 } else { 0 };
    let keep = prop_oneof![7 => 0..3usize, all => Just(usize::MAX)];
    let pick = (0..8usize, [keep.clone(), keep.clone(), keep]);
    (
        0..3usize,
        prop::collection::vec(pick, benchmarks),
        prop::option::weighted(0.25, number()),
        prop::collection::vec(edit(), 0..24),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(fixture, picks, equal, edits, serde)| Plan {
            fixture,
            picks,
            equal,
            edits,
            serde,
        })
}

fn sds(m: &mut Metrics, i: usize) -> &mut Sds {
    match i % 15 {
        0 => &mut m.requests_per_second,
        1 => &mut m.request_concurrency,
        2 => &mut m.request_latency,
        3 => &mut m.request_streaming_iterations_count,
        4 => &mut m.prompt_token_count,
        5 => &mut m.output_token_count,
        6 => &mut m.total_token_count,
        7 => &mut m.time_to_first_token_ms,
        8 => &mut m.time_per_output_token_ms,
        9 => &mut m.inter_token_latency_ms,
        10 => &mut m.prompt_tokens_per_second,
        11 => &mut m.output_tokens_per_second,
        12 => &mut m.tokens_per_second,
        13 => &mut m.output_tokens_per_iteration,
        _ => &mut m.iter_tokens_per_iteration,
    }
}

fn status(s: &mut Sds, i: usize) -> &mut Ds {
    match i % 4 {
        0 => &mut s.successful,
        1 => &mut s.errored,
        2 => &mut s.incomplete,
        _ => &mut s.total,
    }
}

fn ds_field(d: &mut Ds, i: usize) -> &mut f64 {
    let p = &mut d.percentiles;
    match i % 19 {
        0 => &mut d.mean,
        1 => &mut d.median,
        2 => &mut d.mode,
        3 => &mut d.variance,
        4 => &mut d.std_dev,
        5 => &mut d.min,
        6 => &mut d.max,
        7 => &mut d.total_sum,
        8 => &mut p.p001,
        9 => &mut p.p01,
        10 => &mut p.p05,
        11 => &mut p.p10,
        12 => &mut p.p25,
        13 => &mut p.p50,
        14 => &mut p.p75,
        15 => &mut p.p90,
        16 => &mut p.p95,
        17 => &mut p.p99,
        _ => &mut p.p999,
    }
}

fn set_dist(d: &mut Ds, v: f64) {
    for i in 0..19 {
        *ds_field(d, i) = v;
    }
}

fn top_field(b: &mut Benchmark, i: usize) -> &mut f64 {
    let sm = &mut b.scheduler_metrics;
    match i % 17 {
        0 => &mut b.start_time,
        1 => &mut b.end_time,
        2 => &mut b.duration,
        3 => &mut b.warmup_duration,
        4 => &mut b.cooldown_duration,
        5 => &mut sm.start_time,
        6 => &mut sm.request_start_time,
        7 => &mut sm.measure_start_time,
        8 => &mut sm.measure_end_time,
        9 => &mut sm.request_end_time,
        10 => &mut sm.end_time,
        11 => &mut sm.queued_time_avg,
        12 => &mut sm.request_time_avg,
        13 => &mut sm.resolve_time_avg,
        14 => &mut sm.request_start_delay_avg,
        15 => &mut sm.finalized_delay_avg,
        _ => &mut sm.processed_delay_avg,
    }
}

fn record_field(r: &mut RequestStats, i: usize) -> &mut Option<f64> {
    match i % 10 {
        0 => &mut r.request_start_time,
        1 => &mut r.request_end_time,
        2 => &mut r.request_latency,
        3 => &mut r.time_to_first_token_ms,
        4 => &mut r.time_per_output_token_ms,
        5 => &mut r.inter_token_latency_ms,
        6 => &mut r.tokens_per_second,
        7 => &mut r.output_tokens_per_second,
        8 => &mut r.iter_tokens_per_iteration,
        _ => &mut r.output_tokens_per_iteration,
    }
}

fn records(b: &mut Benchmark, i: usize) -> &mut Vec<RequestStats> {
    match i % 3 {
        0 => &mut b.requests.successful,
        1 => &mut b.requests.errored,
        _ => &mut b.requests.incomplete,
    }
}

const LATENCIES: [usize; 4] = [2, 7, 8, 9];

fn build(plan: &Plan) -> Report {
    let f = &fixtures()[plan.fixture % fixtures().len()];
    let mut r = Report {
        args: f.skeleton.args.clone(),
        benchmarks: Vec::new(),
        llmload: None,
    };
    for (i, keep) in &plan.picks {
        let i = i % f.skeleton.benchmarks.len();
        let mut b = f.skeleton.benchmarks[i].clone();
        let src = &f.requests[i];
        let take = |v: &[RequestStats], n: usize| v.iter().take(n).cloned().collect();
        b.requests.successful = take(&src.successful, keep[0]);
        b.requests.errored = take(&src.errored, keep[1]);
        b.requests.incomplete = take(&src.incomplete, keep[2]);
        r.benchmarks.push(b);
    }
    if let Some(v) = plan.equal {
        // A max-throughput search's steps with one or two equal requests.
        for (k, b) in r.benchmarks.iter_mut().enumerate() {
            for m in LATENCIES {
                set_dist(&mut sds(&mut b.metrics, m).successful, v);
            }
            b.metrics.requests_per_second.successful.mean =
                if k % 2 == 0 { 1.0 } else { 1.0000000000000002 };
            b.metrics.request_totals.successful = 1 + k as u64 % 2;
            b.config.strategy = json!({"type_": "constant", "rate": 1.0 + k as f64});
            for rec in &mut b.requests.successful {
                for field in 0..10 {
                    *record_field(rec, field) = Some(v);
                }
            }
        }
    }
    let n = r.benchmarks.len();
    if n == 0 {
        return r;
    }
    for e in &plan.edits {
        match e {
            Edit::Top { bench, field, v } => *top_field(&mut r.benchmarks[bench % n], *field) = *v,
            Edit::Dist {
                bench,
                metric,
                status: s,
                field,
                v,
            } => {
                let m = &mut r.benchmarks[bench % n].metrics;
                *ds_field(status(sds(m, *metric), *s), *field) = *v;
            }
            Edit::WholeDist {
                bench,
                metric,
                status: s,
                v,
            } => {
                let m = &mut r.benchmarks[bench % n].metrics;
                set_dist(status(sds(m, *metric), *s), *v);
            }
            Edit::Count { bench, field, v } => {
                let b = &mut r.benchmarks[bench % n];
                let t = &mut b.metrics.request_totals;
                let made = &mut b.scheduler_metrics.requests_made;
                *match field % 8 {
                    0 => &mut t.successful,
                    1 => &mut t.errored,
                    2 => &mut t.incomplete,
                    3 => &mut t.total,
                    4 => &mut made.successful,
                    5 => &mut made.errored,
                    6 => &mut made.incomplete,
                    _ => &mut made.total,
                } = *v;
            }
            Edit::Record {
                bench,
                status: s,
                index,
                field,
                v,
            } => {
                let list = records(&mut r.benchmarks[bench % n], *s);
                let len = list.len();
                if len > 0 {
                    *record_field(&mut list[index % len], *field) = *v;
                }
            }
            Edit::Strategy { bench, strategy } => {
                r.benchmarks[bench % n].config.strategy = strategy.clone();
            }
            Edit::Text { bench, field, s } => {
                let b = &mut r.benchmarks[bench % n];
                match field % 5 {
                    0 => b.type_ = s.clone(),
                    1 => b.config.backend = json!({ "model": s }),
                    2 => r.args = json!({ "model": s, "target": s, "profile": s, "data": [s] }),
                    3 => {
                        b.llmload = Some(json!({
                            "errors_by_kind": { s.clone(): 3 },
                            "stopped_sending": { "reason": s, "detail": s },
                        }));
                    }
                    _ => {
                        if let Some(rec) = b.requests.errored.first_mut() {
                            rec.info.error = Some(s.clone());
                        }
                    }
                }
            }
        }
    }
    r
}

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

/// Every renderer and report tool on `r`.
fn render_everything(r: &Report, outputs: Outputs) -> Result<(), TestCaseError> {
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

    // The report tools that take a report.
    let limits: Vec<(&'static compare::Metric, f64)> =
        compare::METRICS.iter().map(|m| (m, 0.1)).collect();
    let base = &fixtures()[2].skeleton;
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
                rate: b.config.strategy["rate"].as_f64().unwrap_or(b.duration),
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
    assert!(html::render(&empty).contains("0 benchmarks"));
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
    let page = html::render(&r);
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

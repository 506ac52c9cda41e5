//! Reports to render: GuideLLM 0.4.0's fixtures, mutated (see the test's doc).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llmload_report::guidellm::wire::{Benchmark, Ds, Metrics, RequestStats, Requests, Sds};
use llmload_report::Report;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A fixture: the report with its benchmarks' request lists emptied (cheap
/// to clone), and the lists apart.
pub struct Fixture {
    pub skeleton: Report,
    pub requests: Vec<Requests>,
}

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.4.0")
}

pub fn fixtures() -> &'static [Fixture] {
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
pub fn number() -> impl Strategy<Value = f64> {
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

pub fn count() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(1), Just(2), Just(u64::MAX), 0..1_000_000u64]
}

/// Text that has broken renderers: empty, markup, longer than a format width.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => Just("<svg>&\"'</svg>".to_string()),
        // Past u16::MAX, the most a format width may be.
        1 => Just("x".repeat(65_600)),
        3 => "[a-zé ]{0,12}",
    ]
}

pub fn strategy_value() -> impl Strategy<Value = Value> {
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
pub fn finite_or_null(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One change to a report.
#[derive(Clone, Debug)]
pub enum Edit {
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

pub fn edit() -> impl Strategy<Value = Edit> {
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
pub struct Plan {
    pub fixture: usize,
    /// Benchmarks taken (by index, repeats allowed), each with how many
    /// successful, errored and incomplete records it keeps.
    pub picks: Vec<(usize, [usize; 3])>,
    /// A search's steps: every latency, across benchmarks, this value (and
    /// the achieved rates equal but for rounding noise).
    pub equal: Option<f64>,
    pub edits: Vec<Edit>,
    /// Also through serde (YAML, JSON): slow in a debug build, and the same
    /// code for every number, so on some cases only.
    pub serde: bool,
}

/// Plans of `benchmarks` benchmarks, keeping up to two records of each
/// status, or sometimes (`all_records`) all of them.
pub fn plan(benchmarks: std::ops::Range<usize>, all_records: bool) -> impl Strategy<Value = Plan> {
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

pub fn sds(m: &mut Metrics, i: usize) -> &mut Sds {
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

pub fn status(s: &mut Sds, i: usize) -> &mut Ds {
    match i % 4 {
        0 => &mut s.successful,
        1 => &mut s.errored,
        2 => &mut s.incomplete,
        _ => &mut s.total,
    }
}

pub fn ds_field(d: &mut Ds, i: usize) -> &mut f64 {
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

pub fn set_dist(d: &mut Ds, v: f64) {
    for i in 0..19 {
        *ds_field(d, i) = v;
    }
}

pub fn top_field(b: &mut Benchmark, i: usize) -> &mut f64 {
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

pub fn record_field(r: &mut RequestStats, i: usize) -> &mut Option<f64> {
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

pub fn records(b: &mut Benchmark, i: usize) -> &mut Vec<RequestStats> {
    match i % 3 {
        0 => &mut b.requests.successful,
        1 => &mut b.requests.errored,
        _ => &mut b.requests.incomplete,
    }
}

pub const LATENCIES: [usize; 4] = [2, 7, 8, 9];

pub fn build(plan: &Plan) -> Report {
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

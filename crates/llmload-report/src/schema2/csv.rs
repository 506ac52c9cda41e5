//! `benchmarks.csv` in GuideLLM 0.8.1's layout (`benchmark/outputs/csv.py`),
//! written from a schema-2 report (llmload's or GuideLLM's own): three
//! header rows (group, name, unit), one row per benchmark, columns aligned
//! across benchmarks by header (a column a benchmark lacks is empty), the
//! 0.8 groups (dispatch and turn delays, time to first output token, round
//! trips, scheduler state and metrics, runtime info, confidence intervals).

use serde_json::Value;

use crate::csv::{py_json, quote, timestamp};
use crate::pyfmt::py_float;

/// One benchmark's columns, in order.
#[derive(Default)]
struct Row {
    headers: Vec<[String; 3]>,
    values: Vec<String>,
}

/// A value as Python's csv module writes it.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => py_json(other, false),
    }
}

impl Row {
    fn field(&mut self, group: &str, name: &str, units: &str, value: String) {
        self.headers.push([group.into(), name.into(), units.into()]);
        self.values.push(value);
    }

    /// Mean, median, std dev and the percentile list of one distribution.
    fn dist(&mut self, d: &Value, group: &str, units: &str, status: Option<&str>) {
        let name = match status {
            Some(s) => format!("{s} {units}"),
            None => units.to_string(),
        };
        let f = |v: &Value| py_float(v.as_f64().unwrap_or(0.0));
        self.field(group, &name, "Mean", f(&d["mean"]));
        self.field(group, &name, "Median", f(&d["median"]));
        self.field(group, &name, "Std Dev", f(&d["std_dev"]));
        let p = &d["percentiles"];
        let list: Vec<String> = std::iter::once(&d["min"])
            .chain(
                [
                    "p001", "p01", "p05", "p10", "p25", "p75", "p90", "p95", "p99",
                ]
                .map(|k| &p[k]),
            )
            .chain(std::iter::once(&d["max"]))
            .map(f)
            .collect();
        self.field(
            group,
            &name,
            "Percentiles",
            format!("[{}]", list.join(", ")),
        );
    }

    /// Each status of a status distribution whose values do not sum to 0
    /// (nothing when the metric is null).
    fn metric(&mut self, m: &Value, group: &str, units: &str) {
        for (key, label) in STATUSES {
            let d = &m[key];
            if d.is_object() && d["total_sum"].as_f64().unwrap_or(0.0) != 0.0 {
                self.dist(d, group, units, Some(label));
            }
        }
    }
}

const STATUSES: [(&str, &str); 3] = [
    ("successful", "Successful"),
    ("incomplete", "Incomplete"),
    ("errored", "Errored"),
];

/// A modality's key, title and `(metric key, label)`s.
type Modality = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The modalities and their metrics, as 0.8.1's `MODALITY_METRICS`.
const MODALITIES: [Modality; 5] = [
    (
        "text",
        "Text",
        &[
            ("tokens", "Tokens"),
            ("words", "Words"),
            ("characters", "Characters"),
        ],
    ),
    (
        "image",
        "Image",
        &[
            ("tokens", "Tokens"),
            ("images", "Images"),
            ("pixels", "Pixels"),
            ("bytes", "Bytes"),
        ],
    ),
    (
        "video",
        "Video",
        &[
            ("tokens", "Tokens"),
            ("frames", "Frames"),
            ("seconds", "Seconds"),
            ("bytes", "Bytes"),
        ],
    ),
    (
        "audio",
        "Audio",
        &[
            ("tokens", "Tokens"),
            ("samples", "Samples"),
            ("seconds", "Seconds"),
            ("bytes", "Bytes"),
        ],
    ),
    (
        "tool_call",
        "Tool Call",
        &[
            ("tokens", "Tokens"),
            ("mixed_tokens", "Mixed Tokens"),
            ("count", "Count"),
        ],
    ),
];

/// `str(strategy)` as GuideLLM 0.8.1 writes it.
fn strategy(s: &Value) -> String {
    let kind = s["type_"].as_str().unwrap_or("");
    let rate = || s["rate"].as_f64().unwrap_or(0.0);
    match kind {
        "concurrent" => format!("concurrent@{}", s["streams"]),
        "throughput" => match s["max_concurrency"].as_u64() {
            Some(n) => format!("throughput@{n}"),
            None => "throughput@unlimited".into(),
        },
        "constant" | "poisson" => format!("{kind}@{:.2}", rate()),
        other => other.to_string(),
    }
}

fn stamp(v: &Value) -> String {
    v.as_f64().map(timestamp).unwrap_or_default()
}

fn benchmark(doc: &Value, b: &Value) -> Row {
    let mut r = Row::default();
    let c = &b["config"];
    let json = |v: &Value| py_json(v, false);
    r.field("Run Info", "Run ID", "", cell(&c["run_id"]));
    r.field("Run Info", "Run Index", "", cell(&c["run_index"]));
    r.field("Run Info", "Profile", "", json(&c["profile"]));
    r.field("Run Info", "Requests", "", json(&c["requests"]));
    r.field("Run Info", "Backend", "", json(&c["backend"]));
    r.field("Run Info", "Environment", "", json(&c["environment"]));
    r.field("Benchmark", "Type", "", cell(&b["type_"]));
    r.field("Benchmark", "ID", "", cell(&c["id_"]));
    r.field("Benchmark", "Strategy", "", strategy(&c["strategy"]));
    r.field("Benchmark", "Constraints", "", json(&c["constraints"]));
    let sm = &b["scheduler_metrics"];
    for (name, key) in [
        ("Start Time", "start_time"),
        ("Request Start Time", "request_start_time"),
        ("Measure Start Time", "measure_start_time"),
        ("Measure End Time", "measure_end_time"),
        ("Request End Time", "request_end_time"),
        ("End Time", "end_time"),
    ] {
        r.field("Timings", name, "", stamp(&sm[key]));
    }
    for (name, key) in [
        ("Duration", "duration"),
        ("Warmup", "warmup_duration"),
        ("Cooldown", "cooldown_duration"),
    ] {
        r.field("Timings", name, "Sec", cell(&b[key]));
    }
    let m = &b["metrics"];
    for (key, label) in STATUSES.iter().copied().chain([("total", "Total")]) {
        r.field("Request Counts", label, "", cell(&m["request_totals"][key]));
    }
    r.metric(&m["request_latency"], "Request Latency", "Sec");
    for (key, group) in [
        ("request_dispatch_delay", "Dispatch Delay"),
        ("turn_predecessor_delay", "Turn Predecessor Delay"),
        ("turn_scheduling_delay", "Turn Scheduling Delay"),
        ("request_scheduled_latency", "Scheduled Latency"),
    ] {
        r.metric(&m[key], group, "Sec");
    }
    r.metric(
        &m["request_streaming_iterations_count"],
        "Streaming Iterations",
        "Count",
    );
    for (key, group) in [
        ("time_to_first_token_ms", "Time to First Token"),
        (
            "time_to_first_output_token_ms",
            "Time to First Output Token",
        ),
        ("time_per_output_token_ms", "Time per Output Token"),
        ("inter_token_latency_ms", "Inter Token Latency"),
        ("time_to_last_round_trip_ms", "Time To Last Round Trip"),
        ("avg_round_trip_time_ms", "Avg Round Trip Time"),
    ] {
        r.metric(&m[key], group, "ms");
    }
    r.metric(
        &m["requests_per_second"],
        "Server Throughput",
        "Requests/Sec",
    );
    r.metric(
        &m["request_concurrency"],
        "Server Throughput",
        "Concurrency",
    );
    if !c["slo"].is_null() {
        let goodput = &m["request_goodput"]["successful"]["mean"];
        r.field(
            "Server Throughput",
            "Successful Goodput/Sec",
            "mean",
            cell(goodput),
        );
        r.field(
            "Server Throughput",
            "SLO Attainment",
            "",
            cell(&m["slo_attainment"]),
        );
    }
    for (key, group, units) in [
        ("prompt_token_count", "Token Metrics", "Input Tokens"),
        ("output_token_count", "Token Metrics", "Output Tokens"),
        ("total_token_count", "Token Metrics", "Total Tokens"),
        (
            "prompt_tokens_per_second",
            "Token Throughput",
            "Input Tokens/Sec",
        ),
        (
            "output_tokens_per_second",
            "Token Throughput",
            "Output Tokens/Sec",
        ),
        ("tokens_per_second", "Token Throughput", "Total Tokens/Sec"),
        (
            "output_tokens_per_iteration",
            "Token Streaming",
            "Output Tokens/Iter",
        ),
        (
            "iter_tokens_per_iteration",
            "Token Streaming",
            "Iter Tokens/Iter",
        ),
    ] {
        r.metric(&m[key], group, units);
    }
    for (modality, title, metrics) in MODALITIES {
        for (name, label) in metrics {
            for (io, io_label) in [("input", "Input"), ("output", "Output"), ("total", "Total")] {
                let d = &m[modality][name][io];
                let has_data = STATUSES
                    .iter()
                    .any(|(s, _)| d[s]["count"].as_u64().unwrap_or(0) > 0);
                if has_data {
                    r.metric(d, &format!("{title} {label}"), io_label);
                }
            }
        }
    }
    let st = &b["scheduler_state"];
    for (name, key) in [
        ("Node ID", "node_id"),
        ("Num Processes", "num_processes"),
        ("Created Requests", "created_requests"),
        ("Processed Requests", "processed_requests"),
        ("Successful Requests", "successful_requests"),
        ("Errored Requests", "errored_requests"),
        ("Cancelled Requests", "cancelled_requests"),
    ] {
        r.field("Scheduler State", name, "", cell(&st[key]));
    }
    for (when, what, at, constraints) in [
        (
            "End Queuing Time",
            "End Queuing Constraints",
            "end_queuing_time",
            "end_queuing_constraints",
        ),
        (
            "End Processing Time",
            "End Processing Constraints",
            "end_processing_time",
            "end_processing_constraints",
        ),
    ] {
        if st[at].as_f64().is_some_and(|t| t != 0.0) {
            r.field("Scheduler State", when, "", stamp(&st[at]));
            r.field("Scheduler State", what, "", json(&st[constraints]));
        }
    }
    let made = &sm["requests_made"];
    for (key, label) in STATUSES.iter().copied().chain([("total", "Total")]) {
        r.field(
            "Scheduler Metrics",
            &format!("Requests Made {label}"),
            "",
            cell(&made[key]),
        );
    }
    for (name, key) in [
        ("Queued Time Avg", "queued_time_avg"),
        ("Resolve Start Delay Avg", "resolve_start_delay_avg"),
        (
            "Resolve Targeted Start Delay Avg",
            "resolve_targeted_start_delay_avg",
        ),
        ("Request Start Delay Avg", "request_start_delay_avg"),
        (
            "Request Targeted Start Delay Avg",
            "request_targeted_start_delay_avg",
        ),
        ("Request Time Avg", "request_time_avg"),
        ("Resolve End Delay Avg", "resolve_end_delay_avg"),
        ("Resolve Time Avg", "resolve_time_avg"),
        ("Finalized Delay Avg", "finalized_delay_avg"),
        ("Processed Delay Avg", "processed_delay_avg"),
    ] {
        r.field("Scheduler Metrics", name, "Sec", cell(&sm[key]));
    }
    if sm["generation_delay"].is_object() {
        r.dist(&sm["generation_delay"], "Generation Delay", "Sec", None);
    }
    r.field(
        "Runtime Info",
        "Metadata",
        "",
        py_json(&doc["metadata"], true),
    );
    r.field(
        "Runtime Info",
        "Arguments",
        "",
        py_json(&doc["config"], true),
    );
    intervals(&mut r, b);
    r
}

/// The confidence-interval columns, after every other column.
fn intervals(r: &mut Row, b: &Value) {
    r.field(
        "Measurement Uncertainty",
        "Confidence Level",
        "",
        cell(&b["config"]["confidence"]),
    );
    let m = &b["metrics"];
    for (key, group, units) in [
        ("request_latency", "Request Latency", "Sec"),
        ("request_dispatch_delay", "Dispatch Delay", "Sec"),
        ("request_scheduled_latency", "Scheduled Latency", "Sec"),
        (
            "request_streaming_iterations_count",
            "Streaming Iterations",
            "Count",
        ),
        ("time_to_first_token_ms", "Time to First Token", "ms"),
        (
            "time_to_first_output_token_ms",
            "Time to First Output Token",
            "ms",
        ),
        (
            "time_to_last_round_trip_ms",
            "Time To Last Round Trip",
            "ms",
        ),
        ("avg_round_trip_time_ms", "Avg Round Trip Time", "ms"),
        ("prompt_token_count", "Token Metrics", "Input Tokens"),
        ("output_token_count", "Token Metrics", "Output Tokens"),
        ("total_token_count", "Token Metrics", "Total Tokens"),
    ] {
        if !m[key].is_object() {
            continue;
        }
        for (s, label) in STATUSES {
            let d = &m[key][s];
            if d["total_sum"].as_f64().unwrap_or(0.0) == 0.0 {
                continue;
            }
            let name = format!("{label} {units}");
            let ci = &d["mean_ci"];
            let mean_ci = if ci.is_object() {
                format!("[{}, {}]", cell(&ci["lower"]), cell(&ci["upper"]))
            } else {
                String::new()
            };
            r.field(group, &name, "Mean CI", mean_ci);
            let pcis = match &d["percentile_cis"] {
                Value::Object(p) => {
                    let items: Vec<String> = p
                        .iter()
                        .map(|(k, v)| {
                            let b = if v.is_object() {
                                format!("[{},{}]", cell(&v["lower"]), cell(&v["upper"]))
                            } else {
                                "null".into()
                            };
                            format!("\"{k}\":{b}")
                        })
                        .collect();
                    format!("{{{}}}", items.join(","))
                }
                _ => String::new(),
            };
            r.field(group, &name, "Percentile CIs", pcis);
        }
    }
}

/// The CSV text of a schema-2 report.
pub fn to_csv(doc: &Value) -> String {
    let rows: Vec<Row> = doc["benchmarks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| benchmark(doc, b))
        .collect();
    // Columns in first-seen order across benchmarks.
    let mut order: Vec<&[String; 3]> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        for h in &r.headers {
            if seen.insert(h) {
                order.push(h);
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<&str>| {
        let quoted: Vec<String> = cells.into_iter().map(quote).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    };
    for k in 0..3 {
        line(&mut out, order.iter().map(|h| h[k].as_str()).collect());
    }
    for r in &rows {
        let by: std::collections::HashMap<&[String; 3], &str> = r
            .headers
            .iter()
            .zip(&r.values)
            .map(|(h, v)| (h, v.as_str()))
            .collect();
        line(
            &mut out,
            order
                .iter()
                .map(|h| by.get(h).copied().unwrap_or(""))
                .collect(),
        );
    }
    out
}

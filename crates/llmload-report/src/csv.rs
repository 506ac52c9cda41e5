//! `benchmarks.csv` in GuideLLM 0.4's layout: three header rows (group,
//! name, unit), one row per benchmark, the same column groups in the same
//! order, each distribution as Mean / Median / Std Dev / Percentiles, and
//! values formatted as Python writes them.

use std::fmt::Write;

use serde_json::Value;

use crate::guidellm::wire::{Benchmark, Ds, MetricsSummary, Report, Sds};
use crate::pyfmt::py_float;

/// One cell, before CSV quoting.
enum Cell {
    Str(String),
    Int(u64),
    Float(f64),
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Cell::Str(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => py_float(*f),
        }
    }
}

#[derive(Default)]
struct Columns {
    headers: Vec<[String; 3]>,
    values: Vec<Cell>,
}

impl Columns {
    fn field(&mut self, group: &str, name: &str, units: &str, value: Cell) {
        self.headers.push([group.into(), name.into(), units.into()]);
        self.values.push(value);
    }

    fn dist(&mut self, d: &Ds, group: &str, units: &str, status: Option<&str>) {
        let name = match status {
            Some(s) => format!("{}{} {units}", s[..1].to_uppercase(), &s[1..]),
            None => units.to_string(),
        };
        let p = &d.percentiles;
        let pct = format!(
            "[{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]",
            py_float(d.min),
            py_float(p.p001),
            py_float(p.p01),
            py_float(p.p05),
            py_float(p.p10),
            py_float(p.p25),
            py_float(p.p75),
            py_float(p.p90),
            py_float(p.p95),
            py_float(p.p99),
            py_float(d.max)
        );
        for (stat, v) in [
            ("Mean", Cell::Float(d.mean)),
            ("Median", Cell::Float(d.median)),
            ("Std Dev", Cell::Float(d.std_dev)),
            ("Percentiles", Cell::Str(pct)),
        ] {
            self.headers.push([group.into(), name.clone(), stat.into()]);
            self.values.push(v);
        }
    }

    /// A status-split metric: one block per status that has data.
    fn metric(&mut self, m: &Sds, group: &str, units: &str) {
        for (status, d) in [
            ("successful", &m.successful),
            ("incomplete", &m.incomplete),
            ("errored", &m.errored),
        ] {
            if d.total_sum != 0.0 {
                self.dist(d, group, units, Some(status));
            }
        }
    }
}

/// JSON as Python's `json.dumps` writes it (`", "` and `": "`, ASCII only),
/// or compact as pydantic's `model_dump_json` (`compact`).
pub fn py_json(v: &Value, compact: bool) -> String {
    let mut out = String::new();
    write_json(v, compact, &mut out);
    out
}

fn write_json(v: &Value, compact: bool, out: &mut String) {
    let (item, kv) = if compact { (",", ":") } else { (", ", ": ") };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if !n.is_f64() => out.push_str(&u.to_string()),
            (_, Some(i)) if !n.is_f64() => out.push_str(&i.to_string()),
            _ => out.push_str(&py_float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => write_str(s, !compact, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(item);
                }
                write_json(x, compact, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(item);
                }
                write_str(k, !compact, out);
                out.push_str(kv);
                write_json(x, compact, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DD HH:MM:SS` in local time, as GuideLLM's CSV writes times.
pub(crate) fn timestamp(t: f64) -> String {
    use chrono::TimeZone;
    if !t.is_finite() {
        return py_float(t);
    }
    let secs = t.floor() as i64;
    let nanos = ((t - t.floor()) * 1e9) as u32;
    match chrono::Local.timestamp_opt(secs, nanos).single() {
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => py_float(t),
    }
}

fn summary_has_data(s: &Sds) -> bool {
    [&s.successful, &s.incomplete, &s.errored]
        .iter()
        .any(|d| d.total_sum > 0.0)
}

fn benchmark_columns(b: &Benchmark) -> Columns {
    let mut c = Columns::default();
    let cfg = &b.config;
    c.field("Run Info", "Run ID", "", Cell::Str(cfg.run_id.clone()));
    c.field("Run Info", "Run Index", "", Cell::Int(cfg.run_index));
    c.field(
        "Run Info",
        "Profile",
        "",
        Cell::Str(py_json(&cfg.profile, true)),
    );
    c.field(
        "Run Info",
        "Requests",
        "",
        Cell::Str(py_json(&cfg.requests, false)),
    );
    c.field(
        "Run Info",
        "Backend",
        "",
        Cell::Str(py_json(&cfg.backend, false)),
    );
    c.field(
        "Run Info",
        "Environment",
        "",
        Cell::Str(py_json(&cfg.environment, false)),
    );
    c.field("Benchmark", "Type", "", Cell::Str(b.type_.clone()));
    c.field("Benchmark", "ID", "", Cell::Str(cfg.id_.clone()));
    let strategy = cfg
        .strategy
        .get("type_")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    c.field("Benchmark", "Strategy", "", Cell::Str(strategy));
    c.field(
        "Benchmark",
        "Constraints",
        "",
        Cell::Str(py_json(&cfg.constraints, false)),
    );
    let sm = &b.scheduler_metrics;
    for (name, t) in [
        ("Start Time", sm.start_time),
        ("Request Start Time", sm.request_start_time),
        ("Measure Start Time", sm.measure_start_time),
        ("Measure End Time", sm.measure_end_time),
        ("Request End Time", sm.request_end_time),
        ("End Time", sm.end_time),
    ] {
        c.field("Timings", name, "", Cell::Str(timestamp(t)));
    }
    for (name, v) in [
        ("Duration", b.duration),
        ("Warmup", b.warmup_duration),
        ("Cooldown", b.cooldown_duration),
    ] {
        c.field("Timings", name, "Sec", Cell::Float(v));
    }
    let m = &b.metrics;
    let t = &m.request_totals;
    for (name, v) in [
        ("Successful", t.successful),
        ("Incomplete", t.incomplete),
        ("Errored", t.errored),
        ("Total", t.total),
    ] {
        c.field("Request Counts", name, "", Cell::Int(v));
    }
    c.metric(&m.request_latency, "Request Latency", "Sec");
    c.metric(
        &m.request_streaming_iterations_count,
        "Streaming Iterations",
        "Count",
    );
    c.metric(&m.time_to_first_token_ms, "Time to First Token", "ms");
    c.metric(&m.time_per_output_token_ms, "Time per Output Token", "ms");
    c.metric(&m.inter_token_latency_ms, "Inter Token Latency", "ms");
    c.metric(&m.requests_per_second, "Server Throughput", "Requests/Sec");
    c.metric(&m.request_concurrency, "Server Throughput", "Concurrency");
    c.metric(&m.prompt_token_count, "Token Metrics", "Input Tokens");
    c.metric(&m.output_token_count, "Token Metrics", "Output Tokens");
    c.metric(&m.total_token_count, "Token Metrics", "Total Tokens");
    c.metric(
        &m.prompt_tokens_per_second,
        "Token Throughput",
        "Input Tokens/Sec",
    );
    c.metric(
        &m.output_tokens_per_second,
        "Token Throughput",
        "Output Tokens/Sec",
    );
    c.metric(&m.tokens_per_second, "Token Throughput", "Total Tokens/Sec");
    c.metric(
        &m.output_tokens_per_iteration,
        "Token Streaming",
        "Output Tokens/Iter",
    );
    c.metric(
        &m.iter_tokens_per_iteration,
        "Token Streaming",
        "Iter Tokens/Iter",
    );
    let modality = |c: &mut Columns, group: &str, s: &Option<Box<MetricsSummary>>| {
        let Some(s) = s else { return };
        for (io, d) in [
            ("Input", &s.input),
            ("Output", &s.output),
            ("Total", &s.total),
        ] {
            if let Some(d) = d.as_ref().filter(|d| summary_has_data(d)) {
                c.metric(d, group, io);
            }
        }
    };
    modality(&mut c, "Text Tokens", &m.text.tokens);
    modality(&mut c, "Text Words", &m.text.words);
    modality(&mut c, "Text Characters", &m.text.characters);
    modality(&mut c, "Image Tokens", &m.image.tokens);
    modality(&mut c, "Image Images", &m.image.images);
    modality(&mut c, "Image Pixels", &m.image.pixels);
    modality(&mut c, "Image Bytes", &m.image.bytes);
    modality(&mut c, "Video Tokens", &m.video.tokens);
    modality(&mut c, "Video Frames", &m.video.frames);
    modality(&mut c, "Video Seconds", &m.video.seconds);
    modality(&mut c, "Video Bytes", &m.video.bytes);
    modality(&mut c, "Audio Tokens", &m.audio.tokens);
    modality(&mut c, "Audio Samples", &m.audio.samples);
    modality(&mut c, "Audio Seconds", &m.audio.seconds);
    modality(&mut c, "Audio Bytes", &m.audio.bytes);
    let st = &b.scheduler_state;
    let int = |k: &str| Cell::Int(st.get(k).and_then(Value::as_u64).unwrap_or(0));
    for (name, key) in [
        ("Node ID", "node_id"),
        ("Num Processes", "num_processes"),
        ("Created Requests", "created_requests"),
        ("Processed Requests", "processed_requests"),
        ("Successful Requests", "successful_requests"),
        ("Errored Requests", "errored_requests"),
        ("Cancelled Requests", "cancelled_requests"),
    ] {
        c.field("Scheduler State", name, "", int(key));
    }
    for (time_key, cons_key, time_name, cons_name) in [
        (
            "end_queuing_time",
            "end_queuing_constraints",
            "End Queuing Time",
            "End Queuing Constraints",
        ),
        (
            "end_processing_time",
            "end_processing_constraints",
            "End Processing Time",
            "End Processing Constraints",
        ),
    ] {
        if let Some(t) = st
            .get(time_key)
            .and_then(Value::as_f64)
            .filter(|&t| t != 0.0)
        {
            c.field("Scheduler State", time_name, "", Cell::Str(timestamp(t)));
            let cons = st.get(cons_key).cloned().unwrap_or(Value::Null);
            c.field(
                "Scheduler State",
                cons_name,
                "",
                Cell::Str(py_json(&cons, false)),
            );
        }
    }
    let made = &sm.requests_made;
    for (name, v) in [
        ("Requests Made Successful", made.successful),
        ("Requests Made Incomplete", made.incomplete),
        ("Requests Made Errored", made.errored),
        ("Requests Made Total", made.total),
    ] {
        c.field("Scheduler Metrics", name, "", Cell::Int(v));
    }
    for (name, v) in [
        ("Queued Time Avg", sm.queued_time_avg),
        ("Resolve Start Delay Avg", sm.resolve_start_delay_avg),
        (
            "Resolve Targeted Start Delay Avg",
            sm.resolve_targeted_start_delay_avg,
        ),
        ("Request Start Delay Avg", sm.request_start_delay_avg),
        (
            "Request Targeted Start Delay Avg",
            sm.request_targeted_start_delay_avg,
        ),
        ("Request Time Avg", sm.request_time_avg),
        ("Resolve End Delay Avg", sm.resolve_end_delay_avg),
        ("Resolve Time Avg", sm.resolve_time_avg),
        ("Finalized Delay Avg", sm.finalized_delay_avg),
        ("Processed Delay Avg", sm.processed_delay_avg),
    ] {
        c.field("Scheduler Metrics", name, "Sec", Cell::Float(v));
    }
    c
}

pub(crate) fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn row<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    let line: Vec<String> = cells.map(quote).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// The CSV text of a report (Python's csv module ends rows with `\r\n`).
pub fn to_csv(report: &Report) -> String {
    let mut out = String::new();
    let cols: Vec<Columns> = report.benchmarks.iter().map(benchmark_columns).collect();
    // GuideLLM takes the header from the first benchmark.
    if let Some(first) = cols.first() {
        for r in 0..3 {
            row(&mut out, first.headers.iter().map(|h| h[r].as_str()));
        }
    }
    for c in &cols {
        let values: Vec<String> = c.values.iter().map(Cell::render).collect();
        row(&mut out, values.iter().map(String::as_str));
    }
    out
}

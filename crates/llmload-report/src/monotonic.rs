//! Monotonicity checks (Red Hat's sanity checks on submitted data).
//!
//! - Along the rate: for one model, scenario, accelerator and kind of
//!   benchmark (constant and poisson rates each ordered by asked rate,
//!   concurrent streams by stream count; synchronous and throughput
//!   benchmarks, which have neither, are left out with a note), TTFT, ITL and
//!   request latency must not fall, and output throughput must not fall, as
//!   the asked rate rises, up to the first rate the server no longer keeps
//!   up with: llmload's verdict on the benchmark (`llmload.verdict`, which
//!   counts requests cut off at the end as served when they had started),
//!   else achieved < 85 % of asked (GuideLLM's reports: short runs
//!   under-count achieved by the requests still in flight at the end). A
//!   benchmark llmload judged an invalid measurement (its own sends lagged)
//!   is left out. A change within the tolerance is noise.
//! - Across accelerators: for one model, scenario, accelerator count, kind
//!   and rate (or stream count), latency must follow the declared order
//!   (fastest first).
//!
//! Inputs are experiment envelopes or raw reports; every point remembers
//! its file, so each violation names the files it compares.

use llmload_core::Strategy;
use serde_json::Value;

/// The default accelerator order, fastest first.
pub const DEFAULT_ORDER: [&str; 4] = ["H100", "A100-80", "L40S", "L4"];

/// How a server that no longer keeps up is recognised: achieved below this
/// fraction of the asked rate.
pub const SATURATED_BELOW: f64 = 0.85;

/// One benchmark of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub file: String,
    pub model: String,
    /// `prompt/output` tokens of the synthetic data (or the raw `--data`).
    pub scenario: String,
    pub accelerator: String,
    pub accelerator_count: u64,
    /// The strategy's kind: `constant`, `poisson`, `concurrent`,
    /// `synchronous`, `throughput`.
    pub kind: String,
    /// Where the benchmark sits in its series: the asked rate (req/s) of a
    /// rate-based benchmark, the stream count of a concurrent one (1 for
    /// synchronous), the achieved rate of a throughput one.
    pub rate: f64,
    pub achieved: f64,
    pub ttft_ms: f64,
    pub itl_ms: f64,
    pub latency_s: f64,
    pub output_tps: f64,
    /// llmload's verdict (`sustained`, `saturated`, `invalid`), when the report has one.
    pub outcome: Option<String>,
}

impl Point {
    /// Whether the server no longer kept up at this point. Without a
    /// verdict, only a rate-based benchmark can tell (achieved against asked).
    pub fn saturated(&self) -> bool {
        match self.outcome.as_deref() {
            Some(o) => o == "saturated",
            None => self.rate_based() && self.achieved < SATURATED_BELOW * self.rate,
        }
    }

    /// Whether the benchmark was sent at an asked rate (constant, poisson).
    pub fn rate_based(&self) -> bool {
        !CLOSED_LOOP.contains(&self.kind.as_str())
    }

    /// Whether it belongs to a series checked along the rate (or streams).
    fn in_series(&self) -> bool {
        self.rate_based() || self.kind == "concurrent"
    }

    /// `2.5 req/s`, `4 streams`.
    pub fn at(&self) -> String {
        if self.rate_based() {
            format!("{} req/s", fmt(self.rate))
        } else if self.kind == "throughput" {
            format!("{} req/s achieved", fmt(self.rate))
        } else {
            let n = fmt(self.rate);
            format!("{n} stream{}", if n == "1" { "" } else { "s" })
        }
    }
}

/// Kinds of benchmark with no asked rate.
const CLOSED_LOOP: [&str; 3] = ["synchronous", "concurrent", "throughput"];

/// Metrics checked, with their units and whether higher is worse.
const METRICS: [(&str, &str, bool); 4] = [
    ("TTFT p50", "ms", true),
    ("ITL p50", "ms", true),
    ("latency p50", "s", true),
    ("output tokens/s", "tok/s", false),
];

fn metric(p: &Point, i: usize) -> f64 {
    [p.ttft_ms, p.itl_ms, p.latency_s, p.output_tps][i]
}

/// Normalised accelerator name: upper case, no `NVIDIA `/`AMD ` prefix.
pub fn accelerator_name(raw: &str) -> String {
    let up = raw.trim().to_ascii_uppercase();
    up.trim_start_matches("NVIDIA ")
        .trim_start_matches("AMD ")
        .trim()
        .to_string()
}

/// `512/256` from a synthetic data spec (k=v or JSON), else the spec itself.
fn scenario_of(data: &str) -> String {
    let get = |key: &str| -> Option<String> {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(data) {
            return m.get(key).map(|v| v.to_string());
        }
        data.split(',').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    match (get("prompt_tokens"), get("output_tokens")) {
        (Some(p), Some(o)) => format!("{p}/{o}"),
        _ => data.to_string(),
    }
}

/// The points of one file: an envelope (model and accelerator from it) or
/// a raw report (model from its arguments, accelerator unknown).
pub fn points(file: &str, doc: &Value) -> Result<Vec<Point>, String> {
    let (report, model, accelerator, count) = match doc.get("report") {
        Some(r) if doc.get("experiment_type").is_some() => (
            r,
            doc["model"].as_str().unwrap_or("?").to_string(),
            accelerator_name(doc["accelerator_type"].as_str().unwrap_or("?")),
            doc["accelerator_count"].as_u64().unwrap_or(1),
        ),
        _ => (doc, String::new(), "?".to_string(), 1),
    };
    let results = crate::model::Results::from_value(report)
        .map_err(|e| format!("{file}: not a report or an experiment envelope of one ({e})"))?;
    let model = if model.is_empty() {
        results.model.clone().unwrap_or_else(|| "?".into())
    } else {
        model
    };
    let data = match results.asked("data") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or("").to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Ok(results
        .benchmarks
        .iter()
        .filter(|b| b.metrics.request_totals.successful > 0)
        .map(|b| {
            let m = &b.metrics;
            let verdict = b.ext.verdict.as_ref();
            let achieved = verdict
                .and_then(|v| v.achieved)
                .unwrap_or(m.requests_per_second.successful.mean);
            let rate = match b.strategy {
                Strategy::Synchronous => 1.0,
                Strategy::Concurrent { streams } => f64::from(streams),
                Strategy::Throughput { .. } => achieved,
                Strategy::Constant { rate, .. } | Strategy::Poisson { rate, .. } => rate,
            };
            Point {
                file: file.to_string(),
                model: model.clone(),
                scenario: scenario_of(&data),
                accelerator: accelerator.clone(),
                accelerator_count: count,
                kind: b.strategy.type_name().to_string(),
                rate,
                achieved,
                ttft_ms: m.time_to_first_token_ms.successful.median,
                itl_ms: m.inter_token_latency_ms.successful.median,
                latency_s: m.request_latency.successful.median,
                output_tps: crate::figures::output_tokens_per_second(b),
                outcome: verdict.and_then(|v| v.outcome.clone()),
            }
        })
        .collect())
}

/// One failed check, in words that name the files, the metric and the values.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation(pub String);

/// Everything found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    pub violations: Vec<Violation>,
    /// Where a series stopped being checked (the server saturated).
    pub notes: Vec<String>,
}

/// Run both checks. `tolerance` is relative (0.1 = 10 %); `order` lists
/// accelerators fastest first.
pub fn check(points: &[Point], tolerance: f64, order: &[String]) -> Findings {
    let mut out = Findings::default();
    let order: Vec<String> = order.iter().map(|a| accelerator_name(a)).collect();
    // Along the rate: one series per model, scenario, accelerator and kind.
    let mut groups: Vec<(String, Vec<&Point>)> = Vec::new();
    let mut left_out: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in points {
        if !p.in_series() {
            match left_out.iter_mut().find(|(f, _)| *f == p.file) {
                Some((_, kinds)) if !kinds.contains(&p.kind.as_str()) => {
                    kinds.push(p.kind.as_str())
                }
                Some(_) => {}
                None => left_out.push((p.file.as_str(), vec![p.kind.as_str()])),
            }
            continue;
        }
        let key = format!(
            "{} {} on {}x{}, {}",
            p.model, p.scenario, p.accelerator_count, p.accelerator, p.kind
        );
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(p),
            None => groups.push((key, vec![p])),
        }
    }
    for (file, kinds) in left_out {
        out.notes.push(format!(
            "{file}: {} not checked along the rate (no asked rate)",
            kinds.join(", ")
        ));
    }
    for (key, mut series) in groups {
        series.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        series.retain(|p| {
            let invalid = p.outcome.as_deref() == Some("invalid");
            if invalid {
                out.notes.push(format!(
                    "{key}: {} not checked: llmload judged it an invalid measurement ({})",
                    p.at(),
                    p.file
                ));
            }
            !invalid
        });
        let end = series
            .iter()
            .position(|p| p.saturated())
            .unwrap_or(series.len());
        if end < series.len() {
            let p = series[end];
            out.notes.push(format!(
                "{key}: saturated at {} (achieved {} req/s, {}); higher rates not checked",
                p.at(),
                fmt(p.achieved),
                p.file
            ));
        }
        for pair in series[..end].windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for (i, (name, unit, _)) in METRICS.iter().enumerate() {
                let (va, vb) = (metric(a, i), metric(b, i));
                if vb < va * (1.0 - tolerance) {
                    out.violations.push(Violation(format!(
                        "{key}: {name} fell from {} {unit} at {} ({}) to {} {unit} at {} ({})",
                        fmt(va),
                        a.at(),
                        a.file,
                        fmt(vb),
                        b.at(),
                        b.file
                    )));
                }
            }
        }
    }
    // Across accelerators, at equal model, scenario, count, kind and rate
    // (a throughput benchmark's rate is what it achieved: never compared).
    for (i, fast) in order.iter().enumerate() {
        for slow in &order[i + 1..] {
            let at = |p: &Point, acc: &str| p.accelerator == acc && p.kind != "throughput";
            for a in points.iter().filter(|p| at(p, fast.as_str())) {
                for b in points.iter().filter(|p| {
                    at(p, slow.as_str())
                        && p.model == a.model
                        && p.scenario == a.scenario
                        && p.accelerator_count == a.accelerator_count
                        && p.kind == a.kind
                        && (p.rate - a.rate).abs() < 1e-9
                }) {
                    for (k, (name, unit, worse_up)) in METRICS.iter().enumerate() {
                        if !worse_up {
                            continue;
                        }
                        let (va, vb) = (metric(a, k), metric(b, k));
                        if va > vb * (1.0 + tolerance) {
                            out.violations.push(Violation(format!(
                                "{} {} {} at {}: {name} on {fast} ({} {unit}, {}) is above {slow} ({} {unit}, {})",
                                a.model, a.scenario, a.kind, a.at(), fmt(va), a.file, fmt(vb), b.file
                            )));
                        }
                    }
                }
            }
        }
    }
    out
}

fn fmt(v: f64) -> String {
    crate::html::short_number(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(file: &str, acc: &str, rate: f64, ttft: f64, tps: f64) -> Point {
        Point {
            file: file.into(),
            model: "m".into(),
            scenario: "512/256".into(),
            accelerator: accelerator_name(acc),
            accelerator_count: 1,
            kind: "constant".into(),
            rate,
            achieved: rate,
            ttft_ms: ttft,
            itl_ms: 10.0,
            latency_s: 1.0,
            output_tps: tps,
            outcome: None,
        }
    }

    fn order() -> Vec<String> {
        DEFAULT_ORDER.map(String::from).to_vec()
    }

    #[test]
    fn llmloads_verdict_decides_saturation_and_invalid_points_are_left_out() {
        let with = |rate: f64, achieved: f64, ttft: f64, outcome: &str| Point {
            achieved,
            outcome: Some(outcome.into()),
            ..pt(&format!("r{rate}"), "L40S", rate, ttft, 100.0 * rate)
        };
        // A short run: GuideLLM's rate reads 80 % of asked, the verdict says sustained.
        let points = [
            with(1.0, 0.8, 50.0, "sustained"),
            with(2.0, 1.6, 60.0, "sustained"),
            // Its sends lagged: whatever it measured does not count.
            with(3.0, 3.0, 10.0, "invalid"),
            with(4.0, 3.9, 70.0, "sustained"),
            with(5.0, 4.0, 30.0, "saturated"),
        ];
        let f = check(&points, 0.1, &order());
        assert!(f.violations.is_empty(), "{:?}", f.violations);
        assert!(
            f.notes.iter().any(|n| n.contains("saturated at 5")),
            "{:?}",
            f.notes
        );
        assert!(
            f.notes.iter().any(|n| n.contains("3 req/s not checked")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn a_sweep_checks_its_rates_only_and_says_numbers_briefly() {
        let closed = |kind: &str, rate: f64, achieved: f64, ttft: f64| Point {
            kind: kind.into(),
            achieved,
            ..pt("sweep.json", "H100", rate, ttft, 100.0 * achieved)
        };
        // Synchronous and throughput beside the constant rates between them:
        // the throughput stage queues everything (TTFT 400 ms) at 5 req/s.
        let sweep = [
            closed("synchronous", 1.0, 2.0, 20.0),
            closed("throughput", 5.0, 5.0, 400.0),
            pt("sweep.json", "H100", 2.5, 25.0, 250.0),
            pt("sweep.json", "H100", 6.0, 30.0, 600.0),
        ];
        let f = check(&sweep, 0.1, &order());
        assert!(f.violations.is_empty(), "{:?}", f.violations);
        assert_eq!(
            f.notes,
            ["sweep.json: synchronous, throughput not checked along the rate (no asked rate)"]
        );
        let dip = [
            pt("a.json", "L4", 302.0999999999998, 50.0, 100.0),
            pt("b.json", "L4", 604.1999999999995, 30.0, 200.0),
        ];
        let f = check(&dip, 0.1, &order());
        assert_eq!(f.violations.len(), 1, "{f:?}");
        assert!(
            f.violations[0]
                .0
                .contains("from 50 ms at 302.1 req/s (a.json) to 30 ms at 604.2 req/s (b.json)"),
            "{:?}",
            f.violations
        );
        // Concurrent benchmarks are a series of their own, by stream count.
        let streams = [
            closed("concurrent", 4.0, 9.0, 25.0),
            closed("concurrent", 1.0, 3.0, 20.0),
        ];
        let f = check(&streams, 0.1, &order());
        assert!(f.violations.is_empty(), "{:?}", f.violations);
        let falling = [
            closed("concurrent", 1.0, 1.0, 20.0),
            closed("concurrent", 4.0, 4.0, 10.0),
        ];
        let f = check(&falling, 0.1, &order());
        assert!(
            f.violations[0]
                .0
                .contains("at 1 stream (sweep.json) to 10 ms at 4 streams"),
            "{:?}",
            f.violations
        );
    }

    #[test]
    fn rising_latency_passes_a_dip_fails_naming_file_and_metric() {
        let rising = [
            pt("r1.json", "H100", 1.0, 50.0, 100.0),
            pt("r2.json", "H100", 2.0, 55.0, 190.0),
            pt("r3.json", "H100", 3.0, 70.0, 280.0),
        ];
        assert_eq!(check(&rising, 0.05, &order()), Findings::default());
        let dip = [
            pt("d1.json", "H100", 1.0, 50.0, 100.0),
            pt("d2.json", "H100", 2.0, 40.0, 190.0),
            pt("d3.json", "H100", 3.0, 70.0, 280.0),
        ];
        let f = check(&dip, 0.05, &order());
        assert_eq!(f.violations.len(), 1, "{f:?}");
        let v = &f.violations[0].0;
        assert!(
            v.contains(
                "TTFT p50 fell from 50 ms at 1 req/s (d1.json) to 40 ms at 2 req/s (d2.json)"
            ),
            "{v}"
        );
    }

    #[test]
    fn noise_within_the_tolerance_passes_and_saturation_ends_the_series() {
        let noisy = [
            pt("a", "L4", 1.0, 50.0, 100.0),
            pt("b", "L4", 2.0, 48.0, 98.0),
        ];
        assert!(check(&noisy, 0.05, &order()).violations.is_empty());
        let mut sat = pt("c", "L4", 3.0, 30.0, 50.0);
        sat.achieved = 2.0;
        let f = check(&[noisy[0].clone(), noisy[1].clone(), sat], 0.05, &order());
        assert!(f.violations.is_empty(), "{f:?}");
        assert!(f.notes[0].contains("saturated at 3 req/s"), "{:?}", f.notes);
    }

    #[test]
    fn a_slower_accelerator_must_not_be_faster() {
        let pts = [
            pt("h.json", "NVIDIA H100", 2.0, 80.0, 200.0),
            pt("l.json", "L4", 2.0, 60.0, 100.0),
        ];
        let f = check(&pts, 0.05, &order());
        assert_eq!(f.violations.len(), 1, "{f:?}");
        assert!(f.violations[0]
            .0
            .contains("TTFT p50 on H100 (80 ms, h.json) is above L4 (60 ms, l.json)"));
        let custom = ["L4".to_string(), "H100".to_string()];
        assert!(check(&pts, 0.05, &custom).violations.is_empty());
    }

    #[test]
    fn scenarios_come_from_the_data_spec() {
        assert_eq!(
            scenario_of("prompt_tokens=512,prompt_tokens_stdev=51.2,output_tokens=256,samples=900"),
            "512/256"
        );
        assert_eq!(
            scenario_of(r#"{"prompt_tokens": 1024, "output_tokens": 1024}"#),
            "1024/1024"
        );
        assert_eq!(scenario_of("data.jsonl"), "data.jsonl");
    }
}

//! Reports end to end: a 4-benchmark sweep against the built-in mock,
//! written as JSON, CSV, YAML and HTML. The JSON covers every key path of
//! GuideLLM's own sweep report; the HTML renders in headless Chromium with
//! the network cut off, without script errors, one point per benchmark;
//! `llmload report` round-trips and re-exports GuideLLM's reports.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use llmload_report::Report;
use serde_json::Value;

/// The Chromium binary. CI installs Debian's `chromium` (.ci/run); without
/// it these checks cannot run, so the test fails rather than pass unchecked.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!("headless Chromium is needed to check the HTML report: apt-get install chromium");
}

/// What Chromium made of a page.
struct Rendered {
    dom: String,
    console: Vec<String>,
}

/// Load `html` in headless Chromium with every network request refused;
/// the DOM after scripts ran, and any console output.
fn render(html: &Path) -> Rendered {
    let profile = html.with_extension("chromium-profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", html.canonicalize().unwrap().display()))
        .output()
        .expect("running chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
    }
}

/// Checks every report page must pass; returns the DOM.
fn assert_renders_offline(html: &Path) -> String {
    let text = std::fs::read_to_string(html).unwrap();
    for needle in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(
            !text.contains(needle),
            "{}: references {needle}",
            html.display()
        );
    }
    let r = render(html);
    assert!(r.console.is_empty(), "console output: {:#?}", r.console);
    assert!(
        r.dom.contains("data-rendered=\"ok\""),
        "the page script did not finish"
    );
    assert!(
        !r.dom.contains("data-errors=\""),
        "script errors in the page"
    );
    r.dom
}

/// For each chart of the overview section: the number of points per series.
fn overview_points(dom: &str) -> Vec<(String, Vec<usize>)> {
    let start = dom.find("id=\"overview\"").expect("an overview section");
    let end = start + dom[start..].find("</section>").unwrap();
    dom[start..end]
        .split("<figure class=\"chart\">")
        .skip(1)
        .map(|fig| {
            let title = fig
                .split("<figcaption>")
                .nth(1)
                .and_then(|s| s.split("</figcaption>").next())
                .unwrap_or("")
                .to_string();
            let per_series = fig
                .split("<g class=\"series")
                .skip(1)
                .map(|g| {
                    g.split("</g>")
                        .next()
                        .unwrap()
                        .matches("class=\"pt\"")
                        .count()
                })
                .collect();
            (title, per_series)
        })
        .collect()
}

fn sweep(dir: &Path) {
    let out = common::run(&[
        "benchmark",
        "--target",
        "mock",
        "--rate-type",
        "sweep",
        "--rate",
        "4",
        "--max-seconds",
        "2",
        "--data",
        "prompt_tokens=64,output_tokens=16",
        "--sample-requests",
        "20",
        "--outputs",
        "json,csv,yaml,html",
        "--disable-console-outputs",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sweep_reports_cover_guidellm_render_offline_and_round_trip() {
    let dir = common::tempdir("reports-sweep");
    sweep(&dir);
    let report = common::report(&dir);
    assert_eq!(
        common::strategy_kinds(&report),
        ["synchronous", "throughput", "constant", "constant"]
    );
    common::keypaths::assert_covers(&report, "vllm-sweep4");

    // HTML: renders, and every overview chart has one point per benchmark.
    let dom = assert_renders_offline(&dir.join("benchmarks.html"));
    let charts = overview_points(&dom);
    assert_eq!(charts.len(), 6, "{charts:?}");
    for (title, series) in &charts {
        assert!(!series.is_empty(), "{title}");
        assert!(series.iter().all(|&n| n == 4), "{title}: {series:?}");
    }
    // Per benchmark: histograms and over-the-run charts.
    assert_eq!(dom.matches("<details class=\"bench\"").count(), 4);
    assert!(dom.contains("Time to first token (ms), 20 requests"));

    // JSON -> JSON gives the run's JSON byte for byte; YAML -> JSON the same
    // values (YAML sorts keys, as GuideLLM's does).
    let json = std::fs::read(dir.join("benchmarks.json")).unwrap();
    let reexport = |input: &str, sub: &str| -> Vec<u8> {
        let out_dir = dir.join(sub);
        let out = common::run(&[
            "report",
            dir.join(input).to_str().unwrap(),
            "--outputs",
            "json",
            "--output-dir",
            out_dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(out_dir.join("benchmarks.json")).unwrap()
    };
    assert!(
        reexport("benchmarks.json", "from-json") == json,
        "JSON -> JSON differs"
    );
    let from_yaml: Value =
        serde_json::from_slice(&reexport("benchmarks.yaml", "from-yaml")).unwrap();
    assert_eq!(from_yaml, report, "YAML -> JSON changed values");
    let yaml = std::fs::read_to_string(dir.join("benchmarks.yaml")).unwrap();
    assert!(yaml.starts_with("args:\n"), "keys sorted: {}", &yaml[..40]);
}

#[test]
fn guidellm_reports_reexport_to_csv_and_html() {
    let dir = common::tempdir("reports-guidellm");
    for name in ["mock-constant5", "vllm-sweep4"] {
        let fixture = common::shared(&format!("fixtures/guidellm-0.4.0/{name}-benchmarks.json"));
        let out_dir = dir.join(name);
        let out = common::run(&[
            "report",
            fixture.to_str().unwrap(),
            "--outputs",
            "csv,html,console",
            "--output-dir",
            out_dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Benchmarks") && stdout.contains("Report:"),
            "{stdout}"
        );
        // The CSV is the library's rendering, which matches GuideLLM's own
        // CSV cell for cell (llmload-report/tests/guidellm_csv.rs).
        let report = Report::load(&fixture).unwrap();
        let csv = std::fs::read_to_string(out_dir.join("benchmarks.csv")).unwrap();
        assert_eq!(csv, llmload_report::csv::to_csv(&report));
        let dom = assert_renders_offline(&out_dir.join("benchmarks.html"));
        let n = report.benchmarks.len();
        for (title, series) in overview_points(&dom) {
            assert!(series.iter().all(|&k| k == n), "{name} {title}: {series:?}");
        }
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
        assert_eq!(original["benchmarks"].as_array().unwrap().len(), n);
    }
}

/// Every number of a distribution (`count` aside) set to `v`.
fn flatten_distribution(d: &mut Value, v: f64) {
    let Some(d) = d.as_object_mut() else { return };
    for (key, x) in d.iter_mut() {
        match x {
            Value::Number(_) if key != "count" => *x = v.into(),
            Value::Object(p) if key == "percentiles" => {
                p.values_mut().for_each(|q| *q = v.into());
            }
            _ => {}
        }
    }
}

/// A max-throughput search whose steps each finished one request, all with
/// the same latencies: the achieved rates equal but for the last bit.
fn one_request_per_step(fixture: &Path) -> Value {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let template = doc["benchmarks"][0].clone();
    let steps: Vec<Value> = (0..6)
        .map(|k| {
            let mut b = template.clone();
            b["config"]["strategy"] =
                serde_json::json!({"type_": "constant", "rate": 2f64.powi(k)});
            let requests = &mut b["requests"];
            let first = requests["successful"][0].clone();
            requests["successful"] = Value::Array(vec![first]);
            requests["errored"] = Value::Array(vec![]);
            requests["incomplete"] = Value::Array(vec![]);
            let m = &mut b["metrics"];
            m["request_totals"] =
                serde_json::json!({"successful": 1, "errored": 0, "incomplete": 0, "total": 1});
            for (metric, v) in [
                ("time_to_first_token_ms", 41.0),
                ("inter_token_latency_ms", 7.0),
                ("time_per_output_token_ms", 7.0),
                ("request_latency", 0.3),
                ("output_tokens_per_second", 120.0),
                ("requests_per_second", 1.0),
            ] {
                flatten_distribution(&mut m[metric]["successful"], v);
            }
            if k % 2 == 1 {
                m["requests_per_second"]["successful"]["mean"] = 1.0000000000000002.into();
            }
            b
        })
        .collect();
    doc["benchmarks"] = Value::Array(steps);
    doc
}

/// Every number in the SVG coordinates of an HTML report.
fn assert_svg_coordinates_finite(html: &Path) {
    let page = std::fs::read_to_string(html).unwrap();
    for svg in page.split("<svg").skip(1) {
        let svg = svg.split("</svg>").next().unwrap();
        for attr in [
            " x=\"",
            " y=\"",
            " x1=\"",
            " x2=\"",
            " y1=\"",
            " y2=\"",
            " cx=\"",
            " cy=\"",
            " width=\"",
            " height=\"",
            " points=\"",
        ] {
            for part in svg.split(attr).skip(1) {
                let value = part.split('"').next().unwrap();
                for n in value.split([' ', ',']).filter(|n| !n.is_empty()) {
                    assert!(
                        n.parse::<f64>().is_ok_and(f64::is_finite),
                        "{}: coordinate {n:?}",
                        html.display()
                    );
                }
            }
        }
    }
}

/// `llmload report` on reports with nothing to scale a chart by (a search
/// of one equal request per step; no benchmarks at all) writes every
/// format and exits 0; and an output that cannot be written is one error
/// line, exit code 2, with the other outputs and the console tables out.
#[test]
fn degenerate_reports_write_every_format_and_one_failure_spares_the_rest() {
    let dir = common::tempdir("reports-degenerate");
    let fixture = common::shared("fixtures/guidellm-0.4.0/vllm-constant2-benchmarks.json");
    let search = one_request_per_step(&fixture);
    let mut empty = search.clone();
    empty["benchmarks"] = Value::Array(vec![]);
    for (name, doc, n) in [("search", &search, 6), ("empty", &empty, 0)] {
        let input = dir.join(format!("{name}.json"));
        std::fs::write(&input, serde_json::to_string(doc).unwrap()).unwrap();
        let out_dir = dir.join(name);
        let out = common::run(&[
            "report",
            input.to_str().unwrap(),
            "--output-dir",
            out_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        for file in [
            "benchmarks.json",
            "benchmarks.csv",
            "benchmarks.yaml",
            "benchmarks.html",
        ] {
            let path = out_dir.join(file);
            assert!(path.exists(), "{name}: {file} not written");
        }
        assert_eq!(
            Report::load(&out_dir.join("benchmarks.json"))
                .unwrap()
                .benchmarks
                .len(),
            n
        );
        assert_svg_coordinates_finite(&out_dir.join("benchmarks.html"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Benchmarks"),
            "{name}: console tables: {stdout}"
        );
    }

    // The HTML's directory is a file: that one output fails, alone.
    let input = dir.join("search.json");
    let out_dir = dir.join("one-fails");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("blocker"), "").unwrap();
    let out = common::run(&[
        "report",
        input.to_str().unwrap(),
        "--outputs",
        "blocker/report.html,csv,console,json",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let html = out_dir.join("blocker/report.html");
    let line = format!("llmload: error: html report {}: ", html.display());
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with(&line)).count(),
        1,
        "{stderr}"
    );
    assert!(out_dir.join("benchmarks.json").exists() && out_dir.join("benchmarks.csv").exists());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Benchmarks"), "console tables: {stdout}");
    assert!(stdout.contains("benchmarks.json"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The tool agrees with itself: `check monotonic` passes on sweeps (llmload's
//! own, against a well-behaved mock, and GuideLLM 0.4.0's); the console, the
//! HTML report and `compare` show the same output tokens/s for a benchmark;
//! `compare` says when it pairs benchmarks of different strategies, and
//! calls a gain a gain.

mod common;

use std::path::Path;

use llmload_report::console::{num, strategy_label};
use llmload_report::figures::output_tokens_per_second;
use llmload_report::html::short_number;
use serde_json::Value;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sweep4() -> std::path::PathBuf {
    common::shared("fixtures/guidellm-0.4.0/vllm-sweep4-benchmarks.json")
}

/// `check monotonic FILE`: exit 0, no violation, the closed-loop
/// benchmarks named as left out, and no number written to 15 digits.
fn assert_monotonic(file: &Path) {
    let out = common::run(&["check", "monotonic", file.to_str().unwrap()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(", 0 violations"), "{said}");
    assert!(
        said.contains("synchronous, throughput not checked along the rate"),
        "{said}"
    );
    for noise in ["00000", "99999"] {
        assert!(!said.contains(noise), "a number at full precision: {said}");
    }
}

#[test]
fn check_monotonic_passes_on_a_sweep_of_the_mock_and_on_guidellms_sweep() {
    let dir = common::tempdir("consistency-sweep");
    let mock = common::MockProcess::start(&["--ttft-ms", "40", "--itl-ms", "8"]);
    let gpt2 = common::shared("tokenizers/gpt2");
    let out = common::run(&[
        "benchmark",
        "--target",
        &mock.url,
        "--rate-type",
        "sweep",
        "--rate",
        "4",
        "--max-seconds",
        "3",
        "--data",
        "prompt_tokens=32,output_tokens=16",
        "--processor",
        gpt2.to_str().unwrap(),
        "--outputs",
        "json",
        "--disable-progress",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    drop(mock);
    let report = common::report(&dir);
    assert_eq!(
        common::strategy_kinds(&report),
        ["synchronous", "throughput", "constant", "constant"]
    );
    assert_monotonic(&dir.join("benchmarks.json"));
    assert_monotonic(&sweep4());
}

/// The cells of the console table row of `label` in the group at `group`
/// (groups are separated by `|`).
fn console_cells<'a>(console: &'a str, label: &str, group: usize) -> Vec<&'a str> {
    let row = console
        .lines()
        .find(|l| l.starts_with(&format!("| {label} ")))
        .unwrap_or_else(|| panic!("no row {label}:\n{console}"));
    row.split('|')
        .nth(group)
        .unwrap_or("")
        .split_whitespace()
        .collect()
}

#[test]
fn console_html_and_compare_show_one_output_tokens_per_second() {
    // GuideLLM's sweep: its throughput stage cut 511 requests off at the end,
    // so the tokens of all requests and of the completed ones differ.
    let fixture = sweep4();
    let report = llmload_report::model::Results::load(&fixture).unwrap();
    let dir = common::tempdir("consistency-tps");
    let out = common::run(&[
        "report",
        fixture.to_str().unwrap(),
        "--outputs",
        "console,html",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let console = String::from_utf8_lossy(&out.stdout).to_string();
    let html = std::fs::read_to_string(dir.join("benchmarks.html")).unwrap();
    let out = common::run(&[
        "compare",
        fixture.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let compared = String::from_utf8_lossy(&out.stdout).to_string();
    let mut differs = false;
    for b in &report.benchmarks {
        let label = strategy_label(b);
        let tps = output_tokens_per_second(b);
        let all = b.metrics.output_tokens_per_second.total.mean;
        differs |= num(all) != num(tps);
        // Console: the first cell of the Tokens/s group.
        let cells = console_cells(&console, &label, 4);
        assert_eq!(
            cells.first().copied(),
            Some(num(tps).as_str()),
            "{label}:\n{console}"
        );
        // HTML: the last cell of the summary row.
        let start = html
            .find(&format!("<tr><th>{label}</th>"))
            .unwrap_or_else(|| panic!("no HTML row {label}"));
        let row = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(
            row.ends_with(&format!("<td>{}</td>", short_number(tps))),
            "{label}: {row}"
        );
        // compare: base and new of output_tps.
        let line = compared
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")) && l.contains("output_tps"))
            .unwrap_or_else(|| panic!("no compare row {label}:\n{compared}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words[3..5],
            [short_number(tps), short_number(tps)],
            "{line}"
        );
        assert!(words.contains(&"same"), "{line}");
    }
    assert!(differs, "the fixture no longer tells the two figures apart");
}

#[test]
fn compare_names_a_mismatched_pair_and_calls_a_gain_better() {
    let dir = common::tempdir("consistency-compare");
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(common::shared(
            "fixtures/guidellm-0.4.0/mock-constant5-benchmarks.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let mut new = base.clone();
    let b = &mut new["benchmarks"][0];
    b["config"]["strategy"]["rate"] = Value::from(10.0);
    let rps = &mut b["metrics"]["requests_per_second"]["successful"]["mean"];
    *rps = Value::from(rps.as_f64().unwrap() * 2.0);
    let write = |name: &str, v: &Value| {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
        p
    };
    let (base, new) = (write("base.json", &base), write("new.json", &new));
    let out = common::run(&[
        "compare",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--max-regression",
        "throughput=5%",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(
            "warning: base constant@5.00 and new constant@10.00 have different strategies"
        ),
        "{said}"
    );
    let throughput = said
        .lines()
        .find(|l| l.contains("throughput (req/s)"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(throughput.contains("better by 100.0%"), "{throughput}");
    assert!(!said.contains("-100.0%"), "{said}");
}

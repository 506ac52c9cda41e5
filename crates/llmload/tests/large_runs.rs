//! A long, fast run: said at the start when its report will be large.

mod common;

fn stderr_of(extra: &[&str]) -> String {
    let dir = common::tempdir("large-run");
    let gpt2 = common::shared("tokenizers/gpt2");
    let mut args = common::words(
        "benchmark --target http://127.0.0.1:9 --rate-type constant --rate 2000 \
         --max-seconds 1800 --data prompt_tokens=32,output_tokens=16 --disable-progress",
    );
    args.extend(["--processor", gpt2.to_str().unwrap()]);
    args.extend(["--output-dir", dir.to_str().unwrap()]);
    args.extend(extra);
    // Nothing listens on port 9: the run stops at its preflight check,
    // after the notice.
    let out = common::run(&args);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_large_run_says_how_large_its_report_will_be_unless_sampled() {
    let err = stderr_of(&[]);
    let line = err
        .lines()
        .find(|l| l.contains("requests and its report lists every one"))
        .unwrap_or_else(|| panic!("no notice in: {err}"));
    // 3.6 million requests of ~2.8 KB each (32-token prompts).
    assert!(line.contains("up to 3600000 requests"), "{line}");
    assert!(line.contains("~10.2 GB of JSON"), "{line}");
    assert!(line.contains("--sample-requests"), "{line}");
    let err = stderr_of(&["--sample-requests", "100"]);
    assert!(!err.contains("lists every one"), "{err}");
}

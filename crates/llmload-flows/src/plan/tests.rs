//! Flag validation, case by case.

use super::*;

fn args(extra: &[&str]) -> BenchmarkArgs {
    let mut argv = vec![
        "--target",
        "http://127.0.0.1:8000",
        "--data",
        "prompt_tokens=8,output_tokens=4",
    ];
    argv.extend_from_slice(extra);
    crate::args::parse(&argv).unwrap()
}

fn err(extra: &[&str]) -> String {
    Plan::from_args(args(extra)).unwrap_err().to_string()
}

#[test]
fn profiles_and_rates() {
    let p = Plan::from_args(args(&[
        "--rate-type",
        "constant",
        "--rate",
        "1,2",
        "--rate",
        "3.5",
    ]))
    .unwrap();
    assert_eq!(p.run.profile, Profile::Constant(vec![1.0, 2.0, 3.5]));
    let p = Plan::from_args(args(&["--profile", "concurrent", "--rate", "4,8"])).unwrap();
    assert_eq!(p.run.profile, Profile::Concurrent(vec![4, 8]));
    let p = Plan::from_args(args(&["--rate-type", "throughput", "--rate", "64"])).unwrap();
    assert_eq!(
        (p.run.profile, p.run.max_concurrency),
        (Profile::Throughput, 64)
    );
    let p = Plan::from_args(args(&["--rate-type", "async", "--rate", "5"])).unwrap();
    assert_eq!(p.run.profile, Profile::Constant(vec![5.0]));
    assert!(err(&["--rate-type", "fast"]).contains("--rate-type \"fast\": expected one of"));
    assert!(err(&["--rate-type", "constant"]).contains("needs requests per second"));
    assert!(err(&["--rate-type", "constant", "--rate", "x"]).contains("--rate: expected a number"));
    assert!(err(&["--rate-type", "concurrent", "--rate", "1.5"]).contains("whole numbers"));
    assert!(err(&["--rate-type", "synchronous", "--rate", "1"]).contains("takes no rate"));
    let p = Plan::from_args(args(&["--rate-type", "sweep", "--rate", "4"])).unwrap();
    assert_eq!(p.run.profile, Profile::Sweep { size: 4 });
    assert_eq!(
        Plan::from_args(args(&["--rate-type", "sweep"]))
            .unwrap()
            .run
            .profile,
        Profile::Sweep { size: 10 }
    );
    assert!(
        err(&["--rate-type", "sweep", "--rate", "1"]).contains("sweep takes one whole number >= 2")
    );
    let p = Plan::from_args(args(&[
        "--rate-type",
        "search",
        "--rate",
        "8",
        "--slo",
        "ttft=200,itl=50",
    ]))
    .unwrap();
    let Profile::Search(cfg) = p.run.profile else {
        panic!()
    };
    assert_eq!(
        (cfg.start, cfg.slo.ttft_ms, cfg.slo.itl_ms),
        (8.0, Some(200.0), Some(50.0))
    );
    assert!(
        err(&["--rate-type", "constant", "--rate", "1", "--slo", "ttft=5"])
            .contains("--slo: only applies")
    );
    assert!(err(&["--rate-type", "search", "--slo", "speed=5"]).contains("--slo: unknown key"));
    let p = Plan::from_args(args(&[
        "--rate-type",
        "constant",
        "--rate",
        "5",
        "--rampup",
        "2.5",
    ]))
    .unwrap();
    assert_eq!(p.run.rampup, Duration::from_millis(2500));
    assert!(
        err(&["--rate-type", "poisson", "--rate", "5", "--rampup", "2"])
            .contains("--rampup: only applies to")
    );
    assert!(
        err(&["--rate-type", "concurrent", "--rate", "5", "--rampup=-1"])
            .contains("--rampup: expected a number of seconds >= 0")
    );
    let p = Plan::from_args(args(&[
        "--rate-type",
        "constant",
        "--rate",
        "1",
        "--warmup",
        "0.2",
        "--detect-saturation",
    ]))
    .unwrap();
    assert_eq!(p.run.warmup.percent, Some(0.2));
    assert!(p.run.constraints.over_saturation.is_some());
    assert!(
        err(&["--rate-type", "constant", "--rate", "1", "--cooldown", "x"]).contains("--cooldown")
    );
}

#[test]
fn backend_args() {
    let p = Plan::from_args(args(&[
        "--rate-type",
        "synchronous",
        "--backend-args",
        r#"{"timeout": 5, "verify": false, "headers": {"X-A": "b"}, "api_key": "k"}"#,
    ]))
    .unwrap();
    assert_eq!(p.backend.timeout, Some(5.0));
    assert!(!p.backend.verify);
    assert_eq!(p.backend.headers, [("X-A".to_string(), "b".to_string())]);
    assert!(
        err(&["--rate-type", "synchronous", "--backend-args", "{nope"])
            .starts_with("--backend-args: not JSON")
    );
    assert!(err(&[
        "--rate-type",
        "synchronous",
        "--backend-args",
        r#"{"bogus": 1}"#
    ])
    .contains("unknown key \"bogus\""));
    let red = BackendArgs::redacted(Some(
        r#"{"api_key": "sk-1", "headers": {"Authorization": "Bearer x", "X-Other": "y"}}"#,
    ));
    assert_eq!(
        red,
        serde_json::json!({"api_key": "***", "headers": {"Authorization": "***", "X-Other": "y"}})
    );
}

#[test]
fn outputs() {
    let p = Plan::from_args(args(&[
        "--rate-type",
        "synchronous",
        "--output-dir",
        "/tmp/x",
    ]))
    .unwrap();
    assert_eq!(
        p.outputs.files,
        [
            (Format::Json, PathBuf::from("/tmp/x/benchmarks.json")),
            (Format::Csv, PathBuf::from("/tmp/x/benchmarks.csv"))
        ]
    );
    let p = Plan::from_args(args(&[
        "--rate-type",
        "synchronous",
        "--output-path",
        "/tmp/y/run.json",
    ]))
    .unwrap();
    assert_eq!(
        p.outputs.files,
        [(Format::Json, PathBuf::from("/tmp/y/run.json"))]
    );
    assert!(err(&["--rate-type", "synchronous", "--outputs", "pdf"]).contains("--outputs \"pdf\""));
    assert!(err(&[
        "--rate-type",
        "synchronous",
        "--output-dir",
        "a",
        "--output-path",
        "b"
    ])
    .contains("cannot be used together"));
}

#[test]
fn constraints_are_validated() {
    assert!(
        err(&["--rate-type", "synchronous", "--max-error-rate", "1.5"])
            .contains("--max-error-rate")
    );
    assert!(err(&["--rate-type", "synchronous", "--max-seconds", "0"]).contains("--max-seconds"));
    assert!(err(&["--rate-type", "synchronous", "--request-type", "x"]).contains("--request-type"));
}

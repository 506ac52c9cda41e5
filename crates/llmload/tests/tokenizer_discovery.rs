//! Without `--processor`, the tokenizer comes from the model directory the
//! server reports as the model's `root` (`GET /v1/models`); with the
//! server's `POST /tokenize`, a tokenizer other than the server's is warned
//! about before the run. Against `llmload mock-server`.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::MockProcess;

/// An empty Hugging Face cache and home for every process these tests start,
/// so that no tokenizer cached on this machine is found.
fn isolate() {
    static EMPTY: OnceLock<PathBuf> = OnceLock::new();
    let dir = EMPTY.get_or_init(|| common::tempdir("tokenizer-discovery-home"));
    for var in ["HOME", "HF_HOME", "HF_HUB_CACHE"] {
        std::env::set_var(var, dir);
    }
}

fn shared(rel: &str) -> String {
    common::shared(rel).to_str().unwrap().to_string()
}

/// `benchmark --target URL` for three synchronous 64-token text completions;
/// `extra` flags added.
fn bench(url: &str, dir: &std::path::Path, data: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = common::words(
        "benchmark --rate-type synchronous --max-requests 3 --request-type text_completions \
         --disable-progress --outputs json --output-dir",
    )
    .into_iter()
    .map(String::from)
    .collect();
    args.push(dir.to_str().unwrap().into());
    args.extend(["--target".into(), url.into(), "--data".into(), data.into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String]) -> (std::process::Output, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out, stderr)
}

/// The prompts of the report's successful requests, in send order, and
/// their prompt token counts.
fn prompts(dir: &std::path::Path) -> Vec<(String, u64)> {
    let report = common::report(dir);
    let mut recs: Vec<(f64, String, u64)> = report["benchmarks"][0]["requests"]["successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let body: serde_json::Value =
                serde_json::from_str(r["request_args"].as_str().unwrap()).unwrap();
            (
                r["request_start_time"].as_f64().unwrap(),
                body["prompt"].as_str().unwrap().to_string(),
                r["prompt_tokens"].as_u64().unwrap(),
            )
        })
        .collect();
    recs.sort_by(|a, b| a.0.total_cmp(&b.0));
    recs.into_iter().map(|r| (r.1, r.2)).collect()
}

#[test]
fn the_tokenizer_comes_from_the_model_directory_the_server_reports() {
    isolate();
    let qwen = shared("tokenizers/qwen2.5");
    let mock = MockProcess::start(&[
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--model",
        "tiny-qwen",
        "--root",
        &qwen,
        "--processor",
        &qwen,
    ]);
    let dir = common::tempdir("tokenizer-from-root");
    let data = "prompt_tokens=64,output_tokens=4";
    let (out, stderr) = run(&bench(&mock.url, &dir, data, &[]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = format!(
        "llmload: tokenizer from the server's model directory {qwen} (GET /v1/models \"root\")"
    );
    assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    // The server counts with the same tokenizer: no warning, exact lengths.
    assert!(!stderr.contains("warning"), "{stderr}");
    let got = prompts(&dir);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|(_, n)| *n == 64), "{got:?}");

    // The model named with --model: the root is looked up all the same.
    let dir = common::tempdir("tokenizer-from-root-model");
    let (out, stderr) = run(&bench(&mock.url, &dir, data, &["--model", "tiny-qwen"]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&line), "{stderr}");
    assert!(prompts(&dir).iter().all(|(_, n)| *n == 64));
}

#[test]
fn no_tokenizer_anywhere_is_one_line_naming_every_place_tried() {
    isolate();
    let mock = MockProcess::start(&[
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--model",
        "tiny-qwen",
        "--root",
        "/nonexistent",
    ]);
    let dir = common::tempdir("tokenizer-nowhere");
    let needle =
        "--processor: no tokenizer for model \"tiny-qwen\": not in the Hugging Face cache, \
                  and the server's model root \"/nonexistent\" (GET /v1/models) is not a local \
                  directory with a tokenizer.json; pass --processor PATH";
    for extra in [&[][..], &["--model", "tiny-qwen"][..]] {
        let args = bench(&mock.url, &dir, "prompt_tokens=64,output_tokens=4", extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::refused(&args, needle);
    }
}

#[test]
fn a_tokenizer_other_than_the_servers_is_warned_about() {
    isolate();
    let qwen = shared("tokenizers/qwen2.5");
    let gpt2 = shared("tokenizers/gpt2");
    let mock = MockProcess::start(&[
        "--ttft-ms",
        "1",
        "--itl-ms",
        "1",
        "--model",
        "tiny-qwen",
        "--processor",
        &qwen,
    ]);
    let data = "prompt_tokens=256,output_tokens=4";

    let dir = common::tempdir("tokenizer-mismatch");
    let (out, stderr) = run(&bench(&mock.url, &dir, data, &["--processor", &gpt2]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("llmload: warning: the server counts "))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let w = warnings[0];
    let counted: u64 = w["llmload: warning: the server counts ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(counted, 256, "{w}");
    assert!(
        w.ends_with(&format!(
            " tokens in a prompt llmload built as 256 with tokenizer {gpt2} (POST /tokenize); \
             prompt lengths will be off: pass the server's tokenizer with --processor"
        )),
        "{w}"
    );
    // The server's count is what the report shows: the warning was right.
    let got = prompts(&dir);
    assert!(got.iter().any(|(_, n)| *n != 256), "{got:?}");

    // The server's own tokenizer: no warning, and the run's prompts are
    // those the same seed gives without any server to check against.
    let dir = common::tempdir("tokenizer-match");
    let (out, stderr) = run(&bench(&mock.url, &dir, data, &["--processor", &qwen]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let checked = prompts(&dir);
    assert!(checked.iter().all(|(_, n)| *n == 256), "{checked:?}");
    let dir = common::tempdir("tokenizer-unchecked");
    let (out, stderr) = run(&bench("mock", &dir, data, &["--processor", &qwen]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let unchecked: Vec<String> = prompts(&dir).into_iter().map(|p| p.0).collect();
    let checked: Vec<String> = checked.into_iter().map(|p| p.0).collect();
    assert_eq!(checked, unchecked);

    // A mock without --processor only estimates token counts: it serves no
    // /tokenize (as a server without one), so nothing is compared or warned.
    let estimating = MockProcess::start(&["--ttft-ms", "1", "--itl-ms", "1", "--model", "m"]);
    let dir = common::tempdir("tokenizer-estimate");
    let (out, stderr) = run(&bench(&estimating.url, &dir, data, &["--processor", &gpt2]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

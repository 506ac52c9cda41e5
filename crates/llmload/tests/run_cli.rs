//! `llmload run`, GuideLLM 0.8.1's command line, against the mock: the
//! reference's example commands with `guidellm` replaced by `llmload`, the
//! built-in rhaiis scenarios shortened with overrides, and bad kinds and
//! keys refused in one line with exit code 2.

mod common;

use std::path::Path;

use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_reference_examples_run_with_llmload_in_place_of_guidellm() {
    // The mock serves the tokenizer's directory as its model, so llmload
    // finds the tokenizer from /v1/models as it would a vLLM's.
    let gpt2 = common::shared("tokenizers/gpt2");
    let model = gpt2.display().to_string();
    let mock = common::MockProcess::start(&["--ttft-ms", "5", "--itl-ms", "1", "--model", &model]);
    let dir = common::tempdir("run08-examples");
    // 1: a sweep of 4 with 20 requests each, a tokenizer, JSON and CSV.
    let (out, text) = common::run_in(
        &dir.join("1"),
        &format!(
            "run --backend kind=openai_http,target={} --profile kind=sweep,sweep_size=4 \
             --constraint kind=max_requests,count=20 \
             --data kind=synthetic_text,prompt_tokens=64,output_tokens=16 \
             --tokenizer kind=huggingface_auto,model={} --output kind=json --output kind=csv \
             --disable-progress",
            mock.url,
            gpt2.display()
        ),
    );
    assert!(out.status.success(), "{text}");
    let r = json(&dir.join("1/benchmarks.json"));
    assert_eq!(r["metadata"]["version"], 2);
    assert_eq!(
        common::strategy_kinds(&r),
        ["synchronous", "throughput", "constant", "constant"]
    );
    assert_eq!(
        r["config"]["spec"]["tokenizer"]["model"],
        gpt2.display().to_string()
    );
    for b in r["benchmarks"].as_array().unwrap() {
        assert_eq!(
            b["metrics"]["request_totals"]["total"], 20,
            "{}",
            b["config"]["strategy"]
        );
    }
    assert!(dir.join("1/benchmarks.csv").exists());
    // 2: the completions route (target with /v1), constant 5 req/s, 3 requests.
    let (out, text) = common::run_in(
        &dir.join("2"),
        &format!(
            "run --backend kind=openai_http,target={}/v1,request_format=/v1/completions \
             --profile kind=constant,rate=5 --constraint kind=max_requests,count=3 \
             --data kind=synthetic_text,prompt_tokens=20,output_tokens=4 --disable-progress",
            mock.url
        ),
    );
    assert!(out.status.success(), "{text}");
    let r = json(&dir.join("2/benchmarks.json"));
    assert_eq!(
        r["config"]["spec"]["backend"]["request_format"],
        "/v1/completions"
    );
    let b = &r["benchmarks"][0];
    assert_eq!(b["metrics"]["request_totals"]["successful"], 3);
    let args: Value = serde_json::from_str(
        b["requests"]["successful"][0]["request_args"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(args["body"]["prompt"].is_string(), "{args}");
    // 3: concurrent streams from an override, one benchmark per value.
    let (out, text) = common::run_in(
        &dir.join("3"),
        &format!(
            "run --backend kind=openai_http,target={} --profile kind=concurrent \
             --constraint kind=max_requests,count=8 \
             --data kind=synthetic_text,prompt_tokens=20,output_tokens=4 \
             --override profile.streams 1,2,4,8,16 --disable-progress",
            mock.url
        ),
    );
    assert!(out.status.success(), "{text}");
    let r = json(&dir.join("3/benchmarks.json"));
    let streams: Vec<u64> = r["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["config"]["strategy"]["streams"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, [1, 2, 4, 8, 16]);
    assert_eq!(
        r["config"]["spec"]["profile"]["streams"],
        serde_json::json!([1, 2, 4, 8, 16])
    );
}

#[test]
fn every_rhaiis_scenario_runs_shortened() {
    // Fast tokens (1000 in 0.2 s), so a 2 s benchmark completes requests;
    // the mock counts prompt tokens with the tokenizer llmload finds.
    let model = common::shared("tokenizers/gpt2").display().to_string();
    let mock = common::MockProcess::start(&[
        "--ttft-ms",
        "5",
        "--itl-ms",
        "0.2",
        "--model",
        &model,
        "--processor",
        &model,
    ]);
    let dir = common::tempdir("run08-rhaiis");
    let scenarios = [
        ("concurrent-1k-1k-equal", 1000),
        ("concurrent-2ki-128-equal", 2048),
        ("concurrent-512-2ki-norm", 512),
        ("concurrent-8k-1k-equal", 8000),
        ("concurrent-8k-800-norm", 8000),
        ("concurrent-100k-1k-equal", 100_000),
    ];
    for (name, prompt) in scenarios {
        let (out, text) = common::run_in(
            &dir.join(name),
            &format!(
                "run --scenario rhaiis/{name} --backend kind=openai_http,target={} \
                 --constraint kind=max_duration,seconds=2 --override profile.streams 1,2 \
                 --output kind=json --disable-progress --disable-console-outputs",
                mock.url
            ),
        );
        assert!(out.status.success(), "{name}: {text}");
        let r = json(&dir.join(name).join("benchmarks.json"));
        let spec = &r["config"]["spec"];
        assert_eq!(spec["data"][0]["prompt_tokens"], prompt, "{name}");
        assert_eq!(
            spec["profile"]["streams"],
            serde_json::json!([1, 2]),
            "{name}"
        );
        assert_eq!(spec["constraints"][0]["seconds"], 2, "{name}");
        assert_eq!(r["benchmarks"].as_array().unwrap().len(), 2, "{name}");
        let d = &spec["data"][0];
        for b in r["benchmarks"].as_array().unwrap() {
            let t = &b["metrics"]["request_totals"];
            assert!(t["successful"].as_u64().unwrap() >= 1, "{name}: {t}");
            // Equal lengths exactly; normal ones (stdev, min, max) within bounds.
            for req in b["requests"]["successful"].as_array().unwrap() {
                let p = req["prompt_tokens"].as_u64().unwrap();
                match d["prompt_tokens_stdev"].as_u64() {
                    None => assert_eq!(p, prompt, "{name}"),
                    Some(_) => {
                        let (lo, hi) = (
                            d["prompt_tokens_min"].as_u64().unwrap(),
                            d["prompt_tokens_max"].as_u64().unwrap(),
                        );
                        assert!(lo <= p && p <= hi, "{name}: {p} outside {lo}..{hi}");
                    }
                }
            }
        }
    }
    // Multi-turn with shared prefixes: 5 turns of 1000/1000 tokens, 10
    // prefixes of 512; 3 s at 1 and 2 streams hold whole conversations.
    let name = "concurrent-1k-1k-multiturn";
    let (out, text) = common::run_in(
        &dir.join(name),
        &format!(
            "run --scenario rhaiis/{name} --backend kind=openai_http,target={} \
             --constraint kind=max_duration,seconds=3 --override profile.streams 1,2 \
             --output kind=json --disable-progress --disable-console-outputs",
            mock.url
        ),
    );
    assert!(out.status.success(), "{name}: {text}");
    let r = json(&dir.join(name).join("benchmarks.json"));
    let d = &r["config"]["spec"]["data"][0];
    assert_eq!(d["turns"], 5, "{d}");
    assert_eq!(
        d["prefix_buckets"],
        serde_json::json!([{"bucket_weight": 100, "prefix_count": 10, "prefix_tokens": 512}])
    );
    for b in r["benchmarks"].as_array().unwrap() {
        let reqs = b["requests"]["successful"].as_array().unwrap();
        let later = reqs
            .iter()
            .filter(|q| q["info"]["turn_index"].as_u64() > Some(0))
            .count();
        assert!(later >= 1, "{name}: no later turn completed");
        assert!(b["metrics"]["turns"]
            .as_array()
            .is_some_and(|t| t.len() >= 2));
        for q in reqs.iter().filter(|q| q["info"]["turn_index"] == 0) {
            // 512 prefix tokens (a system message) and 1000 of its own.
            assert_eq!(q["prompt_tokens"], 1512, "{name}");
        }
    }
}

#[test]
fn bad_kinds_and_keys_get_one_line_naming_them_and_exit_2() {
    let dir = common::tempdir("run08-bad");
    let base =
        "run --backend kind=openai_http,target=mock --data kind=synthetic_text,prompt_tokens=8";
    for (extra, names) in [
        ("--profile kind=knee", ["--profile", "knee"]),
        ("--profile kind=nosuch", ["--profile", "nosuch"]),
        (
            "--profile kind=constant,rate=1,bogus=2",
            ["--profile", "bogus"],
        ),
        ("--profile rate=1", ["--profile", "'kind'"]),
        (
            "--profile kind=constant,rate=1 --constraint kind=max_requests,cnt=3",
            ["--constraint", "cnt"],
        ),
        (
            "--profile kind=constant,rate=1 --output kind=plot",
            ["--output", "plot"],
        ),
        (
            "--profile kind=constant,rate=1 --metrics kind=generative,confidence=0.9",
            ["--metrics", "confidence"],
        ),
    ] {
        let (out, text) = common::run_in(&dir, &format!("{base} {extra} --disable-progress"));
        assert_eq!(out.status.code(), Some(2), "{extra}: {text}");
        assert_eq!(text.trim().lines().count(), 1, "{extra}: {text}");
        for n in names {
            assert!(text.contains(n), "{extra}: {text} lacks {n}");
        }
    }
}

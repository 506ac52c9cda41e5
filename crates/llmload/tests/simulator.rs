//! The simulated vLLM engine (`mock-server --simulate`) as a server that
//! behaves like a real one: its /metrics agree with what llmload measured,
//! its queue rises and falls with the load, and every verdict llmload
//! reaches about it (max-throughput search, sweep, over-saturation, the
//! OpenNebula and Red Hat flows) agrees with the knee its model puts at
//! `EngineModel::sustainable_rate`.
//!
//! These tests take the whole machine (.config/nextest.toml): their timing
//! verdicts must not share the two cores with other tests.

mod common;

use common::scrape;

use std::process::Stdio;
use std::time::{Duration, Instant};

use llmload_mock::EngineModel;
use serde_json::Value;

/// The simulated engine of the verdict tests: a batch of 16, 2 ms steps.
const ENGINE: &str =
    "--simulate --max-num-seqs 16 --step-ms 2 --step-per-seq-ms 0.1 --prefill-ms-per-token 0.005";
/// 512/256-token requests, exactly.
const DATA: &str = "prompt_tokens=512,output_tokens=256";

/// The knee of [`ENGINE`] at 512/256 tokens: ~16.65 req/s.
fn knee() -> f64 {
    EngineModel {
        max_num_seqs: 16,
        step_base: Duration::from_millis(2),
        step_per_seq: Duration::from_micros(100),
        prefill_per_token: Duration::from_micros(5),
        ..EngineModel::default()
    }
    .sustainable_rate(512, 256)
}

fn simulator() -> common::MockProcess {
    let gpt2 = common::shared("tokenizers/gpt2");
    common::MockProcess::start(&common::words(&format!(
        "{ENGINE} --processor {}",
        gpt2.display()
    )))
}

fn gpt2() -> String {
    common::shared("tokenizers/gpt2").display().to_string()
}

fn output(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `llmload.verdict` of every benchmark of a report.
fn verdicts(report: &Value) -> Vec<Value> {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["llmload"]["verdict"].clone())
        .collect()
}

fn sum_of(report: &Value, key: &str) -> f64 {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["requests"]["successful"].as_array().unwrap())
        .map(|r| r[key].as_f64().unwrap())
        .sum()
}

#[test]
fn metrics_agree_with_llmloads_totals_and_the_queue_rises_and_falls() {
    let dir = common::tempdir("sim-metrics");
    let gpt2 = common::shared("tokenizers/gpt2");
    let mock = common::MockProcess::start(&common::words(&format!(
        "--simulate --max-num-seqs 4 --step-ms 2 --step-per-seq-ms 0.2 \
         --prefill-ms-per-token 0.01 --chat-template-tokens 29 --processor {}",
        gpt2.display()
    )));
    let before = scrape(&mock.url);
    assert_eq!(before["vllm:num_requests_running"], 0.0);
    // 12 streams against a batch of 4: 8 always wait.
    let mut child = common::llmload()
        .args(common::words(&format!(
            "benchmark --target {} --rate-type concurrent --rate 12 --max-requests 60 \
             --data prompt_tokens=64,output_tokens=48 --processor {} --disable-progress \
             --output-dir {} --outputs json",
            mock.url,
            gpt2.display(),
            dir.display()
        )))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Watch the server while the run goes: the batch fills and a queue forms.
    let (mut max_running, mut max_waiting) = (0.0f64, 0.0f64);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let m = scrape(&mock.url);
        max_running = max_running.max(m["vllm:num_requests_running"]);
        max_waiting = max_waiting.max(m["vllm:num_requests_waiting"]);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(max_running, 4.0, "the batch filled to --max-num-seqs");
    assert!(max_waiting >= 4.0, "a queue formed: {max_waiting}");
    let after = scrape(&mock.url);
    assert_eq!(after["vllm:num_requests_running"], 0.0);
    assert_eq!(after["vllm:num_requests_waiting"], 0.0);
    assert_eq!(after["vllm:kv_cache_usage_perc"], 0.0);

    let report = common::report(&dir);
    let delta = |k: &str| after[k] - before[k];
    // Every request finished (no cut-off): the server's counters equal llmload's totals.
    assert_eq!(
        delta("vllm:prompt_tokens_total"),
        sum_of(&report, "prompt_tokens")
    );
    assert_eq!(
        delta("vllm:generation_tokens_total"),
        sum_of(&report, "output_tokens")
    );
    assert_eq!(delta("vllm:request_success_total"), 60.0);
    // Chat prompts carry the template's 29 tokens in usage, as vLLM reports them.
    let first = &report["benchmarks"][0]["requests"]["successful"][0];
    assert_eq!(first["prompt_tokens"], 64 + 29);
    assert_eq!(delta("vllm:time_to_first_token_seconds_count"), 60.0);
    assert!(delta("vllm:request_queue_time_seconds_sum") > 0.0);
}

#[test]
fn the_search_finds_the_knee_of_the_model() {
    let r = knee();
    assert!((r - 16.65).abs() < 0.01, "{r}");
    let mock = simulator();
    let dir = common::tempdir("sim-search");
    let out = common::run(&common::words(&format!(
        "benchmark --target {} --rate-type search --rate 4 --max-seconds 4 --data {DATA} \
         --processor {} --disable-progress --output-dir {} --outputs json,html",
        mock.url,
        gpt2(),
        dir.display()
    )));
    assert!(out.status.success(), "{}", output(&out));
    let report = common::report(&dir);
    // GuideLLM's loader knows no "search" profile: its steps are constant rates.
    assert_eq!(report["args"]["profile"], "constant");
    let search = &report["llmload"]["search"];
    let best = search["best_rate"].as_f64().unwrap();
    let steps: Vec<String> = search["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{:.2} {}", s["rate"], s["outcome"]))
        .collect();
    assert!(
        (best - r).abs() / r <= 0.10,
        "best {best} vs knee {r}: {steps:?}"
    );
    // Every step above the knee was the server's doing, every one below sustained.
    for s in search["steps"].as_array().unwrap() {
        let rate = s["rate"].as_f64().unwrap();
        if rate > 1.1 * r {
            assert_eq!(s["outcome"], "saturated", "{steps:?}");
        }
        if rate < 0.9 * r {
            assert_eq!(s["outcome"], "sustained", "{steps:?}");
        }
    }
    assert!(dir.join("benchmarks.html").is_file());
}

#[test]
fn sweep_rates_lie_between_its_synchronous_and_throughput_rates() {
    let r = knee();
    let mock = simulator();
    let dir = common::tempdir("sim-sweep");
    let out = common::run(&common::words(&format!(
        "benchmark --target {} --rate-type sweep --rate 5 --max-seconds 5 --data {DATA} \
         --processor {} --disable-progress --output-dir {} --outputs json",
        mock.url,
        gpt2(),
        dir.display()
    )));
    assert!(out.status.success(), "{}", output(&out));
    let report = common::report(&dir);
    let b = report["benchmarks"].as_array().unwrap();
    assert_eq!(b.len(), 5);
    let rate = |i: usize| {
        b[i]["metrics"]["requests_per_second"]["successful"]["mean"]
            .as_f64()
            .unwrap()
    };
    let (sync, thr) = (rate(0), rate(1));
    // One stream: one request per request latency (~0.6 s); 512 streams: the knee,
    // less the first latency of the 5 s window before anything completes (on a
    // loaded 2-core CI host with debug builds that start took half of it: 9.6
    // against a knee of 16.65 was seen).
    assert!(sync > 0.5 && sync < 3.0, "{sync}");
    assert!(
        thr > 0.5 * r && thr < 1.15 * r,
        "throughput {thr} vs knee {r}"
    );
    for x in &b[2..] {
        let asked = x["config"]["strategy"]["rate"].as_f64().unwrap();
        assert!(
            asked > sync && asked <= thr + 1e-9,
            "{asked} not in ({sync}, {thr}]"
        );
        let v = &x["llmload"]["verdict"];
        if asked < 0.9 * r {
            assert_eq!(v["outcome"], "sustained", "{v}");
        }
    }
}

#[test]
fn over_saturation_stops_a_run_at_one_and_a_half_times_the_knee() {
    let r = knee();
    let mock = simulator();
    let dir = common::tempdir("sim-oversat");
    let rate = format!("{:.2}", 1.5 * r);
    let started = Instant::now();
    let out = common::run(&[
        "benchmark",
        "--target",
        &mock.url,
        "--rate-type",
        "constant",
        "--rate",
        &rate,
        "--max-seconds",
        "120",
        "--data",
        DATA,
        "--processor",
        &gpt2(),
        "--over-saturation",
        r#"{"min_seconds": 5, "max_window_seconds": 15, "minimum_ttft": 0.1}"#,
        "--disable-progress",
        "--output-dir",
        dir.to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    assert!(out.status.success(), "{}", output(&out));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let report = common::report(&dir);
    let b = &report["benchmarks"][0];
    assert_eq!(
        b["llmload"]["stopped_sending"]["reason"], "over_saturation",
        "{}",
        b["llmload"]
    );
    assert_eq!(b["llmload"]["verdict"]["outcome"], "saturated");
    // And below the knee, the detector stays quiet for as long.
    let calm = common::tempdir("sim-calm");
    let rate = format!("{:.2}", 0.7 * r);
    let out = common::run(&[
        "benchmark",
        "--target",
        &mock.url,
        "--rate-type",
        "constant",
        "--rate",
        &rate,
        "--max-seconds",
        "20",
        "--data",
        DATA,
        "--processor",
        &gpt2(),
        "--over-saturation",
        r#"{"min_seconds": 5, "max_window_seconds": 15, "minimum_ttft": 0.1}"#,
        "--disable-progress",
        "--output-dir",
        calm.to_str().unwrap(),
        "--outputs",
        "json",
    ]);
    assert!(out.status.success(), "{}", output(&out));
    let b = &common::report(&calm)["benchmarks"][0];
    assert_eq!(
        b["llmload"]["stopped_sending"]["reason"], "max_seconds",
        "{}",
        b["llmload"]
    );
    assert_eq!(b["llmload"]["verdict"]["outcome"], "sustained");
}

#[test]
fn opennebula_runs_ten_sustained_rates_below_the_rate_found() {
    let r = knee();
    let mock = simulator();
    let dir = common::tempdir("sim-opennebula");
    let out = common::run(&common::words(&format!(
        "validate opennebula --target {} --processor {} --data {DATA} --step-seconds 4 \
         --run-seconds 8 --gpu none --vcpus 2 --ram-gb 24 --disable-progress --output-dir {}",
        mock.url,
        gpt2(),
        dir.display()
    )));
    let text = output(&out);
    assert!(out.status.success(), "{text}");
    let search = common::report(&dir.join("search"));
    let best = search["llmload"]["search"]["best_rate"].as_f64().unwrap();
    assert!(
        (best - r).abs() / r <= 0.10,
        "best {best} vs knee {r}\n{text}"
    );
    let runs = common::report(&dir);
    let v = verdicts(&runs);
    assert_eq!(v.len(), 10);
    for v in &v {
        let (asked, achieved) = (v["rate"].as_f64().unwrap(), v["achieved"].as_f64().unwrap());
        assert!(asked < best, "{asked} >= {best}");
        assert_eq!(v["outcome"], "sustained", "{v}\n{text}");
        assert!(achieved >= 0.95 * asked, "{v}");
    }
    assert!(text.contains("Maximum sustainable rate"), "{text}");
}

#[test]
fn a_red_hat_matrix_across_the_knee_rises_with_the_rate_and_passes_monotonic() {
    let r = knee();
    let mock = simulator();
    let dir = common::tempdir("sim-redhat");
    let rates = [0.25 * r, 0.5 * r, 0.75 * r, 1.4 * r].map(|x| format!("{x:.2}"));
    let out = common::run(&common::words(&format!(
        "validate redhat --target {} --processor {} --scenario chat --rates {} --max-seconds 6 \
         --tolerance 0.4 --disable-progress --output-dir {}",
        mock.url,
        gpt2(),
        rates.join(","),
        dir.display()
    )));
    let text = output(&out);
    assert!(out.status.success(), "{text}");
    let mut ttft = Vec::new();
    let mut latency = Vec::new();
    let mut outcome = Vec::new();
    for rate in &rates {
        let rps = llmload_report::html::short_number(rate.parse().unwrap());
        let report = common::report(&dir.join(format!("chat/rps{rps}")));
        let m = &report["benchmarks"][0]["metrics"];
        ttft.push(
            m["time_to_first_token_ms"]["successful"]["median"]
                .as_f64()
                .unwrap(),
        );
        latency.push(
            m["request_latency"]["successful"]["median"]
                .as_f64()
                .unwrap(),
        );
        outcome.push(verdicts(&report)[0]["outcome"].clone());
    }
    // Below the knee TTFT is prefill plus a wait for the step in flight,
    // flat but for noise: a rung of 20-60 requests whose arrivals fall late
    // in the 2-4 ms steps moves its median by up to a step (CI saw 7.64,
    // 10.09, 7.96 ms), so neither this nor the flow's check (--tolerance
    // 0.4 above, 10 % by default for long runs) can ask more of TTFT there.
    // Beyond the knee the queue makes it jump; latency (256 steps) and the
    // verdicts carry the rest.
    assert!(ttft.windows(2).all(|w| w[1] >= 0.6 * w[0]), "TTFT {ttft:?}");
    assert!(ttft[3] > 2.0 * ttft[2], "TTFT across the knee {ttft:?}");
    assert!(
        latency.windows(2).all(|w| w[1] > w[0]),
        "latency {latency:?}"
    );
    assert_eq!(outcome[..3], ["sustained"; 3], "{outcome:?}");
    assert_eq!(outcome[3], "saturated", "{outcome:?}");
    assert!(
        text.contains("saturated at"),
        "the check stops at the knee:\n{text}"
    );
}

/// Two busy loops on the host's cores (each in its own session, as a
/// co-located server would be), stopped when dropped.
struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    fn start() -> BusyLoops {
        BusyLoops(
            (0..2)
                .map(|_| {
                    std::process::Command::new("setsid")
                        .args(["sh", "-c", "while :; do :; done"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn on_a_busy_host_the_search_finds_the_knee_or_blames_the_host() {
    let r = knee();
    let mock = simulator();
    let dir = common::tempdir("sim-busy-search");
    let loops = BusyLoops::start();
    let out = common::run(&common::words(&format!(
        "benchmark --target {} --rate-type search --rate 4 --max-seconds 4 --data {DATA} \
         --processor {} --disable-progress --output-dir {} --outputs json",
        mock.url,
        gpt2(),
        dir.display()
    )));
    drop(loops);
    assert!(out.status.success(), "{}", output(&out));
    let report = common::report(&dir);
    let search = &report["llmload"]["search"];
    let steps = search["steps"].as_array().unwrap();
    let best = search["best_rate"].as_f64().unwrap_or(0.0);
    let summary: Vec<String> = steps
        .iter()
        .map(|s| format!("{:.2} {} {}", s["rate"], s["outcome"], s["reasons"]))
        .collect();
    if (best - r).abs() / r <= 0.10 {
        return;
    }
    // Otherwise the rate found is low only because llmload could not measure
    // higher: the steps that bounded it are invalid, the host named, and no
    // rate below the knee was called saturated.
    assert!(search["client_ceiling"].is_number(), "{summary:#?}");
    for s in steps {
        let rate = s["rate"].as_f64().unwrap();
        if rate < r {
            assert_ne!(s["outcome"], "saturated", "{summary:#?}");
        }
        if s["outcome"] == "invalid" {
            let why = s["reasons"].to_string();
            assert!(
                why.contains("host CPU") || why.contains("too short"),
                "{summary:#?}"
            );
        }
    }
}

#[test]
fn repeated_prompts_hit_the_prefix_cache_as_the_server_counts_them() {
    let dir = common::tempdir("sim-prefix");
    let gpt2 = common::shared("tokenizers/gpt2");
    let mock = common::MockProcess::start(&common::words(&format!(
        "--simulate --enable-prefix-caching --step-ms 1 --processor {}",
        gpt2.display()
    )));
    // 4 different prompts of ~300 words, each sent 5 times, one at a time.
    let words = ["alpha", "bravo", "charlie", "delta"];
    let mut lines = String::new();
    for _ in 0..5 {
        for (i, w) in words.iter().enumerate() {
            let text = format!("{i} {}", vec![*w; 300].join(" "));
            lines.push_str(&serde_json::json!({ "prompt": text }).to_string());
            lines.push('\n');
        }
    }
    let data = dir.join("repeats.jsonl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&data, lines).unwrap();
    let before = scrape(&mock.url);
    let out = common::run(&common::words(&format!(
        "benchmark --target {} --rate-type synchronous --max-requests 20 --data {} \
         --processor {} --schema 0.8 --outputs json --disable-progress \
         --disable-console-outputs --output-dir {}",
        mock.url,
        data.display(),
        gpt2.display(),
        dir.display()
    )));
    assert!(out.status.success(), "{}", output(&out));
    let after = scrape(&mock.url);
    let hits = after["vllm:prefix_cache_hits_total"] - before["vllm:prefix_cache_hits_total"];
    let report = common::report(&dir);
    let b = &report["benchmarks"][0];
    let reqs = b["requests"]["successful"].as_array().unwrap();
    assert_eq!(reqs.len(), 20);
    let cached: u64 = reqs
        .iter()
        .map(|r| r["cached_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(
        cached as f64, hits,
        "the requests' cached_tokens and the server's counter"
    );
    let first: Vec<u64> = reqs[..4]
        .iter()
        .map(|r| r["cached_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(
        first,
        [0, 0, 0, 0],
        "the first of each prompt finds nothing cached"
    );
    let cache = &b["llmload"]["prefix_cache"];
    assert_eq!(cache["cached_tokens"].as_u64(), Some(cached));
    let pct = cache["hit_percent"].as_f64().unwrap();
    // 16 of 20 repeat a prompt, whose full 16-token blocks are all cached.
    assert!((70.0..80.0).contains(&pct), "{cache}");
    assert_eq!(
        reqs[5]["input_metrics"]["cached_tokens"],
        reqs[5]["cached_tokens"]
    );
}

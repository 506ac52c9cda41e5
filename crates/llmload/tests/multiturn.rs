//! Multi-turn conversations with shared prefixes (GuideLLM 0.8's
//! `synthetic_text` `turns` and `prefix_*`) against the simulated engine
//! with its prefix cache: each turn carries the conversation so far with
//! the replies the server actually sent, the cache's hits are those the
//! shared prefixes and histories predict, and the report's cache-hit % is
//! the server's own count.

mod common;

use std::collections::BTreeMap;

use common::scrape;
use serde_json::Value;

/// Where ours may be null or empty (as in tests/schema2.rs): the data
/// generation delay llmload does not have, warnings, length spreads.
const OPTIONAL: [&str; 4] = [
    ".benchmarks[].scheduler_metrics.generation_delay",
    ".benchmarks[].warnings[]",
    ".config.spec.data[].prompt_tokens_stdev",
    ".config.spec.data[].output_tokens_stdev",
];

/// The simulator's KV block (vLLM's default) and chat template tokens.
const BLOCK: u64 = 16;
const TEMPLATE: u64 = 29;

fn simulator() -> common::MockProcess {
    let gpt2 = common::shared("tokenizers/gpt2").display().to_string();
    common::MockProcess::start(&common::words(&format!(
        "--simulate --enable-prefix-caching --step-ms 1 --chat-template-tokens {TEMPLATE} \
         --processor {gpt2} --model {gpt2}"
    )))
}

fn run(dir: &std::path::Path, line: &str) -> Value {
    let (out, text) = common::run_in(dir, line);
    assert!(out.status.success(), "{text}");
    common::report(dir)
}

/// The successful requests of a benchmark by conversation, each in turn order.
fn conversations(b: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in b["requests"]["successful"].as_array().unwrap() {
        let id = r["info"]["conversation_id"].as_str().unwrap().to_string();
        by.entry(id).or_default().push(r.clone());
    }
    for turns in by.values_mut() {
        turns.sort_by_key(|r| r["info"]["turn_index"].as_u64().unwrap());
    }
    by
}

fn body(r: &Value) -> Value {
    let args: Value = serde_json::from_str(r["request_args"].as_str().unwrap()).unwrap();
    args["body"].clone()
}

#[test]
fn turns_carry_the_real_replies_and_hit_the_prefix_cache_as_predicted() {
    let mock = simulator();
    let dir = common::tempdir("multiturn-concurrent");
    let before = scrape(&mock.url);
    // 4 conversations of 3 turns, one at a time; 2 shared prefixes of 64 tokens.
    let r = run(
        &dir,
        &format!(
            r#"run --backend kind=openai_http,target={} --profile kind=concurrent,streams=1
               --constraint kind=max_requests,count=12
               --data {{"kind":"synthetic_text","prompt_tokens":40,"output_tokens":8,"turns":3,"prefix_tokens":64,"prefix_count":2}}
               --output kind=json --disable-progress --disable-console-outputs"#,
            mock.url
        ),
    );
    let after = scrape(&mock.url);
    let b = &r["benchmarks"][0];
    let convs = conversations(b);
    assert_eq!(convs.len(), 4, "{convs:#?}");
    let mut prefixes_seen = std::collections::BTreeSet::new();
    let mut first_request = true;
    let mut cached_sum = 0;
    // The requests in the order they were sent (one at a time).
    let mut ordered: Vec<&Value> = convs.values().flatten().collect();
    ordered.sort_by(|a, b| {
        let t = |r: &Value| r["info"]["timings"]["request_start"].as_f64().unwrap();
        t(a).total_cmp(&t(b))
    });
    for req in ordered {
        let conv = &convs[req["info"]["conversation_id"].as_str().unwrap()];
        let k = req["info"]["turn_index"].as_u64().unwrap() as usize;
        assert_eq!(conv[k]["request_id"], req["request_id"]);
        let msgs = body(req)["messages"].as_array().unwrap().clone();
        // system, then (user, assistant) per earlier turn, then this user turn.
        assert_eq!(msgs.len(), 2 + 2 * k, "turn {k}: {msgs:#?}");
        assert_eq!(msgs[0]["role"], "system");
        let system = msgs[0]["content"].as_str().unwrap().to_string();
        for (j, earlier) in conv[..k].iter().enumerate() {
            let sent = body(earlier)["messages"].as_array().unwrap().clone();
            assert_eq!(msgs[1 + 2 * j], sent[1 + 2 * j], "turn {j}'s user message");
            assert_eq!(msgs[2 + 2 * j]["role"], "assistant");
            // The reply the server sent for turn j, as llmload received it.
            assert_eq!(
                msgs[2 + 2 * j]["content"],
                earlier["output"],
                "turn {j}'s reply in turn {k}'s history"
            );
            assert_eq!(earlier["output_tokens"], 8);
        }
        assert_eq!(msgs.last().unwrap()["role"], "user");
        assert_eq!(req["info"]["history_len"], k);
        if k > 0 {
            let prev = &conv[k - 1];
            let t = &req["info"]["timings"];
            assert!(
                t["predecessor_completed"].as_f64().unwrap()
                    >= prev["info"]["timings"]["request_end"].as_f64().unwrap(),
            );
            assert!(t["request_start"].as_f64() >= t["predecessor_completed"].as_f64());
        }
        // What the cache holds when this request arrives: every full block
        // of the turn before (its prompt is this one's start), or for a
        // first turn the template's first block and, when an earlier
        // conversation had the same prefix, every full block of template,
        // prefix and the next message's 5 template tokens.
        let predicted = if k > 0 {
            conv[k - 1]["prompt_tokens"].as_u64().unwrap() / BLOCK * BLOCK
        } else if first_request {
            0
        } else if prefixes_seen.contains(&system) {
            (TEMPLATE + 64 + 5) / BLOCK * BLOCK
        } else {
            TEMPLATE / BLOCK * BLOCK
        };
        assert_eq!(
            req["cached_tokens"].as_u64(),
            Some(predicted),
            "turn {k} of a conversation (prefix seen before: {})",
            prefixes_seen.contains(&system)
        );
        cached_sum += predicted;
        prefixes_seen.insert(system);
        first_request = false;
    }
    assert!(prefixes_seen.len() <= 2, "at most 2 shared prefixes");
    let hits = after["vllm:prefix_cache_hits_total"] - before["vllm:prefix_cache_hits_total"];
    let queries =
        after["vllm:prefix_cache_queries_total"] - before["vllm:prefix_cache_queries_total"];
    assert_eq!(cached_sum as f64, hits, "the server's own count");
    let cache = &b["llmload"]["prefix_cache"];
    let pct = cache["hit_percent"].as_f64().unwrap();
    assert!(
        (pct - 100.0 * hits / queries).abs() < 1e-9,
        "report {pct}% vs server {}%",
        100.0 * hits / queries
    );
    let by_turn = cache["by_turn"].as_array().unwrap();
    assert_eq!(by_turn.len(), 3, "{cache}");
    let pct_at = |k: usize| by_turn[k]["hit_percent"].as_f64().unwrap();
    assert!(pct_at(0) < pct_at(1) && pct_at(1) < pct_at(2), "{cache}");
    // Per-turn metrics as GuideLLM 0.8 writes them.
    let turns = b["metrics"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    for (k, t) in turns.iter().enumerate() {
        assert_eq!(t["turn_index"], k);
        assert_eq!(t["request_totals"]["successful"], 4);
        assert!(t["prompt_token_count"]["successful"]["mean"].as_f64() > Some(0.0));
    }
    let p = |k: usize| turns[k]["prompt_token_count"]["successful"]["mean"].as_f64();
    assert!(p(0) < p(1) && p(1) < p(2));
    // Every conversation's first request is a root; no arrival schedule.
    assert_eq!(b["metrics"]["root_dispatch_delay"]["count"], 4);
    assert!(b["metrics"]["turn_predecessor_delay"].is_null());
}

#[test]
fn under_a_constant_rate_a_reply_makes_its_next_turn_due_at_the_next_arrival() {
    let mock = simulator();
    let dir = common::tempdir("multiturn-constant");
    let r = run(
        &dir,
        &format!(
            r#"run --backend kind=openai_http,target={} --profile kind=constant,rate=20
               --constraint kind=max_requests,count=30
               --data {{"kind":"synthetic_text","prompt_tokens":30,"output_tokens":4,"turns":3}}
               --output kind=json --disable-progress --disable-console-outputs"#,
            mock.url
        ),
    );
    let b = &r["benchmarks"][0];
    let convs = conversations(b);
    let total: usize = convs.values().map(Vec::len).sum();
    assert_eq!(total, 30);
    for turns in convs.values() {
        for (k, req) in turns.iter().enumerate() {
            let info = &req["info"];
            assert_eq!(
                info["turn_index"], k,
                "a conversation's turns all arrive, in order"
            );
            let t = &info["timings"];
            // Every request takes an arrival of the schedule: targets 50 ms apart.
            let target = t["targeted_start"].as_f64().unwrap();
            let start = t["request_start"].as_f64().unwrap();
            assert!(start >= target);
            if k > 0 {
                let prev_end = turns[k - 1]["info"]["timings"]["request_end"]
                    .as_f64()
                    .unwrap();
                assert!(start > prev_end, "turn {k} sent after turn {} ended", k - 1);
                let delay = req["turn_predecessor_delay"].as_f64().unwrap();
                let done = t["predecessor_completed"].as_f64().unwrap();
                assert!((delay - (done.min(start) - target).max(0.0)).abs() < 1e-9);
            } else {
                assert_eq!(req["turn_predecessor_delay"], 0.0);
            }
        }
    }
    let targets: Vec<f64> = convs
        .values()
        .flatten()
        .map(|r| r["info"]["timings"]["targeted_start"].as_f64().unwrap())
        .collect();
    let (lo, hi) = targets
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &t| (a.min(t), b.max(t)));
    assert!(
        (hi - lo - 29.0 / 20.0).abs() < 0.01,
        "30 arrivals at 20/s: {lo}..{hi}"
    );
    assert_eq!(
        b["metrics"]["turn_predecessor_delay"]["successful"]["count"],
        30
    );
    let sched = &b["metrics"]["turn_scheduling_delay"]["successful"]["count"];
    assert_eq!(sched, 30);
}

#[test]
fn a_run_shaped_like_guidellms_multi_turn_fixture_covers_its_report() {
    // The fixture's command (streams 1 and 2, 3 turns, 2 prefixes of 64
    // tokens, a duration cut), against the simulator.
    let mock = simulator();
    let dir = common::tempdir("multiturn-fixture");
    let gpt2 = common::shared("tokenizers/gpt2").display().to_string();
    let r = run(
        &dir,
        &format!(
            r#"run --backend kind=openai_http,target={} --profile kind=concurrent
               --override profile.streams 1,2 --constraint kind=max_duration,seconds=2
               --tokenizer kind=huggingface_auto,model={gpt2}
               --data {{"kind":"synthetic_text","prompt_tokens":100,"output_tokens":64,"turns":3,"prefix_buckets":[{{"bucket_weight":100,"prefix_count":2,"prefix_tokens":64}}]}}
               --output kind=json --output kind=csv --disable-progress --disable-console-outputs"#,
            mock.url
        ),
    );
    // Which turns were cut off at the end (fixture: later ones) depends on the run.
    let mut optional = OPTIONAL.to_vec();
    optional.push(".benchmarks[].requests.incomplete[].info.parent_node_ids");
    optional.push(".benchmarks[].requests.incomplete[].info.timings.predecessor_completed");
    // A later turn cut off before the server's usage came has no prompt
    // count: llmload knows its own new tokens, not the history's as the
    // server counts them, and writes none rather than a guess.
    optional.extend([
        ".benchmarks[].requests.incomplete[].input_metrics.text_tokens",
        ".benchmarks[].requests.incomplete[].input_metrics.total_tokens",
        ".benchmarks[].requests.incomplete[].prompt_tokens",
        ".benchmarks[].requests.incomplete[].total_tokens",
    ]);
    common::keypaths::assert_covers_08(&r, "multiturn/benchmarks.json", &optional);
    common::keypaths::assert_csv_covers_08(&dir.join("benchmarks.csv"), "multiturn/benchmarks.csv");
    for b in r["benchmarks"].as_array().unwrap() {
        assert_eq!(
            b["metrics"]["turns"].as_array().map(Vec::len),
            Some(3),
            "{}",
            b["metrics"]["turns"]
        );
    }
}

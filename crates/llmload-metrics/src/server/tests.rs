use super::*;

fn shared(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/{rel}", env!("LLMLOAD_SHARED"))).unwrap()
}

fn t(secs: f64) -> Timestamp {
    Timestamp::from_secs_f64(1_796_188_000.0 + secs).unwrap()
}

/// The fixture's scrapes (`# scrape_unix_ns N` before each), stamped at N.
fn fixture_scrapes() -> Vec<ServerScrape> {
    let text = shared("fixtures/vllm-0.32-metrics/scrapes-constant-2rps.txt");
    let mut out = Vec::new();
    let mut parts = text.split("# scrape_unix_ns ").skip(1);
    for part in parts.by_ref() {
        let (ns, body) = part.split_once('\n').unwrap();
        let at = Timestamp::from_nanos(ns.trim().parse().unwrap());
        out.push(parse_scrape(body, at));
    }
    out
}

#[test]
fn a_vllm_032_scrape_reads_counters_gauges_and_histograms() {
    let s = parse_scrape(&shared("fixtures/vllm-0.32-wire/metrics.txt"), t(0.0));
    for name in [
        "vllm:generation_tokens_total",
        "vllm:prompt_tokens_total",
        "vllm:request_success_total",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prefix_cache_queries_total",
    ] {
        assert!(s.values.contains_key(name), "{name}: {:?}", s.values.keys());
    }
    assert!(!s.values.keys().any(|k| k.ends_with("_created")));
    assert!(!s.values.keys().any(|k| !k.starts_with("vllm:")));
    let ttft = &s.histograms["vllm:time_to_first_token_seconds"];
    assert!(ttft.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    assert_eq!(ttft.last().unwrap().0, f64::INFINITY);
    assert_eq!(
        ttft.last().unwrap().1,
        s.values["vllm:time_to_first_token_seconds_count"]
    );
}

#[test]
fn old_names_labels_and_escapes() {
    let text = r#"# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m",engine="0"} 0.5
vllm:gpu_cache_usage_perc{model_name="m",engine="1"} 0.25
vllm:gpu_prefix_cache_hits_total{model_name="m"} 30
vllm:gpu_prefix_cache_queries_total{model_name="m"} 120
vllm:request_success_total{finished_reason="length",model_name="a \"quoted\", name"} 7
vllm:request_success_total{finished_reason="stop",model_name="m"} 3
vllm:time_per_output_token_seconds_bucket{le="0.01",model_name="m"} 4
vllm:time_per_output_token_seconds_bucket{le="+Inf",model_name="m"} 9
process_cpu_seconds_total 12.5
"#;
    let s = parse_scrape(text, t(0.0));
    assert_eq!(
        s.values["vllm:kv_cache_usage_perc"], 0.375,
        "averaged over engines"
    );
    assert_eq!(s.values["vllm:prefix_cache_hits_total"], 30.0);
    assert_eq!(s.values["vllm:prefix_cache_queries_total"], 120.0);
    assert_eq!(
        s.values["vllm:request_success_total"], 10.0,
        "summed over reasons"
    );
    assert_eq!(
        s.histograms["vllm:inter_token_latency_seconds"],
        vec![(0.01, 4.0), (f64::INFINITY, 9.0)]
    );
    assert!(!s.values.contains_key("process_cpu_seconds_total"));
}

#[test]
fn counters_survive_a_reset_and_interpolate_at_the_window_edges() {
    let scrape = |secs: f64, v: f64, waiting: f64| {
        let mut s = ServerScrape {
            at: t(secs),
            ..ServerScrape::default()
        };
        s.values.insert("vllm:generation_tokens_total".into(), v);
        s.values.insert("vllm:num_requests_waiting".into(), waiting);
        s
    };
    // 10 -> 20 -> (restart) 5 -> 15: 10 + 5 + 10 = 25 tokens in all.
    let s = [
        scrape(0.0, 10.0, 0.0),
        scrape(1.0, 20.0, 2.0),
        scrape(2.0, 5.0, 4.0),
        scrape(3.0, 15.0, 6.0),
    ];
    let sum = ServerSummary::compile(&s, t(0.5), t(2.5)).unwrap();
    assert_eq!(sum.benchmark["vllm:generation_tokens_total"], 25.0);
    // Made monotone: 10, 20, 25, 35. At 0.5 s 15; at 2.5 s 30.
    assert_eq!(sum.window["vllm:generation_tokens_total"], 15.0);
    let w = &sum.gauges["vllm:num_requests_waiting"];
    assert_eq!((w.samples, w.min, w.max, w.mean), (2, 2.0, 4.0, 3.0));
}

#[test]
fn a_real_runs_scrapes_summarize_to_the_servers_own_deltas() {
    let s = fixture_scrapes();
    assert_eq!(s.len(), 40);
    let (first, last) = (s[0].at, s[39].at);
    let sum = ServerSummary::compile(&s, first, last).unwrap();
    // The deltas a plain reading of the fixture gives (first to last scrape).
    assert_eq!(sum.benchmark["vllm:request_success_total"], 43.0);
    assert_eq!(sum.benchmark["vllm:generation_tokens_total"], 3439.0);
    assert_eq!(sum.benchmark["vllm:prompt_tokens_total"], 10073.0);
    assert_eq!(sum.window, sum.benchmark, "the window is the whole span");
    let ttft = &sum.histograms["vllm:time_to_first_token_seconds"];
    assert_eq!(ttft.count, 43.0);
    assert!(ttft.p50 > 0.0 && ttft.p50 <= ttft.p90 && ttft.p90 <= ttft.p99);
    assert!(ttft.mean > 0.0);
    let pct = sum.prefix_cache_hit_percent.unwrap();
    assert!((pct - 100.0 * 4608.0 / 10073.0).abs() < 1e-9);
    let running = &sum.gauges["vllm:num_requests_running"];
    assert_eq!((running.samples, running.max), (40, 4.0));
    assert_eq!(sum.gauges["vllm:num_requests_waiting"].max, 0.0);
}

#[test]
fn quantiles_interpolate_within_buckets() {
    let b = [(0.1, 10.0), (0.2, 30.0), (f64::INFINITY, 40.0)];
    assert!((quantile(&b, 0.5) - 0.15).abs() < 1e-12);
    assert!((quantile(&b, 0.25) - 0.1).abs() < 1e-12);
    // In the +Inf bucket: its lower bound, as Prometheus.
    assert_eq!(quantile(&b, 0.99), 0.2);
}

//! The engine driving the real client against the real mock.

use llmload_core::Measured;
use std::sync::Arc;
use std::time::Duration;

use llmload_client::{CancellationToken, Client, ClientConfig};
use llmload_data::{tokenizer, DataPlan, PromptBuilder, SyntheticSpec, BUILTIN_CORPUS};
use llmload_engine::{
    run, successful_rate, BodyOptions, Constraints, Profile, RunContext, RunPlan, SearchConfig,
    StopKind, Strategy, TransientPhase,
};
use llmload_metrics::{ErrorKind, RequestStatus};
use llmload_mock::{Faults, Jitter, MockConfig, MockHandle, MockServer};

async fn mock(ttft_ms: u64, itl_ms: u64) -> MockHandle {
    mock_with(ttft_ms, itl_ms, Faults::default()).await
}

async fn mock_with(ttft_ms: u64, itl_ms: u64, faults: Faults) -> MockHandle {
    let cfg = MockConfig {
        model: "mock-model".into(),
        ttft: Jitter::fixed(Duration::from_millis(ttft_ms)),
        itl: Jitter::fixed(Duration::from_millis(itl_ms)),
        faults,
        ..MockConfig::default()
    };
    MockServer::start(cfg, "127.0.0.1:0".parse().unwrap(), true)
        .await
        .unwrap()
}

fn ctx(url: &str, model: &str, spec: &str) -> RunContext {
    let tok =
        Arc::new(tokenizer::load(concat!(env!("LLMLOAD_SHARED"), "/tokenizers/gpt2")).unwrap());
    let builder = PromptBuilder::new(tok, BUILTIN_CORPUS[..200_000].to_string()).unwrap();
    RunContext {
        server_metrics: None,
        client: Client::new(ClientConfig::new(url)).unwrap(),
        data: DataPlan::Synthetic {
            builder,
            spec: SyntheticSpec::parse(spec).unwrap(),
            seed: 42,
        },
        body: BodyOptions {
            model: Some(model.into()),
            keep_body: true,
            ..Default::default()
        },
        interrupt: CancellationToken::new(),
        interrupt_grace: Duration::from_millis(300),
        abort: CancellationToken::new(),
        progress: None,
        observer: None,
    }
}

fn plan(profile: Profile, constraints: Constraints) -> RunPlan {
    RunPlan {
        profile,
        constraints,
        max_concurrency: 64,
        explicit_max_concurrency: true,
        seed: 42,
        warmup: TransientPhase::default(),
        cooldown: TransientPhase::default(),
        rampup: Duration::ZERO,
        shard: None,
        start_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_rate_sends_on_schedule_and_cuts_off_at_max_seconds() {
    let m = mock(10, 2).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=32,output_tokens=8");
    let p = plan(
        Profile::Constant(vec![40.0]),
        Constraints {
            max_seconds: Some(1.0),
            ..Default::default()
        },
    );
    let out = run(&p, &c).await.unwrap();
    let b = &out.benchmarks[0];
    assert_eq!(
        b.strategy,
        Strategy::Constant {
            rate: 40.0,
            max_concurrency: 64
        }
    );
    assert_eq!(b.end_queuing.as_ref().unwrap().kind, StopKind::MaxSeconds);
    // Intended times start + i/40 within 1 s: i = 0..=39, sent on time.
    let mut targets: Vec<_> = b
        .kept()
        .iter()
        .map(|r| r.timings.targeted_start.unwrap())
        .collect();
    targets.sort();
    assert_eq!(targets.len(), 40, "{}", targets.len());
    assert_eq!(targets[0], b.start);
    for (i, t) in targets.iter().enumerate() {
        let want = b.start + Duration::from_secs_f64(i as f64 / 40.0);
        assert!(t.as_nanos().abs_diff(want.as_nanos()) <= 1, "{i}");
    }
    // Each request takes ~24 ms (10 ms to the first token, 7 more at 2 ms):
    // the last ones sent may still stream at the 1 s deadline and be cut
    // off (cancelled); every earlier one completes in full.
    let deadline = b.start + Duration::from_secs(1);
    for r in b.kept() {
        let sent = r.timings.targeted_start.unwrap();
        if r.status == RequestStatus::Cancelled && deadline.secs_since(sent) < 0.1 {
            continue;
        }
        assert_eq!(r.status, RequestStatus::Completed, "{:?}", r.error);
        assert_eq!(r.output_tokens(), Some(8));
        assert_eq!(r.prompt_tokens(), Some(r.input.text_tokens.unwrap()));
        assert!(r.dispatch_delay().unwrap() >= 0.0);
        assert!(r
            .request_body
            .as_ref()
            .unwrap()
            .starts_with(b"{\"model\":\"mock-model\",\"stream\":true"));
    }
    assert_eq!(b.measure_end, b.start + Duration::from_secs(1));
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_at_the_deadline_are_incomplete() {
    let m = mock(5, 20).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=40");
    // Each request takes ~0.8 s; at 10 rps for 0.5 s every request is still running at the deadline.
    let p = plan(
        Profile::Constant(vec![10.0]),
        Constraints {
            max_seconds: Some(0.5),
            ..Default::default()
        },
    );
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    assert_eq!(b.kept().len(), 5);
    assert!(b
        .kept()
        .iter()
        .all(|r| r.status == RequestStatus::Cancelled));
    assert!(b
        .kept()
        .iter()
        .all(|r| r.error.as_ref().unwrap().kind == ErrorKind::Cancelled));
    assert_eq!(
        b.end_processing.as_ref().unwrap().kind,
        StopKind::MaxSeconds
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_and_max_requests() {
    let m = mock(5, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=10");
    let p = plan(
        Profile::Concurrent(vec![4, 2]),
        Constraints {
            max_requests: Some(12),
            ..Default::default()
        },
    );
    let out = run(&p, &c).await.unwrap();
    assert_eq!(out.benchmarks.len(), 2);
    for (b, streams) in out.benchmarks.iter().zip([4usize, 2]) {
        assert_eq!(b.kept().len(), 12);
        assert!(b
            .kept()
            .iter()
            .all(|r| r.status == RequestStatus::Completed));
        assert_eq!(b.end_queuing.as_ref().unwrap().kind, StopKind::MaxRequests);
        // Never more than `streams` in flight.
        let mut events: Vec<(llmload_clock::Timestamp, i32)> = Vec::new();
        for r in b.kept() {
            events.push((r.timings.request_start.unwrap(), 1));
            events.push((r.timings.request_end.unwrap(), -1));
        }
        events.sort();
        let mut level = 0;
        let peak = events
            .iter()
            .map(|e| {
                level += e.1;
                level
            })
            .max()
            .unwrap();
        assert_eq!(peak as usize, streams);
        // Each stream's intended send time is when it became free: the
        // start for its first request, then the end of its previous one.
        for w in 0..streams as u32 {
            let mut mine: Vec<_> = b.kept().iter().filter(|r| r.worker == w).collect();
            mine.sort_by_key(|r| r.timings.request_start);
            assert_eq!(mine[0].timings.targeted_start, Some(b.start), "stream {w}");
            for pair in mine.windows(2) {
                let (prev, next) = (pair[0], pair[1]);
                let ready = next.timings.targeted_start.unwrap();
                assert!(ready >= prev.timings.request_end.unwrap(), "stream {w}");
                assert!(ready <= next.timings.request_start.unwrap(), "stream {w}");
            }
        }
    }
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_sends_one_at_a_time() {
    let m = mock(3, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");
    let p = plan(
        Profile::Synchronous,
        Constraints {
            max_requests: Some(6),
            ..Default::default()
        },
    );
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    let mut recs = b.kept().to_vec();
    recs.sort_by_key(|r| r.timings.request_start);
    assert_eq!(recs.len(), 6);
    for w in recs.windows(2) {
        assert!(w[1].timings.request_start >= w[0].timings.request_end);
    }
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_window_stops_a_failing_benchmark() {
    let m = mock(1, 1).await;
    // The mock serves "mock-model": every request for "other" is a 404.
    let c = ctx(&m.url(), "other", "prompt_tokens=16,output_tokens=4");
    let p = plan(
        Profile::Constant(vec![200.0]),
        Constraints {
            max_seconds: Some(10.0),
            max_error_rate: Some(0.5),
            ..Default::default()
        },
    );
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    let stop = b.end_queuing.clone().unwrap();
    assert_eq!(stop.kind, StopKind::MaxErrorRate);
    assert!(stop.detail.contains("over the last 30"), "{}", stop.detail);
    assert!(b.end.secs_since(b.start) < 2.0, "stopped long before 10 s");
    let errored = b
        .kept()
        .iter()
        .filter(|r| r.status == RequestStatus::Errored)
        .count();
    assert!(errored >= 30, "{errored}");
    let e = b.kept()[0].error.as_ref().unwrap();
    assert_eq!((e.kind, e.status), (ErrorKind::HttpStatus, Some(404)));
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupting_stops_sending_and_keeps_what_finished() {
    let m = mock(2, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");
    let p = plan(
        Profile::Constant(vec![50.0, 60.0]),
        Constraints {
            max_seconds: Some(30.0),
            ..Default::default()
        },
    );
    let interrupt = c.interrupt.clone();
    let waiter = tokio::spawn(async move {
        // Interrupt once 10 requests have been logged by the mock.
        while m.log().len() < 10 {
            tokio::task::yield_now().await;
        }
        interrupt.cancel();
        m
    });
    let out = run(&p, &c).await.unwrap();
    assert!(out.interrupted);
    assert_eq!(out.benchmarks.len(), 1, "the second rate never starts");
    let b = &out.benchmarks[0];
    assert_eq!(b.end_queuing.as_ref().unwrap().kind, StopKind::Interrupted);
    assert!(
        b.kept()
            .iter()
            .filter(|r| r.status == RequestStatus::Completed)
            .count()
            >= 10
    );
    assert!(b.end.secs_since(b.start) < 10.0);
    waiter.await.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_runs_sync_throughput_then_rates_between() {
    let m = mock(5, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");
    let mut p = plan(
        Profile::Sweep { size: 4 },
        Constraints {
            max_seconds: Some(0.6),
            ..Default::default()
        },
    );
    p.max_concurrency = 16;
    let out = run(&p, &c).await.unwrap();
    let kinds: Vec<&str> = out
        .benchmarks
        .iter()
        .map(|b| b.strategy.type_name())
        .collect();
    assert_eq!(kinds, ["synchronous", "throughput", "constant", "constant"]);
    assert_eq!(
        out.benchmarks[1].strategy,
        Strategy::Throughput {
            max_concurrency: 16
        }
    );
    let (sync, thr) = (
        successful_rate(&out.benchmarks[0]),
        successful_rate(&out.benchmarks[1]),
    );
    assert!(thr > sync, "{sync} {thr}");
    let rates: Vec<f64> = out.benchmarks[2..]
        .iter()
        .map(|b| b.strategy.rate().unwrap())
        .collect();
    // numpy.linspace(sync, thr, 3)[1:]
    assert!(
        (rates[0] - (sync + thr) / 2.0).abs() < 1e-9 && rates[1] == thr,
        "{rates:?}"
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_the_mocks_capacity() {
    // 4 slots x ~27 ms per request: about 150 req/s of capacity.
    let faults = Faults {
        max_concurrent_requests: Some(4),
        ..Default::default()
    };
    let m = mock_with(20, 1, faults).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=8");
    let cfg = SearchConfig {
        start: 40.0,
        precision: 0.15,
        max_steps: 7,
        ..Default::default()
    };
    let p = plan(
        Profile::Search(cfg),
        Constraints {
            max_seconds: Some(1.5),
            ..Default::default()
        },
    );
    let out = run(&p, &c).await.unwrap();
    let steps = out.search.unwrap();
    assert_eq!(steps[0].rate, 40.0);
    assert!(steps[0].sustained(), "{:?}", steps[0]);
    let best = llmload_engine::best_rate(&steps).unwrap();
    assert!(
        (60.0..=160.0).contains(&best),
        "best {best}, steps {steps:#?}"
    );
    let failed: Vec<_> = steps.iter().filter(|v| !v.sustained()).collect();
    assert!(!failed.is_empty() && failed.iter().all(|v| v.rate > best));
    assert!(failed.iter().all(|v| !v.reasons.is_empty()));
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_percent_failures_trip_the_error_window() {
    let m = mock_with(
        2,
        1,
        Faults {
            fail_rate: 0.6,
            ..Default::default()
        },
    )
    .await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");
    let p = plan(
        Profile::Constant(vec![100.0]),
        Constraints {
            max_seconds: Some(10.0),
            max_error_rate: Some(0.5),
            ..Default::default()
        },
    );
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    let stop = b.end_queuing.clone().unwrap();
    assert_eq!(stop.kind, StopKind::MaxErrorRate);
    assert!(b.end.secs_since(b.start) < 3.0, "stopped well before 10 s");
    let errored = b
        .kept()
        .iter()
        .filter(|r| r.status == RequestStatus::Errored)
        .count();
    let ok = b
        .kept()
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .count();
    // The window is the last 30 finished requests; it trips at >= 50 % errors.
    assert!(errored >= 15, "{errored} errored, {ok} ok");
    assert!(
        errored + ok >= 30,
        "needs a full window: {errored} errored, {ok} ok"
    );
    assert!(b
        .kept()
        .iter()
        .filter_map(|r| r.error.as_ref())
        .any(|e| e.status == Some(500)));
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_started_in_warmup_are_not_measured() {
    let m = mock(2, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");
    let mut p = plan(
        Profile::Constant(vec![40.0]),
        Constraints {
            max_seconds: Some(1.0),
            ..Default::default()
        },
    );
    p.warmup = TransientPhase::parse("--warmup", "0.5").unwrap();
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    assert!(b.measure_by_start);
    assert_eq!(b.measure_start, b.start + Duration::from_millis(500));
    let metrics = llmload_metrics::BenchmarkMetrics::compile_with(
        b.kept(),
        b.measure_start,
        b.measure_end,
        llmload_metrics::Selection::StartedWithin,
    );
    let in_warmup = b
        .kept()
        .iter()
        .filter(|r| r.request_start_time().unwrap() < b.measure_start)
        .count();
    assert!(in_warmup >= 15, "{in_warmup}");
    assert_eq!(
        metrics.request_totals.total as usize,
        b.kept().len() - in_warmup
    );
    // GuideLLM's overlap rule would have let the ones still running at 0.5 s in.
    let overlap =
        llmload_metrics::BenchmarkMetrics::compile(b.kept(), b.measure_start, b.measure_end);
    assert!(overlap.request_totals.total >= metrics.request_totals.total);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampup_spreads_stream_starts_and_ramps_constant_rates() {
    let m = mock(2, 1).await;
    let c = ctx(&m.url(), "mock-model", "prompt_tokens=16,output_tokens=4");

    let mut p = plan(
        Profile::Concurrent(vec![4]),
        Constraints {
            max_seconds: Some(0.8),
            ..Default::default()
        },
    );
    p.rampup = Duration::from_millis(400);
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    for w in 0..4u32 {
        let first = b
            .kept()
            .iter()
            .filter(|r| r.worker == w)
            .filter_map(|r| r.request_start_time())
            .min()
            .expect("every stream sent");
        let offset = first.secs_since(b.start);
        let due = 0.1 * w as f64;
        assert!(
            offset >= due - 1e-4 && offset < due + 0.1,
            "stream {w} started at {offset}"
        );
    }

    let mut p = plan(
        Profile::Constant(vec![100.0]),
        Constraints {
            max_seconds: Some(1.2),
            ..Default::default()
        },
    );
    p.rampup = Duration::from_secs(1);
    let b = run(&p, &c).await.unwrap().benchmarks.remove(0);
    let offsets: Vec<f64> = b
        .kept()
        .iter()
        .filter_map(|r| r.timings.targeted_start)
        .map(|t| t.secs_since(b.start))
        .collect();
    // rate·t²/(2R) requests by t: 12.5 by 0.5 s, 50 by the end of the ramp.
    assert_eq!(offsets.iter().filter(|&&t| t < 0.5).count(), 13);
    assert_eq!(offsets.iter().filter(|&&t| t < 1.0).count(), 50);
    assert_eq!(offsets.iter().filter(|&&t| t < 1.2).count(), 70);
    m.shutdown().await;
}

//! The scheduler driven in virtual time: arrivals at a constant rate,
//! steps back to back, exactly as the engine task runs them but without
//! sleeping, so the knee can be checked against the formula in milliseconds.

use std::time::Duration;

use llmload_clock::Timestamp;
use tokio::sync::mpsc;

use super::sched::{Event, Scheduler, Submission};
use super::{block_hashes, EngineModel};
use crate::metrics::Metrics;

struct Outcome {
    arrived: u64,
    finished: u64,
    max_waiting: usize,
    /// Waiting requests at the end.
    waiting_at_end: usize,
    /// Mean time to first token (s) of the first and of the last fifth of requests.
    ttft_first: f64,
    ttft_last: f64,
    preemptions: u64,
}

/// Feed requests of `prompt`/`output` tokens at `rate` for `secs` virtual
/// seconds (prompts made unique unless `shared`).
fn simulate(model: EngineModel, prompt: u64, output: u64, rate: f64, secs: f64) -> Outcome {
    let metrics = Metrics::new("m");
    let mut s = Scheduler::new(model);
    let t0 = Timestamp::from_nanos(1_000_000_000_000);
    let at = |secs: f64| t0 + Duration::from_secs_f64(secs);
    let n = (rate * secs).floor() as u64;
    let mut rx: Vec<mpsc::UnboundedReceiver<Event>> = Vec::new();
    let mut first_token: Vec<Option<f64>> = Vec::new();
    let mut arrivals: Vec<f64> = Vec::new();
    let (mut next, mut clock, mut max_waiting) = (0u64, 0.0f64, 0usize);
    // Requests still waiting for their first token.
    let mut pending: Vec<usize> = Vec::new();
    while clock < secs {
        while next < n && (next as f64) / rate <= clock {
            let (tx, r) = mpsc::unbounded_channel();
            let tokens: Vec<u32> = (0..prompt as u32)
                .map(|i| i ^ (next as u32) << 16)
                .collect();
            s.arrive(Submission {
                arrived: at(next as f64 / rate),
                prompt_tokens: prompt,
                block_hashes: block_hashes(&tokens, model.block_size as usize),
                output_tokens: output,
                events: tx,
            });
            pending.push(rx.len());
            rx.push(r);
            first_token.push(None);
            arrivals.push(next as f64 / rate);
            next += 1;
        }
        let step = s.schedule(at(clock), &metrics);
        max_waiting = max_waiting.max(s.gauges().1);
        if step.is_empty() {
            if next == n {
                break;
            }
            clock = (next as f64 / rate).max(clock + 1e-6);
            continue;
        }
        clock += step.duration.as_secs_f64();
        s.complete(step, at(clock), &metrics);
        pending.retain(|&i| {
            while let Ok(e) = rx[i].try_recv() {
                if e == Event::Token && first_token[i].is_none() {
                    first_token[i] = Some(clock - arrivals[i]);
                }
            }
            first_token[i].is_none()
        });
    }
    let text = metrics.render();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit_once(' '))
            .map_or(0.0, |(_, v)| v.parse().unwrap())
    };
    let fifth = (n / 5).max(1) as usize;
    let mean = |xs: &[Option<f64>]| {
        let v: Vec<f64> = xs.iter().map(|x| x.unwrap_or(secs)).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    Outcome {
        arrived: n,
        finished: value(r#"vllm:request_success_total{engine="0",finished_reason="length""#) as u64,
        max_waiting,
        waiting_at_end: s.gauges().1,
        ttft_first: mean(&first_token[..fifth]),
        ttft_last: mean(&first_token[first_token.len() - fifth..]),
        preemptions: value("vllm:num_preemptions_total") as u64,
    }
}

fn small() -> EngineModel {
    EngineModel {
        max_num_seqs: 8,
        max_num_batched_tokens: 1024,
        step_base: Duration::from_millis(4),
        step_per_seq: Duration::from_micros(250),
        prefill_per_token: Duration::from_micros(20),
        kv_cache_tokens: 1 << 20,
        block_size: 16,
        preemption: true,
        prefix_caching: false,
        pause: None,
    }
}

#[test]
fn below_the_formulas_rate_the_queue_stays_empty_above_it_grows() {
    let m = small();
    let r = m.sustainable_rate(256, 64);
    // 1 / (4 ms · 64/8 + 0.25 ms · 63 + 20 µs · 256) = 1 / 52.87 ms
    assert!((r - 1.0 / 0.05287).abs() < 0.01, "{r}");
    let below = simulate(m, 256, 64, 0.9 * r, 120.0);
    assert!(below.max_waiting <= 2, "max waiting {}", below.max_waiting);
    assert!(
        below.finished as f64 >= 0.95 * below.arrived as f64,
        "{} of {}",
        below.finished,
        below.arrived
    );
    assert!(below.ttft_last < 2.0 * below.ttft_first + 0.01);
    let above = simulate(m, 256, 64, 1.1 * r, 120.0);
    // The backlog grows at about 10 % of R: ~227 requests after 120 s.
    let backlog = above.waiting_at_end as f64;
    assert!(
        (0.5 * 0.1 * r * 120.0..=1.5 * 0.1 * r * 120.0).contains(&backlog),
        "backlog {backlog}"
    );
    assert!(
        above.ttft_last > 10.0 * above.ttft_first,
        "TTFT grows with the queue"
    );
    // Served at about R: what finished over 120 s.
    let served = above.finished as f64 / 120.0;
    assert!((served - r).abs() / r < 0.05, "served {served} vs {r}");
}

#[test]
fn a_kv_cache_that_holds_fewer_requests_than_the_batch_sets_the_knee() {
    // Room for 4 requests of 256+64 tokens (20 blocks each), no preemption.
    let m = EngineModel {
        kv_cache_tokens: 4 * 320,
        preemption: false,
        ..small()
    };
    assert_eq!(m.batch_limit(256, 64), 4);
    let r = m.sustainable_rate(256, 64);
    assert!(r < small().sustainable_rate(256, 64));
    let below = simulate(m, 256, 64, 0.9 * r, 120.0);
    assert!(below.max_waiting <= 2, "max waiting {}", below.max_waiting);
    let above = simulate(m, 256, 64, 1.1 * r, 120.0);
    let served = above.finished as f64 / 120.0;
    assert!((served - r).abs() / r < 0.05, "served {served} vs {r}");
    assert!(above.waiting_at_end > 20);
}

#[test]
fn a_full_cache_preempts_and_every_request_still_finishes() {
    // Room for 2.5 requests at full length: decodes run out of blocks.
    let m = EngineModel {
        kv_cache_tokens: 800,
        ..small()
    };
    let o = simulate(m, 256, 64, 10.0, 30.0);
    assert!(o.preemptions > 0);
    assert!(o.finished > 0);
    let drained = simulate(m, 256, 64, 2.0, 60.0);
    assert!(drained.finished + 3 >= drained.arrived);
}

#[test]
fn identical_prompts_hit_the_prefix_cache_and_skip_its_prefill() {
    let m = EngineModel {
        prefix_caching: true,
        pause: None,
        ..small()
    };
    let metrics = Metrics::new("m");
    let mut s = Scheduler::new(m);
    let t0 = Timestamp::from_nanos(1_000_000_000_000);
    let tokens: Vec<u32> = (0..100).collect();
    let mut durations = Vec::new();
    let mut cached = Vec::new();
    for k in 0..2u64 {
        let (tx, mut rx) = mpsc::unbounded_channel();
        s.arrive(Submission {
            arrived: t0,
            prompt_tokens: 100,
            block_hashes: block_hashes(&tokens, 16),
            output_tokens: 1,
            events: tx,
        });
        let step = s.schedule(t0 + Duration::from_secs(k), &metrics);
        durations.push(step.duration);
        s.complete(step, t0 + Duration::from_secs(k), &metrics);
        while let Ok(e) = rx.try_recv() {
            if let Event::Admitted { cached_tokens } = e {
                cached.push(cached_tokens);
            }
        }
    }
    // 6 full blocks of 16 = 96 tokens; at least one token is computed.
    assert_eq!(cached, [0, 96]);
    assert_eq!(durations[0] - durations[1], m.prefill_per_token * 96);
}

#[test]
fn a_prompt_longer_than_the_budget_is_prefilled_in_chunks() {
    let m = EngineModel {
        max_num_batched_tokens: 100,
        ..small()
    };
    let metrics = Metrics::new("m");
    let mut s = Scheduler::new(m);
    let t0 = Timestamp::from_nanos(1_000_000_000_000);
    let (tx, mut rx) = mpsc::unbounded_channel();
    s.arrive(Submission {
        arrived: t0,
        prompt_tokens: 250,
        block_hashes: Vec::new(),
        output_tokens: 2,
        events: tx,
    });
    let mut steps_to_first = 0;
    loop {
        let step = s.schedule(t0, &metrics);
        s.complete(step, t0, &metrics);
        steps_to_first += 1;
        let mut got = false;
        while let Ok(e) = rx.try_recv() {
            got |= e == Event::Token;
        }
        if got {
            break;
        }
    }
    assert_eq!(steps_to_first, 3, "100 + 100 + 50 tokens");
}

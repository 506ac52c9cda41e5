//! Running one benchmark: a producer prepares request bodies ahead of the
//! schedule, a dispatcher (open loop) or a set of streams (closed loop)
//! sends them, and a collector receives every finished record, evaluates the
//! constraints and publishes progress snapshots.
//!
//! The benchmark ends when the dispatcher has stopped and every request task
//! has reported back (the record channel closes when its last sender drops).

use llmload_core::Measured;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmload_client::{CancellationToken, Client};
use llmload_clock::{now, sleep_until, Timestamp};
use llmload_core::{CompactRecord, Details, ErrorInterner, Shard, Stop, StopKind, Strategy};
use llmload_metrics::{LiveStats, RequestRecord, RequestStatus, UsageMetrics};
use tokio::sync::{mpsc, Mutex, OwnedSemaphorePermit, Semaphore};

use crate::constraints::ConstraintState;
use crate::producer::{start_producer, Prepared};
use crate::progress::{Phase, Progress};
use crate::saturation::Saturation;
use crate::strategy::Arrivals;
use crate::turns::{Encoding, Source, Turns};
use crate::{BenchmarkRun, EngineError, RunContext, RunPlan};

/// How early the dispatcher hands a request to its task, which checks out a
/// connection and then sleeps precisely to the intended instant: spawning,
/// connecting and staging stay off the critical path.
const LEAD: Duration = Duration::from_micros(1500);
/// How long an interrupted benchmark waits for requests in flight.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Why the dispatcher stopped on its own.
enum DispatchEnd {
    Stopped,
    Deadline(Timestamp),
    MaxRequests(Timestamp),
    Exhausted(Timestamp, Option<String>),
}

/// Shared by the dispatcher and the request tasks of one benchmark.
struct Shared {
    client: Client,
    keep_body: bool,
    cancel: CancellationToken,
    records: mpsc::UnboundedSender<RequestRecord>,
    created: Arc<AtomicU64>,
    /// Conversations under way (multi-turn data).
    turns: Option<Arc<Turns>>,
}

impl Shared {
    async fn send(
        &self,
        mut p: Prepared,
        due: Option<Timestamp>,
        worker: u32,
        dequeued: Timestamp,
        cap_released: Option<Timestamp>,
    ) {
        let mut rec = RequestRecord::new(self.client.request_type(), worker);
        let t = &mut rec.timings;
        t.targeted_start = due;
        t.cap_released = cap_released;
        t.queued = Some(p.queued);
        t.dequeued = Some(dequeued);
        t.scheduled_at = Some(now());
        rec.input = UsageMetrics {
            text_tokens: p.prompt_tokens,
            text_words: Some(p.words),
            text_characters: Some(p.chars),
        };
        if self.keep_body {
            rec.request_body = Some(p.body.clone());
        }
        let conversation = p.conversation.take();
        if let Some(c) = &conversation {
            rec.turn = Some(c.turn());
            rec.timings.predecessor_completed = c.predecessor_completed;
        }
        self.client.execute(p.body, &mut rec, &self.cancel).await;
        if let (Some(c), Some(turns)) = (conversation, &self.turns) {
            turns.answered(c, &rec);
        }
        let _ = self.records.send(rec);
    }
}

/// Runs of at most this many requests are prepared whole before they start.
const PREPARE_WHOLE: u64 = 50_000;

/// Requests a benchmark will create, when its limits say: `max_requests`,
/// or every arrival due before `max_seconds` for a rate (an upper bound).
fn expected_requests(strategy: &Strategy, c: &crate::Constraints) -> Option<u64> {
    let by_time = match (strategy.rate(), c.max_seconds) {
        (Some(rate), Some(secs)) => Some((rate * secs).ceil() as u64 + 1),
        _ => None,
    };
    match (c.max_requests, by_time) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reserve one of `max_requests` sends; `false` once all are taken.
fn admit(admitted: &AtomicU64, max_requests: Option<u64>) -> bool {
    match max_requests {
        None => true,
        Some(n) => admitted.fetch_add(1, Ordering::Relaxed) < n,
    }
}

/// The schedule an open-loop dispatcher follows.
struct Schedule {
    strategy: Strategy,
    start: Timestamp,
    deadline: Option<Timestamp>,
    max_requests: Option<u64>,
    rampup: Duration,
    /// This process's share of the schedule (all of it when `None`).
    shard: Option<Shard>,
}

async fn dispatch_open(
    shared: Arc<Shared>,
    schedule: Schedule,
    mut rx: Source,
    stop: CancellationToken,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> DispatchEnd {
    let Schedule {
        strategy,
        start,
        deadline,
        max_requests,
        rampup,
        shard,
    } = schedule;
    let cap = strategy.max_concurrency().max(1);
    let cap = shard.map_or(cap, |s| s.share(u64::from(cap)).max(1) as u32);
    let sem = Arc::new(Semaphore::new(cap as usize));
    let admitted = AtomicU64::new(0);
    let arrivals = Arrivals::for_strategy(&strategy, start).expect("open-loop strategy");
    for (i, due) in arrivals.with_rampup(rampup).enumerate() {
        // The window is [start, start + max_seconds): nothing is due at its end.
        if let Some(d) = deadline.filter(|&d| due >= d) {
            return DispatchEnd::Deadline(d);
        }
        // A shard sends its requests of the one schedule, at their times;
        // `max_requests` counts the schedule's requests, all shards'.
        if let Some(s) = shard {
            if max_requests.is_some_and(|m| i as u64 >= m) {
                return DispatchEnd::MaxRequests(now());
            }
            if !s.owns(i as u64) {
                continue;
            }
        } else if !admit(&admitted, max_requests) {
            return DispatchEnd::MaxRequests(now());
        }
        // Coarse wake (tokio's millisecond timer) ahead of the instant; the
        // request's own precise sleep hits the instant itself. Requests due
        // within LEAD of a wake go out together, without sleeping again.
        let ahead = (due - LEAD).saturating_since(now());
        if !ahead.is_zero() {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return DispatchEnd::Stopped,
                _ = tokio::time::sleep(ahead) => {}
            }
        }
        // Late requests wait here, in order, for a free slot: never dropped.
        // The wait is the server's doing (it holds that many): remembered.
        let (permit, cap_released): (OwnedSemaphorePermit, _) = match Arc::clone(&sem)
            .try_acquire_owned()
        {
            Ok(p) => (p, None),
            Err(_) => tokio::select! {
                biased;
                _ = stop.cancelled() => return DispatchEnd::Stopped,
                p = Arc::clone(&sem).acquire_owned() => (p.expect("semaphore never closed"), Some(now())),
            },
        };
        let Some(next) = rx.next(&stop).await else {
            return DispatchEnd::Stopped;
        };
        let Some(p) = next else {
            return DispatchEnd::Exhausted(
                now(),
                exhausted.lock().unwrap_or_else(|e| e.into_inner()).take(),
            );
        };
        let dequeued = now();
        shared.created.fetch_add(1, Ordering::Relaxed);
        let s = Arc::clone(&shared);
        tokio::spawn(async move {
            s.send(p, Some(due), 0, dequeued, cap_released).await;
            drop(permit);
        });
    }
    DispatchEnd::Stopped
}

/// When closed-loop stream `worker` of `streams` sends its first request:
/// with a rampup, the streams start evenly spread over it (GuideLLM).
#[derive(Clone, Copy)]
struct Stagger {
    start: Timestamp,
    rampup: Duration,
    /// This process's streams of the run's (all when `None`).
    shard: Option<Shard>,
}

impl Stagger {
    fn first_send(&self, worker: u32, streams: u32) -> Timestamp {
        self.start + self.rampup.mul_f64(worker as f64 / streams.max(1) as f64)
    }
}

async fn dispatch_closed(
    shared: Arc<Shared>,
    streams: u32,
    stagger: Stagger,
    rx: Source,
    stop: CancellationToken,
    max_requests: Option<u64>,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> DispatchEnd {
    let rx = Arc::new(Mutex::new(rx));
    let admitted = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    // A shard runs its streams of the one run (numbered as there, so a
    // rampup staggers them alike) and its share of `max_requests`.
    let shard = stagger.shard;
    let max_requests = match shard {
        Some(s) => max_requests.map(|m| s.share(m)),
        None => max_requests,
    };
    let own = |w: u32| shard.is_none_or(|s| s.owns(u64::from(w)));
    for worker in (0..streams.max(1)).filter(|&w| own(w)) {
        let (shared, rx, stop, admitted, exhausted) = (
            Arc::clone(&shared),
            Arc::clone(&rx),
            stop.clone(),
            Arc::clone(&admitted),
            Arc::clone(&exhausted),
        );
        tasks.spawn(async move {
            // When this stream is free to send: its intended send time (as
            // GuideLLM's closed-loop strategies: the start, then each completion).
            // Never before the benchmark's start: a request that ended before
            // it would fall outside the measured window.
            let mut ready_at = stagger.first_send(worker, streams);
            tokio::select! {
                biased;
                _ = stop.cancelled() => return DispatchEnd::Stopped,
                _ = sleep_until(ready_at) => {}
            }
            loop {
                if stop.is_cancelled() {
                    return DispatchEnd::Stopped;
                }
                if !admit(&admitted, max_requests) {
                    return DispatchEnd::MaxRequests(now());
                }
                let next = {
                    let mut rx = rx.lock().await;
                    rx.next(&stop).await
                };
                let Some(next) = next else {
                    return DispatchEnd::Stopped;
                };
                let Some(p) = next else {
                    let why = exhausted.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    return DispatchEnd::Exhausted(now(), why);
                };
                let dequeued = now();
                shared.created.fetch_add(1, Ordering::Relaxed);
                shared.send(p, Some(ready_at), worker, dequeued, None).await;
                ready_at = now();
            }
        });
    }
    let mut end = DispatchEnd::Stopped;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(e @ (DispatchEnd::MaxRequests(_) | DispatchEnd::Exhausted(..)))
                if matches!(end, DispatchEnd::Stopped) =>
            {
                end = e
            }
            _ => {}
        }
    }
    end
}

/// Run benchmark `index` (0-based) of a run with `strategy`.
pub(crate) async fn run_benchmark(
    ctx: &RunContext,
    index: usize,
    strategy: Strategy,
    plan: &RunPlan,
    server: Option<crate::scrape::Latest>,
) -> Result<BenchmarkRun, EngineError> {
    let constraints = &plan.constraints;
    let concurrency = strategy.max_concurrency().max(1) as usize;
    // A run whose size is known is prepared whole before it starts; a longer
    // one keeps two seconds of requests in hand (the producer's memory
    // budget bounds both).
    let known = expected_requests(&strategy, constraints);
    let ahead = match (known, strategy.rate()) {
        (Some(n), _) if n <= PREPARE_WHOLE => n as usize,
        (_, Some(rate)) => (2.0 * rate).ceil() as usize,
        (_, None) => concurrency * 2,
    }
    .clamp(64, PREPARE_WHOLE as usize);
    let prefill = match known {
        Some(n) if n <= PREPARE_WHOLE => n as usize,
        _ => match strategy.rate() {
            Some(rate) => (rate.ceil() as usize).min(ahead),
            None => concurrency.min(ahead),
        },
    }
    .max(1);
    let exhausted = Arc::new(std::sync::Mutex::new(None));
    let (rx, ready) = start_producer(
        ctx,
        plan.shard,
        index as u64 + 1,
        ahead,
        prefill,
        Arc::clone(&exhausted),
    );
    // Wait for the first requests (or for the source to end or fail).
    let _ = ready.await;
    if let Some(e) = exhausted.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Err(EngineError(format!("--data: {e}")));
    }

    let turns = ctx.data.multi_turn().then(|| Arc::new(Turns::default()));
    let rx = Source::new(
        rx,
        turns.clone().map(|t| {
            let enc = Encoding {
                request_type: ctx.client.request_type(),
                stream: ctx.client.is_streaming(),
                body: ctx.body.clone(),
            };
            (t, enc)
        }),
    );
    let (rec_tx, mut rec_rx) = mpsc::unbounded_channel();
    let stop_queuing = CancellationToken::new();
    let created = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Shared {
        client: ctx.client.clone(),
        keep_body: ctx.body.keep_body,
        cancel: CancellationToken::new(),
        records: rec_tx,
        created: Arc::clone(&created),
        turns,
    });
    // The first benchmark of shards starts at their common instant.
    let start = match plan.start_at.filter(|_| index == 0) {
        Some(at) => {
            tokio::select! {
                _ = ctx.abort.cancelled() => {}
                _ = ctx.interrupt.cancelled() => {}
                _ = sleep_until(at - Duration::from_millis(2)) => {}
            }
            at
        }
        None => now() + Duration::from_millis(1),
    };
    llmload_clock::priority::sending_starts();
    if let Some(o) = &ctx.observer {
        o.benchmark_started(index, &strategy, start);
    }
    let dispatcher = {
        let (shared, stop, max) = (
            Arc::clone(&shared),
            stop_queuing.clone(),
            constraints.max_requests,
        );
        let exhausted = Arc::clone(&exhausted);
        let stagger = Stagger {
            start,
            rampup: plan.rampup,
            shard: plan.shard,
        };
        let closed = |streams: u32, rx: Source| {
            tokio::spawn(dispatch_closed(
                shared.clone(),
                streams,
                stagger,
                rx,
                stop.clone(),
                max,
                exhausted.clone(),
            ))
        };
        match strategy {
            Strategy::Synchronous => closed(1, rx),
            Strategy::Concurrent { streams } => closed(streams, rx),
            Strategy::Throughput { max_concurrency } => closed(max_concurrency, rx),
            Strategy::Constant { .. } | Strategy::Poisson { .. } => {
                let schedule = Schedule {
                    strategy: strategy.clone(),
                    start,
                    deadline: ConstraintState::new(constraints.clone()).deadline(start),
                    max_requests: max,
                    rampup: plan.rampup,
                    shard: plan.shard,
                };
                tokio::spawn(dispatch_open(shared, schedule, rx, stop, exhausted))
            }
        }
    };
    let cancel = shared.cancel.clone();
    drop(shared);

    let mut state = ConstraintState::new(constraints.clone());
    let mut saturation = constraints.over_saturation.map(Saturation::new);
    let deadline = state.deadline(start);
    let mut deadline_passed = deadline.is_none();
    let mut grace: Option<Timestamp> = None;
    // The numbers of every request; the full records too unless the
    // observer writes them out and can read them back (the journal).
    let mut records: Vec<CompactRecord> = Vec::new();
    let store = ctx.observer.as_ref().and_then(|o| o.store());
    let mut kept: Vec<RequestRecord> = Vec::new();
    let mut errors = ErrorInterner::default();
    let mut never_started = 0u64;
    let mut end_queuing: Option<Stop> = None;
    let mut end_processing: Option<Stop> = None;
    let mut live = LiveStats::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let progress = ctx.progress.clone();
    let publish = |live: &LiveStats, phase: Phase| {
        if let Some(p) = &progress {
            let created = created.load(Ordering::Relaxed);
            let mut snap = Progress::snapshot(
                index,
                &strategy,
                start,
                deadline,
                constraints.max_requests,
                phase,
                live,
                created,
            );
            snap.server = server.as_ref().and_then(|s| s.get());
            p.publish(snap);
        }
    };

    let trigger = |stop: Stop, end_q: &mut Option<Stop>, end_p: &mut Option<Stop>| {
        if end_q.is_none() {
            *end_q = Some(stop.clone());
            stop_queuing.cancel();
        }
        if stop.kind.cancels_in_flight() && end_p.is_none() && stop.kind != StopKind::Interrupted {
            *end_p = Some(stop);
            cancel.cancel();
        }
    };

    // Timers live across loop turns: one registration each, not one per turn.
    let deadline_sleep = sleep_until(deadline.unwrap_or(start));
    tokio::pin!(deadline_sleep);
    let mut grace_sleep: Option<llmload_clock::Sleep> = None;
    loop {
        tokio::select! {
            biased;
            r = rec_rx.recv() => match r {
                None => break,
                Some(mut rec) => {
                    let at = now();
                    rec.timings.finalized = Some(at);
                    if rec.status == RequestStatus::Cancelled && rec.timings.resolve_start.is_none() {
                        never_started += 1;
                        continue;
                    }
                    live.record(&rec);
                    if end_processing.is_none() && grace.is_none() {
                        if let Some(stop) = state.on_finished(&rec, at) {
                            trigger(stop, &mut end_queuing, &mut end_processing);
                        }
                    }
                    if let (Some(det), None) = (saturation.as_mut(), &end_queuing) {
                        let in_flight = created.load(Ordering::Relaxed).saturating_sub(live.counts.total) as f64;
                        let ttft = rec.time_to_first_token_ms().map(|ms| ms / 1000.0);
                        if let Some(detail) = det.observe(at.secs_since(start), in_flight, ttft) {
                            trigger(Stop { kind: StopKind::OverSaturated, at, detail }, &mut end_queuing, &mut end_processing);
                        }
                    }
                    if let Some(o) = &ctx.observer {
                        o.request_finished(index, &rec);
                    }
                    records.push(errors.compact(&rec));
                    if store.is_none() {
                        kept.push(rec);
                    }
                }
            },
            _ = &mut deadline_sleep, if !deadline_passed => {
                deadline_passed = true;
                let at = deadline.expect("guarded");
                let secs = constraints.max_seconds.unwrap_or_default();
                trigger(Stop { kind: StopKind::MaxSeconds, at, detail: format!("{secs} s elapsed") }, &mut end_queuing, &mut end_processing);
            }
            _ = ctx.interrupt.cancelled(), if grace.is_none() => {
                let at = now();
                grace = Some(at + ctx.interrupt_grace);
                grace_sleep = Some(sleep_until(at + ctx.interrupt_grace));
                trigger(Stop { kind: StopKind::Interrupted, at, detail: "interrupted".into() }, &mut end_queuing, &mut end_processing);
            }
            _ = async { grace_sleep.as_mut().expect("guarded").await }, if grace_sleep.is_some() && end_processing.is_none() => {
                let at = now();
                end_processing = Some(Stop { kind: StopKind::Interrupted, at, detail: format!("interrupted; requests still running after {:?} cancelled", ctx.interrupt_grace) });
                cancel.cancel();
            }
            _ = ctx.abort.cancelled(), if end_processing.is_none() => {
                let at = now();
                if end_queuing.is_none() {
                    end_queuing = Some(Stop { kind: StopKind::Interrupted, at, detail: "aborted".into() });
                    stop_queuing.cancel();
                }
                end_processing = Some(Stop { kind: StopKind::Interrupted, at, detail: "aborted: requests in flight cancelled".into() });
                cancel.cancel();
            }
            _ = tick.tick() => {
                let phase = if end_queuing.is_some() { Phase::Draining } else { Phase::Running };
                publish(&live, phase);
            }
        }
    }
    let end = now();
    match dispatcher.await.unwrap_or(DispatchEnd::Stopped) {
        DispatchEnd::Deadline(at) if end_queuing.is_none() => {
            let secs = constraints.max_seconds.unwrap_or_default();
            end_queuing = Some(Stop {
                kind: StopKind::MaxSeconds,
                at,
                detail: format!("{secs} s elapsed"),
            });
        }
        DispatchEnd::MaxRequests(at) if end_queuing.is_none() => {
            let n = constraints.max_requests.unwrap_or_default();
            end_queuing = Some(Stop {
                kind: StopKind::MaxRequests,
                at,
                detail: format!("{n} requests sent"),
            });
        }
        DispatchEnd::Exhausted(at, why) if end_queuing.is_none() => {
            end_queuing = Some(Stop {
                kind: StopKind::DataExhausted,
                at,
                detail: why.unwrap_or_else(|| "the data source ran out".into()),
            });
        }
        _ => {}
    }
    publish(&live, Phase::Done);
    let request_end = match (&end_queuing, deadline) {
        (
            Some(Stop {
                kind: StopKind::MaxSeconds,
                ..
            }),
            Some(d),
        ) => d,
        _ => crate::last_request_end(&records).unwrap_or(start),
    };
    let details = match store {
        Some(s) => Details::Spilled(s),
        None => Details::Kept(kept),
    };
    Ok(crate::assemble(
        index,
        strategy,
        plan,
        (records, details),
        crate::Ending {
            start,
            end,
            request_end,
            end_queuing,
            end_processing,
            never_started,
            error_window: state.window_state(),
            host: crate::host_load(),
        },
    ))
}

//! Running one benchmark: a producer prepares request bodies ahead of the
//! schedule, a dispatcher (open loop) or a set of streams (closed loop)
//! sends them, and a collector receives every finished record, evaluates the
//! constraints and publishes progress snapshots.
//!
//! The benchmark ends when the dispatcher has stopped and every request task
//! has reported back (the record channel closes when its last sender drops).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use llmload_client::openai::{encode_body, BodySpec};
use llmload_client::{CancellationToken, Client};
use llmload_clock::{now, sleep_until, Timestamp};
use llmload_metrics::{LiveStats, RequestRecord, RequestStatus, UsageMetrics};
use tokio::sync::{mpsc, Mutex, OwnedSemaphorePermit, Semaphore};

use crate::constraints::{ConstraintState, Stop, StopKind};
use crate::progress::{Phase, Progress};
use crate::saturation::Saturation;
use crate::strategy::Strategy;
use crate::{window, BenchmarkRun, EngineError, RunContext, RunPlan};

/// How early the dispatcher hands a request to its task, which checks out a
/// connection and then sleeps precisely to the intended instant: spawning,
/// connecting and staging stay off the critical path.
const LEAD: Duration = Duration::from_micros(1500);
/// How long an interrupted benchmark waits for requests in flight.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// A request ready to send.
struct Prepared {
    body: Bytes,
    prompt_tokens: Option<u64>,
    words: u64,
    chars: u64,
    queued: Timestamp,
}

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
}

impl Shared {
    async fn send(&self, p: Prepared, due: Option<Timestamp>, worker: u32, dequeued: Timestamp) {
        let mut rec = RequestRecord::new(self.client.request_type(), worker);
        let t = &mut rec.timings;
        t.targeted_start = due;
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
        self.client.execute(p.body, &mut rec, &self.cancel).await;
        let _ = self.records.send(rec);
    }
}

/// Reserve one of `max_requests` sends; `false` once all are taken.
fn admit(admitted: &AtomicU64, max_requests: Option<u64>) -> bool {
    match max_requests {
        None => true,
        Some(n) => admitted.fetch_add(1, Ordering::Relaxed) < n,
    }
}

/// Requests the producer handed over in batches (so it is woken once per
/// batch, not once per request).
struct Feed {
    rx: mpsc::Receiver<Vec<Prepared>>,
    buf: std::vec::IntoIter<Prepared>,
}

/// Requests per hand-over from the producer.
const BATCH: usize = 8;

impl Feed {
    /// The next request: `None` when stopped, `Some(None)` when the source ended.
    async fn next(&mut self, stop: &CancellationToken) -> Option<Option<Prepared>> {
        if let Some(p) = self.buf.next() {
            return Some(Some(p));
        }
        tokio::select! {
            biased;
            _ = stop.cancelled() => None,
            batch = self.rx.recv() => Some(batch.and_then(|b| {
                self.buf = b.into_iter();
                self.buf.next()
            })),
        }
    }
}

/// The schedule an open-loop dispatcher follows.
struct Schedule {
    strategy: Strategy,
    start: Timestamp,
    deadline: Option<Timestamp>,
    max_requests: Option<u64>,
}

async fn dispatch_open(
    shared: Arc<Shared>,
    schedule: Schedule,
    mut rx: Feed,
    stop: CancellationToken,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> DispatchEnd {
    let Schedule {
        strategy,
        start,
        deadline,
        max_requests,
    } = schedule;
    let sem = Arc::new(Semaphore::new(strategy.max_concurrency().max(1) as usize));
    let admitted = AtomicU64::new(0);
    for due in strategy.arrivals(start).expect("open-loop strategy") {
        // The window is [start, start + max_seconds): nothing is due at its end.
        if let Some(d) = deadline.filter(|&d| due >= d) {
            return DispatchEnd::Deadline(d);
        }
        if !admit(&admitted, max_requests) {
            return DispatchEnd::MaxRequests(now());
        }
        // Coarse wake (tokio's millisecond timer) ahead of the instant; the
        // request's own precise sleep hits the instant itself.
        tokio::select! {
            biased;
            _ = stop.cancelled() => return DispatchEnd::Stopped,
            _ = sleep_until(due - LEAD) => {}
        }
        // Late requests wait here, in order, for a free slot: never dropped.
        let permit: OwnedSemaphorePermit = tokio::select! {
            biased;
            _ = stop.cancelled() => return DispatchEnd::Stopped,
            p = Arc::clone(&sem).acquire_owned() => p.expect("semaphore never closed"),
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
            s.send(p, Some(due), 0, dequeued).await;
            drop(permit);
        });
    }
    DispatchEnd::Stopped
}

async fn dispatch_closed(
    shared: Arc<Shared>,
    streams: u32,
    rx: Feed,
    stop: CancellationToken,
    max_requests: Option<u64>,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> DispatchEnd {
    let rx = Arc::new(Mutex::new(rx));
    let admitted = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..streams.max(1) {
        let (shared, rx, stop, admitted, exhausted) = (
            Arc::clone(&shared),
            Arc::clone(&rx),
            stop.clone(),
            Arc::clone(&admitted),
            Arc::clone(&exhausted),
        );
        tasks.spawn(async move {
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
                shared.send(p, None, worker, dequeued).await;
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

/// Prepare bodies on a blocking thread, about `ahead` in advance, handed over
/// in batches. Returns the feed and a receiver that yields once `prefill`
/// are ready (or the source ends).
fn start_producer(
    ctx: &RunContext,
    bench: u64,
    ahead: usize,
    prefill: usize,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> (Feed, tokio::sync::oneshot::Receiver<()>) {
    let (tx, rx) = mpsc::channel::<Vec<Prepared>>(ahead.div_ceil(BATCH).max(2));
    let exhausted_on_spawn = Arc::clone(&exhausted);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut source = ctx.data.source(bench);
    let request_type = ctx.client.request_type();
    let stream = ctx.client.is_streaming();
    let body = ctx.body.clone();
    let spawned = std::thread::Builder::new()
        .name("llmload-producer".into())
        .spawn(move || {
            // Far ahead of the schedule, the producer yields the CPU to the
            // threads that send and receive.
            lower_priority();
            let mut ready = Some(ready_tx);
            let mut made = 0usize;
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let spec = match source.next_request() {
                    Ok(Some(s)) => s,
                    Ok(None) => break,
                    Err(e) => {
                        *exhausted.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                        break;
                    }
                };
                let bytes = encode_body(
                    &BodySpec {
                        request_type,
                        model: body.model.as_deref(),
                        prompt: &spec.prompt,
                        output_tokens: spec.output_tokens,
                        max_tokens: body.max_tokens,
                        stream,
                        system: spec.system.as_deref(),
                        messages: spec.messages.as_ref(),
                    },
                    body.extra.as_ref(),
                );
                let p = Prepared {
                    body: bytes,
                    prompt_tokens: spec.prompt_tokens,
                    words: spec.prompt_words,
                    chars: spec.prompt_chars,
                    queued: now(),
                };
                batch.push(p);
                made += 1;
                // Hand over full batches, and the first requests as soon as the prefill is met.
                if batch.len() == BATCH || (made == prefill && ready.is_some()) {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.blocking_send(full).is_err() {
                        return;
                    }
                }
                if made >= prefill {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
        });
    if let Err(e) = spawned {
        *exhausted_on_spawn.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("cannot start the producer thread: {e}"));
    }
    (
        Feed {
            rx,
            buf: Vec::new().into_iter(),
        },
        ready_rx,
    )
}

/// Nice the calling thread (+10): it runs behind the sending threads.
#[allow(unsafe_code)]
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid takes no arguments; setpriority on our own thread id
    // only changes this thread's scheduling weight.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Run benchmark `index` (0-based) of a run with `strategy`.
pub(crate) async fn run_benchmark(
    ctx: &RunContext,
    index: usize,
    strategy: Strategy,
    plan: &RunPlan,
) -> Result<BenchmarkRun, EngineError> {
    let constraints = &plan.constraints;
    let concurrency = strategy.max_concurrency().max(1) as usize;
    let ahead = match strategy.rate() {
        Some(rate) => (rate * 2.0).ceil() as usize,
        None => concurrency * 2,
    }
    .clamp(64, 16_384);
    let prefill = match strategy.rate() {
        Some(rate) => (rate.ceil() as usize).min(ahead),
        None => concurrency.min(ahead),
    }
    .min(constraints.max_requests.unwrap_or(u64::MAX) as usize)
    .max(1);
    let exhausted = Arc::new(std::sync::Mutex::new(None));
    let (rx, ready) = start_producer(
        ctx,
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

    let (rec_tx, mut rec_rx) = mpsc::unbounded_channel();
    let stop_queuing = CancellationToken::new();
    let created = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Shared {
        client: ctx.client.clone(),
        keep_body: ctx.body.keep_body,
        cancel: CancellationToken::new(),
        records: rec_tx,
        created: Arc::clone(&created),
    });
    let start = now() + Duration::from_millis(1);
    let dispatcher = {
        let (shared, stop, max) = (
            Arc::clone(&shared),
            stop_queuing.clone(),
            constraints.max_requests,
        );
        let exhausted = Arc::clone(&exhausted);
        match strategy {
            Strategy::Synchronous => {
                tokio::spawn(dispatch_closed(shared, 1, rx, stop, max, exhausted))
            }
            Strategy::Concurrent { streams } => {
                tokio::spawn(dispatch_closed(shared, streams, rx, stop, max, exhausted))
            }
            Strategy::Throughput { max_concurrency } => tokio::spawn(dispatch_closed(
                shared,
                max_concurrency,
                rx,
                stop,
                max,
                exhausted,
            )),
            Strategy::Constant { .. } | Strategy::Poisson { .. } => {
                let schedule = Schedule {
                    strategy: strategy.clone(),
                    start,
                    deadline: ConstraintState::new(constraints.clone()).deadline(start),
                    max_requests: max,
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
    let mut records: Vec<RequestRecord> = Vec::new();
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
            p.publish(Progress::snapshot(
                index, &strategy, start, deadline, phase, live, created,
            ));
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
                    records.push(rec);
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
        _ => records
            .iter()
            .filter_map(RequestRecord::request_end_time)
            .max()
            .unwrap_or(start),
    };
    let w = window::measure(
        (start, request_end),
        &records,
        constraints,
        &plan.warmup,
        &plan.cooldown,
    );
    let created = records.len() as u64 + never_started;
    Ok(BenchmarkRun {
        index,
        strategy,
        constraints: constraints.clone(),
        records,
        start,
        end,
        end_queuing,
        end_processing,
        measure_start: w.start,
        measure_end: w.end,
        measure_by_start: w.by_start,
        request_end,
        created,
        never_started,
        error_window: state.window_state(),
    })
}

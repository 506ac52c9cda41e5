//! The producer: a thread that turns the data source's requests into JSON
//! bodies ahead of the schedule and hands them to the dispatcher in
//! batches, so building prompts never delays a send. A run whose size is
//! known is prepared whole before its first request (up to a memory
//! budget); a longer one keeps seconds of requests in hand. The thread has
//! the senders' scheduling class, never a lower one: on a busy host a
//! starved producer would stall every send behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use llmload_client::openai::{encode_body, BodySpec};
use llmload_client::CancellationToken;
use llmload_clock::{now, Timestamp};
use tokio::sync::mpsc;

use crate::RunContext;

/// A request ready to send.
pub(crate) struct Prepared {
    pub(crate) body: Bytes,
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) words: u64,
    pub(crate) chars: u64,
    pub(crate) queued: Timestamp,
    /// The conversation this request is a turn of (multi-turn data).
    pub(crate) conversation: Option<Box<crate::turns::Conversation>>,
}

/// Requests the producer handed over in batches (so it is woken once per
/// batch, not once per request).
pub(crate) struct Feed {
    rx: mpsc::Receiver<Vec<Prepared>>,
    buf: std::vec::IntoIter<Prepared>,
    budget: Arc<Budget>,
}

/// Requests per hand-over from the producer.
const BATCH: usize = 8;

/// Bytes of prepared bodies held at most.
const BUDGET_BYTES: u64 = 64 << 20;

/// Prepared bytes handed over, so the producer stays within [`BUDGET_BYTES`].
#[derive(Default)]
struct Budget {
    taken: AtomicU64,
    lock: Mutex<()>,
    freed: Condvar,
}

impl Feed {
    /// The next request: `None` when stopped, `Some(None)` when the source ended.
    pub(crate) async fn next(&mut self, stop: &CancellationToken) -> Option<Option<Prepared>> {
        if let Some(p) = self.buf.next() {
            return Some(Some(p));
        }
        tokio::select! {
            biased;
            _ = stop.cancelled() => None,
            batch = self.rx.recv() => Some(batch.and_then(|b| {
                let bytes: usize = b.iter().map(|p| p.body.len()).sum();
                self.budget.taken.fetch_add(bytes as u64, Ordering::Relaxed);
                self.budget.freed.notify_one();
                self.buf = b.into_iter();
                self.buf.next()
            })),
        }
    }
}

/// Prepare bodies on their own thread, about `ahead` in advance (and never
/// more than [`BUDGET_BYTES`] of them), handed over in batches. Returns the
/// feed and a receiver that yields once `prefill` are ready (or the source
/// ends, or the budget is full).
pub(crate) fn start_producer(
    ctx: &RunContext,
    shard: Option<llmload_core::Shard>,
    bench: u64,
    ahead: usize,
    prefill: usize,
    exhausted: Arc<std::sync::Mutex<Option<String>>>,
) -> (Feed, tokio::sync::oneshot::Receiver<()>) {
    let (tx, rx) = mpsc::channel::<Vec<Prepared>>(ahead.max(prefill).div_ceil(BATCH).max(2));
    let budget = Arc::new(Budget::default());
    let producer_budget = Arc::clone(&budget);
    let exhausted_on_spawn = Arc::clone(&exhausted);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    // A shard draws every request of the one run, in order, and keeps its
    // own: request i is the same whatever the layout.
    let mut source: Box<dyn llmload_data::RequestSource> = match shard {
        Some(s) => Box::new(llmload_data::Sharded::new(
            ctx.data.source(bench),
            u64::from(s.index),
            u64::from(s.count),
        )),
        None => ctx.data.source(bench),
    };
    let request_type = ctx.client.request_type();
    let stream = ctx.client.is_streaming();
    let body = ctx.body.clone();
    let spawned = std::thread::Builder::new()
        .name("llmload-producer".into())
        .spawn(move || {
            llmload_clock::priority::raise_current_thread();
            let budget = producer_budget;
            let mut ready = Some(ready_tx);
            let mut made = 0usize;
            let mut made_bytes = 0u64;
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                // Within the memory budget: wait for the dispatcher to take some.
                while made_bytes.saturating_sub(budget.taken.load(Ordering::Relaxed)) > BUDGET_BYTES
                {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    let guard = budget.lock.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = budget.freed.wait_timeout(guard, Duration::from_millis(100));
                    if tx.is_closed() {
                        return;
                    }
                }
                let mut spec = match source.next_request() {
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
                made_bytes += bytes.len() as u64;
                let p = Prepared {
                    body: bytes,
                    prompt_tokens: spec.prompt_tokens,
                    words: spec.prompt_words,
                    chars: spec.prompt_chars,
                    queued: now(),
                    conversation: crate::turns::Conversation::open(&mut spec),
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
            budget,
        },
        ready_rx,
    )
}

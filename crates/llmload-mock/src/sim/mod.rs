//! A simulated vLLM engine with a capacity: continuous batching over a
//! token budget per step, a batch-size limit, a KV cache in blocks with
//! optional preemption, a FCFS waiting queue and an optional prefix cache.
//! Time to first token then includes queueing and prefill, inter-token
//! latency grows with the batch, and the server has a knee whose position
//! follows from the model ([`EngineModel::sustainable_rate`]).

mod prefix;
mod sched;

use std::sync::Arc;
use std::time::Duration;

use llmload_clock::{now, sleep_until, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) use prefix::block_hashes;
pub(crate) use sched::{Event, Submission};

use crate::metrics::Metrics;
use sched::Scheduler;

/// The engine's capacity, in vLLM's terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineModel {
    /// Requests in the running batch at most (vLLM `--max-num-seqs`).
    pub max_num_seqs: usize,
    /// Tokens computed per engine step at most (vLLM `--max-num-batched-tokens`).
    pub max_num_batched_tokens: u64,
    /// Fixed cost of one engine step.
    pub step_base: Duration,
    /// Added per request decoding in the step.
    pub step_per_seq: Duration,
    /// Added per prompt token computed in the step (prefill).
    pub prefill_per_token: Duration,
    /// KV cache capacity in tokens.
    pub kv_cache_tokens: u64,
    /// Tokens per KV block (vLLM's default 16).
    pub block_size: u64,
    /// When the cache is full, preempt the newest running request (and
    /// recompute it later) instead of reserving every request's whole length
    /// at admission.
    pub preemption: bool,
    /// Reuse computed prompt blocks across requests (vLLM's automatic prefix caching).
    pub prefix_caching: bool,
    /// One stop of the whole engine (a hiccup: a GC pause, a weight reload),
    /// timed from the first request it receives.
    pub pause: Option<Pause>,
}

/// The engine stops stepping `after` its first request, for `length`:
/// nothing runs, arrivals queue (and `num_requests_waiting` shows them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pause {
    /// From the first request's arrival to the pause.
    pub after: Duration,
    /// How long the engine stands still.
    pub length: Duration,
}

impl Default for EngineModel {
    /// Roughly an 8B model on one 48 GB GPU: ~17 req/s at 512/256 tokens.
    fn default() -> Self {
        EngineModel {
            max_num_seqs: 256,
            max_num_batched_tokens: 2048,
            step_base: Duration::from_millis(12),
            step_per_seq: Duration::from_micros(100),
            prefill_per_token: Duration::from_micros(40),
            kv_cache_tokens: 262_144,
            block_size: 16,
            preemption: true,
            prefix_caching: false,
            pause: None,
        }
    }
}

impl EngineModel {
    /// Requests that can run at once with `prompt + output` tokens each:
    /// `max_num_seqs`, or fewer when the KV cache cannot hold that many.
    pub fn batch_limit(&self, prompt: u64, output: u64) -> u64 {
        let bs = self.block_size.max(1);
        let per_request = (prompt + output).div_ceil(bs).max(1);
        (self.max_num_seqs as u64).min(self.kv_cache_tokens / bs / per_request)
    }

    /// The highest arrival rate (requests/s) the engine sustains with
    /// `prompt`/`output`-token requests (none cached): docs/mock.md derives
    /// it. At rate λ the engine must spend, per second,
    /// `S·base + per_seq·λ·(O−1) + per_token·λ·P` seconds, where the steps
    /// per second `S` are at least `λ·O/B` (a request takes `O` steps and a
    /// step holds at most `B` requests) and at least `λ·(P+O−1)/T` (a step
    /// computes at most `T` tokens). So
    /// `R = 1 / (base·max(O/B, (P+O−1)/T) + per_seq·(O−1) + per_token·P)`.
    pub fn sustainable_rate(&self, prompt: u64, output: u64) -> f64 {
        let (p, o) = (prompt as f64, output.max(1) as f64);
        let b = self.batch_limit(prompt, output).max(1) as f64;
        let t = self.max_num_batched_tokens.max(1) as f64;
        let steps = (o / b).max((p + o - 1.0) / t);
        1.0 / (self.step_base.as_secs_f64() * steps
            + self.step_per_seq.as_secs_f64() * (o - 1.0)
            + self.prefill_per_token.as_secs_f64() * p)
    }

    /// `Err(flag)` for a model that cannot serve anything.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.max_num_seqs == 0 {
            return Err("--max-num-seqs");
        }
        if self.max_num_batched_tokens == 0 {
            return Err("--max-num-batched-tokens");
        }
        if self.block_size == 0 {
            return Err("--block-size");
        }
        if self.kv_cache_tokens < self.block_size {
            return Err("--kv-cache-tokens");
        }
        if self.step_base.is_zero()
            && self.step_per_seq.is_zero()
            && self.prefill_per_token.is_zero()
        {
            return Err("--step-ms");
        }
        Ok(())
    }
}

/// Hands requests to the engine task.
#[derive(Debug)]
pub(crate) struct Engine {
    inbox: mpsc::UnboundedSender<Submission>,
    model: EngineModel,
}

impl Engine {
    /// Start the engine task on the current runtime.
    pub(crate) fn start(
        model: EngineModel,
        metrics: Arc<Metrics>,
        stop: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let total = model.kv_cache_tokens / model.block_size.max(1);
        metrics
            .kv_total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(drive(Scheduler::new(model), rx, metrics, stop));
        Engine { inbox: tx, model }
    }

    pub(crate) fn model(&self) -> &EngineModel {
        &self.model
    }

    /// Whether a request of this size fits the KV cache at all.
    pub(crate) fn fits(&self, prompt: u64, output: u64) -> bool {
        (prompt + output).div_ceil(self.model.block_size.max(1))
            <= self.model.kv_cache_tokens / self.model.block_size.max(1)
    }

    /// Queue a request; its events arrive on the returned receiver.
    pub(crate) fn submit(
        &self,
        prompt_tokens: u64,
        block_hashes: Vec<u64>,
        output_tokens: u64,
        arrived: Timestamp,
    ) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.inbox.send(Submission {
            arrived,
            prompt_tokens,
            block_hashes,
            output_tokens,
            events: tx,
        });
        rx
    }
}

/// How far the engine may fall behind its own timeline (a starved task)
/// before it starts again from now instead of catching up in a burst.
const MAX_BEHIND: Duration = Duration::from_millis(50);

fn publish(s: &Scheduler, m: &Metrics) {
    use std::sync::atomic::Ordering::Relaxed;
    let (running, waiting, used, _) = s.gauges();
    m.running.store(running as i64, Relaxed);
    m.waiting.store(waiting as i64, Relaxed);
    m.kv_used.store(used, Relaxed);
}

/// The engine loop: steps back to back while there is work, each lasting its
/// modelled time on a timeline that does not drift with task wake-ups.
async fn drive(
    mut sched: Scheduler,
    mut inbox: mpsc::UnboundedReceiver<Submission>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let mut next_start: Option<Timestamp> = None;
    // The pause's window on the clock, once the first request has come.
    let mut pause = sched
        .model()
        .pause
        .map(|p| (p, None::<(Timestamp, Timestamp)>));
    loop {
        while let Ok(s) = inbox.try_recv() {
            sched.arrive(s);
        }
        if let Some((p, window)) = &mut pause {
            if window.is_none() && !sched.idle() {
                let first = now();
                *window = Some((first + p.after, first + p.after + p.length));
            }
        }
        if let Some((_, Some((from, to)))) = pause {
            let t = now();
            if t >= from && t < to {
                // Stand still; take arrivals into the queue meanwhile.
                publish(&sched, &metrics);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = sleep_until(to) => { pause = None; }
                    s = inbox.recv() => match s {
                        Some(s) => sched.arrive(s),
                        None => return,
                    },
                }
                next_start = None;
                continue;
            }
        }
        if sched.idle() {
            publish(&sched, &metrics);
            next_start = None;
            tokio::select! {
                _ = stop.cancelled() => return,
                s = inbox.recv() => match s {
                    Some(s) => sched.arrive(s),
                    None => return,
                },
            }
            continue;
        }
        let t = now();
        let start = match next_start {
            Some(s) if t.saturating_since(s) < MAX_BEHIND => s,
            _ => t,
        };
        let step = sched.schedule(start, &metrics);
        publish(&sched, &metrics);
        if step.is_empty() {
            // Only aborted or unschedulable work: wait for news.
            next_start = None;
            tokio::select! {
                _ = stop.cancelled() => return,
                s = inbox.recv() => match s {
                    Some(s) => sched.arrive(s),
                    None => return,
                },
            }
            continue;
        }
        let end = start + step.duration;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep_until(end) => {}
        }
        sched.complete(step, end, &metrics);
        next_start = Some(end);
    }
}

#[cfg(test)]
mod tests;

//! The scheduler of the simulated engine, in virtual time: no clock, no
//! tasks, so it can be driven step by step by the engine task or by a test.
//!
//! One engine step, as vLLM V1 schedules it:
//! 1. requests whose client went away are aborted (their KV blocks freed);
//! 2. running requests, oldest first, get their next tokens: one to decode,
//!    or the rest of their prompt (chunked to the step's token budget); a
//!    request that needs a KV block when none is free preempts the newest
//!    running request (recompute: it goes back to the front of the queue and
//!    must prefill its prompt and output so far again);
//! 3. waiting requests, first come first served, are admitted while a batch
//!    slot (`max_num_seqs`), KV blocks for their prompt and token budget
//!    remain; the prefix cache spares them the blocks it already holds.
//!
//! A request samples a token when every token it has so far has been
//! computed: the step that finishes its prefill yields its first token, each
//! later step one more. The step lasts `base + per_seq × decoding requests +
//! per_token × prefill tokens`.

use std::collections::VecDeque;
use std::time::Duration;

use llmload_clock::Timestamp;
use tokio::sync::mpsc::UnboundedSender;

use super::prefix::PrefixCache;
use super::EngineModel;
use crate::metrics::{Finish, Metrics};

/// What the engine tells a request's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// First scheduled: this many prompt tokens came from the prefix cache.
    Admitted {
        /// Prompt tokens found in the prefix cache.
        cached_tokens: u64,
    },
    /// One more output token was sampled.
    Token,
}

/// A request handed to the engine.
#[derive(Debug)]
pub(crate) struct Submission {
    /// When the server had read it.
    pub(crate) arrived: Timestamp,
    /// Prompt tokens (chat template included).
    pub(crate) prompt_tokens: u64,
    /// Chained hashes of the prompt's full blocks (for the prefix cache).
    pub(crate) block_hashes: Vec<u64>,
    /// Output tokens to generate.
    pub(crate) output_tokens: u64,
    /// Where its events go (closed when the client has gone).
    pub(crate) events: UnboundedSender<Event>,
}

#[derive(Debug)]
struct Seq {
    sub: Submission,
    /// Tokens whose KV is computed.
    computed: u64,
    generated: u64,
    blocks: u64,
    admitted: bool,
    last_token: Option<Timestamp>,
}

impl Seq {
    fn tokens(&self) -> u64 {
        self.sub.prompt_tokens + self.generated
    }
}

/// One step's work: `(index into running, tokens)`, and how long it takes.
#[derive(Debug, Default)]
pub(crate) struct Step {
    work: Vec<(usize, u64)>,
    /// Engine time of the step.
    pub(crate) duration: Duration,
}

impl Step {
    pub(crate) fn is_empty(&self) -> bool {
        self.work.is_empty()
    }
}

/// The engine's queues and KV cache.
#[derive(Debug)]
pub(crate) struct Scheduler {
    cfg: EngineModel,
    total_blocks: u64,
    free_blocks: u64,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    prefix: Option<PrefixCache>,
}

fn blocks_for(tokens: u64, block: u64) -> u64 {
    tokens.div_ceil(block.max(1))
}

impl Scheduler {
    pub(crate) fn new(cfg: EngineModel) -> Self {
        let total = cfg.kv_cache_tokens / cfg.block_size.max(1);
        Scheduler {
            total_blocks: total,
            free_blocks: total,
            waiting: VecDeque::new(),
            running: Vec::new(),
            prefix: cfg.prefix_caching.then(|| PrefixCache::new(total as usize)),
            cfg,
        }
    }

    pub(crate) fn arrive(&mut self, sub: Submission) {
        self.waiting.push_back(Seq {
            sub,
            computed: 0,
            generated: 0,
            blocks: 0,
            admitted: false,
            last_token: None,
        });
    }

    pub(crate) fn model(&self) -> &EngineModel {
        &self.cfg
    }

    pub(crate) fn idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    /// Requests running, waiting; KV blocks used and in all.
    pub(crate) fn gauges(&self) -> (usize, usize, u64, u64) {
        (
            self.running.len(),
            self.waiting.len(),
            self.total_blocks - self.free_blocks,
            self.total_blocks,
        )
    }

    fn release(&mut self, seq: &mut Seq) {
        self.free_blocks += seq.blocks;
        seq.blocks = 0;
    }

    /// Drop requests whose client has gone.
    fn abort_gone(&mut self, now: Timestamp, metrics: &Metrics) {
        let mut gone = Vec::new();
        self.running.retain_mut(|s| {
            let closed = s.sub.events.is_closed();
            if closed {
                gone.push((s.blocks, s.sub.prompt_tokens, s.generated, s.sub.arrived));
            }
            !closed
        });
        self.waiting.retain(|s| {
            let closed = s.sub.events.is_closed();
            if closed {
                gone.push((0, s.sub.prompt_tokens, s.generated, s.sub.arrived));
            }
            !closed
        });
        for (blocks, prompt, generated, arrived) in gone {
            self.free_blocks += blocks;
            metrics.finished(
                Finish::Abort,
                prompt,
                generated,
                now.secs_since(arrived).max(0.0),
            );
        }
    }

    /// Plan the step that starts at `now`.
    pub(crate) fn schedule(&mut self, now: Timestamp, metrics: &Metrics) -> Step {
        self.abort_gone(now, metrics);
        let bs = self.cfg.block_size.max(1);
        let mut budget = self.cfg.max_num_batched_tokens.max(1);
        let mut step = Step::default();
        let (mut decoding, mut prefill_tokens) = (0u64, 0u64);
        // Running requests, oldest first.
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let want = (self.running[i].tokens() - self.running[i].computed).min(budget);
            let need = blocks_for(self.running[i].computed + want, bs)
                .saturating_sub(self.running[i].blocks);
            if need > self.free_blocks {
                // Preempt the newest running request (it may be this one).
                let Some(mut victim) = self.running.pop() else {
                    break;
                };
                self.release(&mut victim);
                victim.computed = 0;
                metrics.preempted();
                self.waiting.push_front(victim);
                continue;
            }
            self.free_blocks -= need;
            let s = &mut self.running[i];
            s.blocks += need;
            budget -= want;
            if s.generated > 0 && want == 1 && s.computed + 1 == s.tokens() {
                decoding += 1;
            } else {
                prefill_tokens += want;
            }
            step.work.push((i, want));
            i += 1;
        }
        // Waiting requests, first come first served.
        while budget > 0 && self.running.len() < self.cfg.max_num_seqs.max(1) {
            let Some(head) = self.waiting.front() else {
                break;
            };
            let cached = match &self.prefix {
                Some(p) => {
                    let hits = p.peek(&head.sub.block_hashes);
                    // At least one prompt token is always computed.
                    (hits * bs).min((head.sub.prompt_tokens.saturating_sub(1)) / bs * bs)
                }
                _ => 0,
            };
            let to_compute = head.tokens() - cached;
            let want = to_compute.min(budget);
            // Without preemption a request holds blocks for its whole length from the start.
            let need = if self.cfg.preemption {
                blocks_for(cached + want, bs)
            } else {
                blocks_for(head.sub.prompt_tokens + head.sub.output_tokens, bs)
            };
            if need > self.free_blocks {
                break;
            }
            let mut s = self.waiting.pop_front().expect("a head");
            if let Some(p) = &mut self.prefix {
                p.touch(&s.sub.block_hashes[..(cached / bs) as usize]);
            }
            if !s.admitted {
                s.admitted = true;
                metrics.queued(now.secs_since(s.sub.arrived).max(0.0));
                metrics.prefix_lookup(s.sub.prompt_tokens, cached);
                let _ = s.sub.events.send(Event::Admitted {
                    cached_tokens: cached,
                });
            }
            self.free_blocks -= need;
            s.blocks = need;
            s.computed = cached;
            budget -= want;
            prefill_tokens += want;
            step.work.push((self.running.len(), want));
            self.running.push(s);
        }
        let m = &self.cfg;
        step.duration = if step.work.is_empty() {
            Duration::ZERO
        } else {
            m.step_base
                + m.step_per_seq * decoding as u32
                + m.prefill_per_token * prefill_tokens as u32
        };
        step
    }

    /// The step ended at `at`: tokens computed, sampled and sent; finished
    /// requests leave and free their blocks.
    pub(crate) fn complete(&mut self, step: Step, at: Timestamp, metrics: &Metrics) {
        for &(i, n) in &step.work {
            let s = &mut self.running[i];
            s.computed += n;
            if s.computed < s.tokens() {
                continue;
            }
            // Every token so far is computed: sample the next one.
            if s.generated == 0 {
                if let Some(p) = &mut self.prefix {
                    p.insert(&s.sub.block_hashes);
                }
                metrics.first_token(s.sub.prompt_tokens, at.secs_since(s.sub.arrived).max(0.0));
            } else {
                let prev = s.last_token.unwrap_or(at);
                metrics.next_token(at.secs_since(prev).max(0.0));
            }
            s.generated += 1;
            s.last_token = Some(at);
            let _ = s.sub.events.send(Event::Token);
        }
        // Finished requests leave (highest index first keeps the others' indices).
        let mut done: Vec<usize> = step
            .work
            .iter()
            .map(|w| w.0)
            .filter(|&i| self.running[i].generated >= self.running[i].sub.output_tokens)
            .collect();
        done.sort_unstable();
        for i in done.into_iter().rev() {
            let mut s = self.running.remove(i);
            self.release(&mut s);
            metrics.finished(
                Finish::Length,
                s.sub.prompt_tokens,
                s.generated,
                at.secs_since(s.sub.arrived).max(0.0),
            );
        }
    }
}

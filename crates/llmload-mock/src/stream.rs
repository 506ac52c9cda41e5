//! Response bodies that emit tokens on schedule.
//!
//! A token is formatted only when it is due and hyper polls the body. With
//! fixed latencies token `i` is due at `received + ttft + sum(itl_1..itl_i)`
//! (gaps drawn per token, never from "now", so delays do not accumulate)
//! and the precise timer wakes the poll, so each chunk reaches the socket
//! within microseconds of its instant. With the simulated engine a token is
//! due when the engine step that sampled it ends, and the engine's message
//! wakes the poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use llmload_clock::{now, sleep_until, Sleep, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::log::RequestLog;
use crate::metrics::Finish;
use crate::sim::Event;
use crate::wire::ChunkPrefix;
use crate::{Fault, Shared, HUGE_CHUNK_BYTES};

/// What decides when the next token is due.
pub(crate) enum Pacer {
    /// Fixed latencies: the next token's instant, drawn in advance.
    Fixed {
        next_due: Timestamp,
        sleep: Option<Sleep>,
        rng: Box<ChaCha8Rng>,
    },
    /// The simulated engine: a token is due when the engine says so.
    Engine(UnboundedReceiver<Event>),
}

/// The body of a mock response: whole, or streamed token by token.
pub(crate) enum MockBody {
    Full(Option<Bytes>),
    Tokens(Box<TokenStream>),
}

impl MockBody {
    pub(crate) fn full(b: impl Into<Bytes>) -> Self {
        MockBody::Full(Some(b.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            MockBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Tokens(s) => s.poll(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Tokens(_) => SizeHint::default(),
        }
    }
}

#[derive(PartialEq, Eq)]
enum Phase {
    Tokens,
    Tail,
    Done,
}

/// A streamed completion.
pub(crate) struct TokenStream {
    shared: Arc<Shared>,
    prefix: ChunkPrefix,
    chat: bool,
    include_usage: bool,
    prompt_tokens: u64,
    total: u64,
    sent: u64,
    pacer: Pacer,
    /// Prompt tokens the prefix cache held (reported when it is on).
    cached_tokens: Option<u64>,
    phase: Phase,
    log: RequestLog,
    buf: String,
    /// A capacity slot, held until the stream ends.
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// A fault to play out in the stream.
    fault: Option<Fault>,
}

pub(crate) struct StreamPlan {
    pub(crate) prefix: ChunkPrefix,
    pub(crate) chat: bool,
    pub(crate) include_usage: bool,
    pub(crate) prompt_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) pacer: Pacer,
    pub(crate) cached_tokens: Option<u64>,
    pub(crate) log: RequestLog,
    pub(crate) slot: Option<tokio::sync::OwnedSemaphorePermit>,
    pub(crate) fault: Option<Fault>,
}

impl TokenStream {
    pub(crate) fn new(shared: Arc<Shared>, plan: StreamPlan) -> Self {
        if matches!(plan.pacer, Pacer::Fixed { .. }) {
            shared
                .metrics
                .running
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        TokenStream {
            shared,
            prefix: plan.prefix,
            chat: plan.chat,
            include_usage: plan.include_usage,
            prompt_tokens: plan.prompt_tokens,
            total: plan.output_tokens,
            sent: 0,
            pacer: plan.pacer,
            cached_tokens: plan.cached_tokens,
            phase: Phase::Tokens,
            log: plan.log,
            buf: String::new(),
            _slot: plan.slot,
            fault: plan.fault,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.phase {
            Phase::Done => return Poll::Ready(None),
            Phase::Tail => {
                self.buf.clear();
                if self.include_usage {
                    self.prefix.usage(
                        &mut self.buf,
                        self.chat,
                        self.prompt_tokens,
                        self.sent,
                        self.cached_tokens,
                    );
                }
                self.buf.push_str("data: [DONE]\n\n");
                self.phase = Phase::Done;
                self.log.completed = true;
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(std::mem::take(
                    &mut self.buf,
                ))))));
            }
            Phase::Tokens => {}
        }
        if self.sent == 0 && self.fault == Some(Fault::Stall) {
            // Headers sent; the first token never comes.
            return Poll::Pending;
        }
        match self.pacer.poll_due(cx, &mut self.cached_tokens) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(true) => {}
            Poll::Ready(false) => {
                self.phase = Phase::Done;
                return Poll::Ready(Some(Err(std::io::Error::other("the engine stopped"))));
            }
        }
        let at = now();
        self.buf.clear();
        let halfway = self.sent == self.total / 2;
        if halfway && self.fault == Some(Fault::Reset) {
            // hyper closes the connection mid-body: the client sees it cut.
            self.phase = Phase::Done;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "stream cut (injected)",
            ))));
        }
        if halfway && self.fault == Some(Fault::Malformed) {
            self.buf
                .push_str("data: {\"id\":\"malformed (injected)\n\n");
        }
        if self.sent == 0 && self.chat {
            self.prefix.chat_role(&mut self.buf);
        }
        let last = self.sent + 1 == self.total;
        let huge;
        let text = if self.sent == 0 && self.fault == Some(Fault::HugeChunk) {
            huge = "x".repeat(HUGE_CHUNK_BYTES);
            &huge
        } else {
            &self.shared.config.token_text
        };
        self.prefix.token(&mut self.buf, self.chat, text, last);
        self.sent += 1;
        self.shared
            .tokens_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Pacer::Fixed { next_due, rng, .. } = &mut self.pacer {
            // The engine records its own tokens; with fixed latencies the stream does.
            let m = &self.shared.metrics;
            match self.log.last_token_at {
                None => m.first_token(self.prompt_tokens, self.log.secs_since_received(at)),
                Some(prev) => m.next_token(at.secs_since(prev)),
            }
            if !last {
                *next_due = *next_due + self.shared.config.itl.sample(rng);
            }
        }
        self.log.tokens = self.sent;
        self.log.first_token_at.get_or_insert(at);
        self.log.last_token_at = Some(at);
        if last {
            self.phase = Phase::Tail;
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(std::mem::take(
            &mut self.buf,
        ))))))
    }
}

impl Pacer {
    /// Fixed latencies: the first token is due `ttft` after `start`.
    pub(crate) fn fixed(first_due: Timestamp, seed: u64) -> Pacer {
        Pacer::Fixed {
            next_due: first_due,
            sleep: None,
            rng: Box::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// Ready(true) when the next token is due, Ready(false) if it never will be.
    fn poll_due(&mut self, cx: &mut Context<'_>, cached: &mut Option<u64>) -> Poll<bool> {
        match self {
            Pacer::Fixed {
                next_due, sleep, ..
            } => {
                if now() < *next_due {
                    let due = *next_due;
                    let s = sleep.get_or_insert_with(|| sleep_until(due));
                    if Pin::new(s).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                *sleep = None;
                Poll::Ready(true)
            }
            Pacer::Engine(rx) => loop {
                match rx.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(false),
                    Poll::Ready(Some(Event::Token)) => return Poll::Ready(true),
                    Poll::Ready(Some(Event::Admitted { cached_tokens })) => {
                        if cached.is_some() {
                            *cached = Some(cached_tokens);
                        }
                    }
                }
            },
        }
    }
}

impl Drop for TokenStream {
    fn drop(&mut self) {
        let at = now();
        if matches!(self.pacer, Pacer::Fixed { .. }) {
            let m = &self.shared.metrics;
            m.running.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            let how = if self.sent == self.total {
                Finish::Length
            } else {
                Finish::Abort
            };
            m.finished(
                how,
                self.prompt_tokens,
                self.sent,
                self.log.secs_since_received(at),
            );
        }
        self.log.ended_at = Some(at);
        self.shared.record(std::mem::take(&mut self.log));
    }
}

/// A duration drawn from a normal distribution, clamped at zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    /// Mean.
    pub mean: Duration,
    /// Standard deviation.
    pub std: Duration,
}

impl Jitter {
    /// A fixed duration.
    pub fn fixed(mean: Duration) -> Self {
        Jitter {
            mean,
            std: Duration::ZERO,
        }
    }

    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        if self.std.is_zero() {
            return self.mean;
        }
        let n = rand_distr::Normal::new(self.mean.as_secs_f64(), self.std.as_secs_f64())
            .expect("finite, non-negative std");
        let v: f64 = rand::Rng::sample(rng, n);
        Duration::from_secs_f64(v.max(0.0))
    }
}

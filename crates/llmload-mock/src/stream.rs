//! Response bodies that emit tokens on schedule.
//!
//! A token is formatted only when hyper polls the body after its due time,
//! and the precise timer wakes the poll, so each chunk reaches the socket
//! within microseconds of its scheduled instant. Token `i` is due at
//! `received + ttft + sum(itl_1..itl_i)`: gaps are drawn per token, never
//! from "now", so delays do not accumulate.

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

use crate::log::RequestLog;
use crate::wire::ChunkPrefix;
use crate::{Fault, Shared, HUGE_CHUNK_BYTES};

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
    next_due: Timestamp,
    sleep: Option<Sleep>,
    rng: ChaCha8Rng,
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
    pub(crate) first_due: Timestamp,
    pub(crate) seed: u64,
    pub(crate) log: RequestLog,
    pub(crate) slot: Option<tokio::sync::OwnedSemaphorePermit>,
    pub(crate) fault: Option<Fault>,
}

impl TokenStream {
    pub(crate) fn new(shared: Arc<Shared>, plan: StreamPlan) -> Self {
        TokenStream {
            shared,
            prefix: plan.prefix,
            chat: plan.chat,
            include_usage: plan.include_usage,
            prompt_tokens: plan.prompt_tokens,
            total: plan.output_tokens,
            sent: 0,
            // A stalled stream: headers now, the first token in an hour.
            next_due: if plan.fault == Some(Fault::Stall) {
                plan.first_due + Duration::from_secs(3600)
            } else {
                plan.first_due
            },
            sleep: None,
            rng: ChaCha8Rng::seed_from_u64(plan.seed),
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
                    self.prefix
                        .usage(&mut self.buf, self.chat, self.prompt_tokens, self.sent);
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
        if now() < self.next_due {
            let due = self.next_due;
            let sleep = self.sleep.get_or_insert_with(|| sleep_until(due));
            if Pin::new(sleep).poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.sleep = None;
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
        self.log.tokens = self.sent;
        self.log.first_token_at.get_or_insert(at);
        self.log.last_token_at = Some(at);
        if last {
            self.phase = Phase::Tail;
        } else {
            let gap = self.shared.config.itl.sample(&mut self.rng);
            self.next_due = self.next_due + gap;
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(std::mem::take(
            &mut self.buf,
        ))))))
    }
}

impl Drop for TokenStream {
    fn drop(&mut self) {
        self.log.ended_at = Some(now());
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

//! Multi-turn conversations: a later turn is sent once the turn before it
//! has been answered (and its think time has passed), carrying the
//! conversation so far: the system prompt, every earlier user message and
//! the server's actual reply to each.
//!
//! Scheduling follows GuideLLM 0.8.1's workers: every send slot (an arrival
//! of the schedule, or a closed-loop stream that is free) takes the first
//! turn that is ready, in the order its conversation started, and starts a
//! new conversation only when none is. Under `concurrent` a stream thus
//! carries its conversation to the end (without think time); under
//! `constant` a reply's next turn takes the next arrival. A turn that fails
//! ends its conversation: the turns after it are never sent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use llmload_client::openai::{encode_body, BodySpec};
use llmload_client::CancellationToken;
use llmload_clock::{now, Timestamp};
use llmload_core::{RequestRecord, RequestStatus, RequestType, Turn};
use llmload_data::{FollowUps, RequestSpec};
use serde_json::{json, Value};

use crate::producer::{Feed, Prepared};
use crate::BodyOptions;

/// A conversation under way.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub(crate) id: uuid::Uuid,
    /// Its place in the order conversations started.
    order: u64,
    system: Option<String>,
    /// `(user message, reply)` of every turn answered so far.
    history: Vec<(String, String)>,
    /// The user message of the turn being sent.
    current: String,
    rest: std::vec::IntoIter<RequestSpec>,
    delay: Duration,
    /// The turn being sent.
    pub(crate) index: u32,
    /// When the turn before it was answered.
    pub(crate) predecessor_completed: Option<Timestamp>,
    /// The current turn's lengths, until its body is built.
    pending_spec: Option<PendingSpec>,
}

impl Conversation {
    /// The conversation a first turn opens, if it has later turns.
    pub(crate) fn open(spec: &mut RequestSpec) -> Option<Box<Conversation>> {
        let FollowUps { turns, delay } = *spec.follow_ups.take()?;
        Some(Box::new(Conversation {
            id: uuid::Uuid::new_v4(),
            order: 0,
            system: spec.system.clone(),
            history: Vec::new(),
            current: spec.prompt.clone(),
            rest: turns.into_iter(),
            delay,
            index: 0,
            predecessor_completed: None,
            pending_spec: None,
        }))
    }

    /// Where a request of this conversation stands.
    pub(crate) fn turn(&self) -> Turn {
        Turn {
            conversation_id: self.id,
            index: self.index,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Turns whose predecessor was answered, by conversation order, with
    /// the instant they may be sent.
    pending: BTreeMap<u64, (Timestamp, Box<Conversation>)>,
    /// Conversations started and not finished (pending or in flight).
    active: u64,
    started: u64,
}

/// The turns of one benchmark's conversations.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    state: Mutex<State>,
    changed: tokio::sync::Notify,
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A conversation's first turn is being sent.
    fn started(&self, c: &mut Conversation) {
        let mut s = self.lock();
        c.order = s.started;
        s.started += 1;
        s.active += 1;
    }

    /// The first turn ready at `at`, in conversation order.
    fn take_ready(&self, at: Timestamp) -> Option<Box<Conversation>> {
        let mut s = self.lock();
        let key = s
            .pending
            .iter()
            .find(|(_, (ready, _))| *ready <= at)
            .map(|(k, _)| *k)?;
        s.pending.remove(&key).map(|(_, c)| c)
    }

    /// The turn `c` is on was answered as `rec` says: its next turn is due
    /// after the think time, or the conversation ends.
    pub(crate) fn answered(&self, mut c: Box<Conversation>, rec: &RequestRecord) {
        let at = now();
        let next = match rec.status {
            RequestStatus::Completed => c.rest.next(),
            _ => None,
        };
        let mut s = self.lock();
        match next {
            Some(spec) => {
                let reply = rec.output_text.clone().unwrap_or_default();
                let user = std::mem::replace(&mut c.current, spec.prompt);
                c.history.push((user, reply));
                c.index += 1;
                c.predecessor_completed = Some(at);
                c.pending_spec = Some(PendingSpec {
                    output_tokens: spec.output_tokens,
                    words: spec.prompt_words,
                    chars: spec.prompt_chars,
                });
                let ready = at + c.delay;
                s.pending.insert(c.order, (ready, c));
            }
            None => s.active = s.active.saturating_sub(1),
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// When the next pending turn is ready (`None`: none is pending), and
    /// whether any conversation is still under way.
    fn outlook(&self) -> (Option<Timestamp>, bool) {
        let s = self.lock();
        (s.pending.values().map(|(t, _)| *t).min(), s.active > 0)
    }
}

/// What a follow-up turn needs besides its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingSpec {
    output_tokens: Option<u64>,
    words: u64,
    chars: u64,
}

/// How bodies are encoded (the producer's settings).
#[derive(Clone, Debug)]
pub(crate) struct Encoding {
    pub(crate) request_type: RequestType,
    pub(crate) stream: bool,
    pub(crate) body: BodyOptions,
}

/// Where a benchmark's requests come from: the producer's feed, and the
/// later turns of conversations under way.
pub(crate) struct Source {
    feed: Feed,
    turns: Option<(std::sync::Arc<Turns>, Encoding)>,
}

impl Source {
    pub(crate) fn new(feed: Feed, turns: Option<(std::sync::Arc<Turns>, Encoding)>) -> Self {
        Source { feed, turns }
    }

    /// The next request: `None` when stopped, `Some(None)` when the data
    /// ran out and no conversation has a turn left.
    pub(crate) async fn next(&mut self, stop: &CancellationToken) -> Option<Option<Prepared>> {
        let Some((turns, enc)) = &self.turns else {
            return self.feed.next(stop).await;
        };
        loop {
            if let Some(c) = turns.take_ready(now()) {
                return Some(Some(follow_up(c, enc)));
            }
            match self.feed.next(stop).await? {
                Some(mut p) => {
                    if let Some(c) = p.conversation.as_mut() {
                        turns.started(c);
                    }
                    return Some(Some(p));
                }
                None => {
                    // The data ran out: wait for the conversations under way.
                    let changed = turns.changed.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    match turns.outlook() {
                        (_, false) => return Some(None),
                        (Some(ready), _) if ready <= now() => continue,
                        (ready, _) => {
                            let wait = ready
                                .map_or(Duration::from_secs(3600), |r| r.saturating_since(now()));
                            tokio::select! {
                                biased;
                                _ = stop.cancelled() => return None,
                                _ = changed => {}
                                _ = tokio::time::sleep(wait) => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A later turn's request: the history, then its own user message.
fn follow_up(mut c: Box<Conversation>, enc: &Encoding) -> Prepared {
    let spec = c.pending_spec.take().expect("a follow-up has its spec");
    let body = encode_turn(&c, spec.output_tokens, enc);
    Prepared {
        body,
        // The server counts the history too: its usage says how many.
        prompt_tokens: None,
        words: spec.words,
        chars: spec.chars,
        queued: c.predecessor_completed.unwrap_or_else(now),
        conversation: Some(c),
    }
}

/// The body of `c`'s current turn, as GuideLLM 0.8.1 builds it: for chat,
/// the system prompt, then each earlier turn's user message (a list of
/// parts) and the reply (a string), then the current user message; for
/// completions, all of these joined by spaces.
pub(crate) fn encode_turn(c: &Conversation, output_tokens: Option<u64>, enc: &Encoding) -> Bytes {
    let chat = enc.request_type == RequestType::ChatCompletions;
    let user = |t: &str| json!({"role": "user", "content": [{"type": "text", "text": t}]});
    let messages: Option<Value> = chat.then(|| {
        let mut m = Vec::with_capacity(2 * c.history.len() + 2);
        if let Some(s) = &c.system {
            m.push(json!({"role": "system", "content": s}));
        }
        for (u, a) in &c.history {
            m.push(user(u));
            m.push(json!({"role": "assistant", "content": a}));
        }
        m.push(user(&c.current));
        Value::Array(m)
    });
    let prompt = if chat {
        String::new()
    } else {
        let mut parts: Vec<&str> = c.system.iter().map(String::as_str).collect();
        for (u, a) in &c.history {
            parts.push(u);
            parts.push(a);
        }
        parts.push(&c.current);
        parts.join(" ")
    };
    encode_body(
        &BodySpec {
            request_type: enc.request_type,
            model: enc.body.model.as_deref(),
            prompt: &prompt,
            output_tokens,
            max_tokens: enc.body.max_tokens,
            stream: enc.stream,
            system: None,
            messages: messages.as_ref(),
        },
        enc.body.extra.as_ref(),
    )
}

//! The plain record of one request, as the client measured it.
//!
//! A [`RequestRecord`] is what crosses from the client (which fills it) through
//! the engine (which routes it) to the metrics and report code (which read it).
//! It holds timestamps, counts and an error kind, never an HTTP type. Its
//! methods are the single definition of every per-request metric (TTFT, ITL,
//! TPOT, latency, ...) with GuideLLM 0.4's formulas; docs/metrics.md lists them.

use std::fmt;

use bytes::Bytes;
use llmload_clock::Timestamp;

/// The OpenAI route a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// `POST /v1/completions`
    TextCompletions,
    /// `POST /v1/chat/completions`
    ChatCompletions,
}

impl RequestType {
    /// GuideLLM's name for the type (`text_completions` / `chat_completions`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::TextCompletions => "text_completions",
            RequestType::ChatCompletions => "chat_completions",
        }
    }
}

/// How a request ended. GuideLLM reports these as successful / errored / incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// The response ended normally (`[DONE]` or end of a complete body).
    Completed,
    /// The request failed: bad status, transport error, error payload, ...
    Errored,
    /// The benchmark stopped while the request was in flight (GuideLLM "cancelled").
    Cancelled,
}

impl RequestStatus {
    /// GuideLLM's status string (`completed`, `errored`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Completed => "completed",
            RequestStatus::Errored => "errored",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

/// What went wrong with a failed request. Counted per kind in reports.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered with a non-2xx status.
    HttpStatus,
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect,
    /// The request timeout expired.
    Timeout,
    /// The connection closed or reset before the response ended.
    StreamReset,
    /// No data arrived for longer than the stall timeout.
    StreamStalled,
    /// A chunk or body could not be parsed.
    Parse,
    /// The server sent an error payload inside a 2xx stream.
    ServerError,
    /// The response finished without any output.
    EmptyResponse,
    /// The benchmark stopped before the request finished.
    Cancelled,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::HttpStatus,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::StreamReset,
        ErrorKind::StreamStalled,
        ErrorKind::Parse,
        ErrorKind::ServerError,
        ErrorKind::EmptyResponse,
        ErrorKind::Cancelled,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::StreamReset => "stream_reset",
            ErrorKind::StreamStalled => "stream_stalled",
            ErrorKind::Parse => "parse",
            ErrorKind::ServerError => "server_error",
            ErrorKind::EmptyResponse => "empty_response",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request's error: its kind plus a human message (the server's own
/// message for HTTP errors). Never holds secrets: the client builds it from
/// status lines and response bodies only.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The HTTP status, for [`ErrorKind::HttpStatus`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// One line describing the failure.
    pub message: String,
}

impl RequestError {
    /// The error in words for people: `HTTP 404: The model ... does not
    /// exist` for an HTTP status, else the message itself.
    pub fn summary(&self) -> String {
        match self.status {
            Some(code) => format!("HTTP {code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(code) => write!(f, "{} {}: {}", self.kind, code, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

/// Timestamps through a request's life, named as GuideLLM 0.4 names them.
///
/// `targeted_start` is when the schedule wanted the request sent (open-loop
/// profiles); `request_start` is when its headers were written to the socket;
/// `first_token_iteration` / `last_token_iteration` bracket the chunks that
/// carried output; `request_end` is after the end of the response.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestTimings {
    /// Intended send time from the arrival schedule.
    pub targeted_start: Option<Timestamp>,
    /// When the request was created and queued for dispatch.
    pub queued: Option<Timestamp>,
    /// When the dispatcher took it from the queue.
    pub dequeued: Option<Timestamp>,
    /// When it was handed to a worker.
    pub scheduled_at: Option<Timestamp>,
    /// When the worker began resolving it (connection checkout included).
    pub resolve_start: Option<Timestamp>,
    /// When the request headers were written.
    pub request_start: Option<Timestamp>,
    /// First line of the response body.
    pub first_request_iteration: Option<Timestamp>,
    /// First chunk carrying output.
    pub first_token_iteration: Option<Timestamp>,
    /// Last chunk carrying output.
    pub last_token_iteration: Option<Timestamp>,
    /// Last line of the response body.
    pub last_request_iteration: Option<Timestamp>,
    /// Lines received (SSE data lines and blank separators), as GuideLLM 0.4 counts.
    pub request_iterations: u64,
    /// Chunks that carried output.
    pub token_iterations: u64,
    /// After the last byte of the response.
    pub request_end: Option<Timestamp>,
    /// When the worker finished with the request.
    pub resolve_end: Option<Timestamp>,
    /// When the engine recorded the finished request.
    pub finalized: Option<Timestamp>,
    /// When a concurrency cap that held the request back let it go (set
    /// only when the cap was full at its intended time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_released: Option<Timestamp>,
    /// When the turn before this one (multi-turn conversations) was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor_completed: Option<Timestamp>,
}

/// Where a request stands in a multi-turn conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Turn {
    /// The conversation (shared by its turns).
    pub conversation_id: uuid::Uuid,
    /// 0 for the first turn; turn `k` carries the `k` turns before it (and
    /// their replies) as its history.
    pub index: u32,
}

/// Token, word and character counts for one side (input or output) of a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageMetrics {
    /// Tokens (server usage when reported, else the measured/requested count).
    pub text_tokens: Option<u64>,
    /// Whitespace-separated words of the text.
    pub text_words: Option<u64>,
    /// Unicode scalar values of the text.
    pub text_characters: Option<u64>,
}

impl UsageMetrics {
    /// Total tokens across modalities; GuideLLM maps a zero total to `None`.
    pub fn total_tokens(&self) -> Option<u64> {
        self.text_tokens.filter(|&t| t != 0)
    }
}

/// Everything measured about one request.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestRecord {
    /// Unique id of the request (UUIDv4).
    pub request_id: uuid::Uuid,
    /// Which route it used.
    pub request_type: RequestType,
    /// How it ended.
    pub status: RequestStatus,
    /// The worker (stream / connection slot) that ran it.
    pub worker: u32,
    /// Its timestamps.
    pub timings: RequestTimings,
    /// Prompt counts: tokens from server usage, else the count it was built with.
    pub input: UsageMetrics,
    /// Output counts: tokens from server usage, else the number of output chunks.
    pub output: UsageMetrics,
    /// Why it failed (errored and cancelled requests).
    pub error: Option<RequestError>,
    /// The server's response id (`chatcmpl-…`), when sent.
    pub response_id: Option<String>,
    /// The generated text, when kept.
    pub output_text: Option<String>,
    /// The JSON body as sent, when kept (shared, not copied).
    #[serde(with = "bytes_as_str")]
    pub request_body: Option<Bytes>,
    /// Prompt tokens the server served from its prefix cache
    /// (`usage.prompt_tokens_details.cached_tokens`), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Its place in a multi-turn conversation (`None`: a single-turn request,
    /// the root of its own conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<Turn>,
}

mod bytes_as_str {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&*String::from_utf8_lossy(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Bytes::from))
    }
}

fn ms(later: Timestamp, earlier: Timestamp) -> f64 {
    later.secs_since(earlier) * 1000.0
}

impl RequestRecord {
    /// A record with no timings or counts yet.
    pub fn new(request_type: RequestType, worker: u32) -> Self {
        RequestRecord {
            request_id: uuid::Uuid::new_v4(),
            request_type,
            status: RequestStatus::Errored,
            worker,
            timings: RequestTimings::default(),
            input: UsageMetrics::default(),
            output: UsageMetrics::default(),
            error: None,
            response_id: None,
            output_text: None,
            request_body: None,
            cached_tokens: None,
            turn: None,
        }
    }

    /// Start of the request: headers written, else when resolving began.
    pub fn request_start_time(&self) -> Option<Timestamp> {
        self.timings.request_start.or(self.timings.resolve_start)
    }

    /// The turn's index in its conversation (0 for single-turn requests).
    pub fn turn_index(&self) -> u32 {
        self.turn.map_or(0, |t| t.index)
    }

    /// End of the request: after the response, else when resolving ended.
    pub fn request_end_time(&self) -> Option<Timestamp> {
        self.timings.request_end.or(self.timings.resolve_end)
    }

    /// End-to-end latency in seconds (`request_end - request_start`).
    pub fn request_latency(&self) -> Option<f64> {
        Some(
            self.timings
                .request_end?
                .secs_since(self.timings.request_start?),
        )
    }

    /// Prompt tokens (`input.text_tokens`).
    pub fn prompt_tokens(&self) -> Option<u64> {
        self.input.text_tokens
    }

    /// Input tokens over all modalities (`None` when zero, as GuideLLM).
    pub fn input_tokens(&self) -> Option<u64> {
        self.input.total_tokens()
    }

    /// Output tokens over all modalities (`None` when zero, as GuideLLM).
    pub fn output_tokens(&self) -> Option<u64> {
        self.output.total_tokens()
    }

    /// Input plus output tokens; `None` when both are `None`.
    pub fn total_tokens(&self) -> Option<u64> {
        match (self.input_tokens(), self.output_tokens()) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0) + o.unwrap_or(0)),
        }
    }

    /// Time to first token in ms: `first_token_iteration - request_start`.
    pub fn time_to_first_token_ms(&self) -> Option<f64> {
        Some(ms(
            self.timings.first_token_iteration?,
            self.timings.request_start?,
        ))
    }

    /// GuideLLM's time per output token in ms, TTFT included:
    /// `(last_token_iteration or request_end - request_start) / output_tokens`.
    pub fn time_per_output_token_ms(&self) -> Option<f64> {
        let start = self.timings.request_start?;
        let last = self
            .timings
            .last_token_iteration
            .or(self.request_end_time())?;
        let out = self.output_tokens().filter(|&o| o > 0)?;
        Some(ms(last, start) / out as f64)
    }

    /// Inter-token latency in ms, first token excluded:
    /// `(last_token_iteration - first_token_iteration) / (output_tokens - 1)`.
    pub fn inter_token_latency_ms(&self) -> Option<f64> {
        let first = self.timings.first_token_iteration?;
        let last = self.timings.last_token_iteration?;
        let out = self.output_tokens().filter(|&o| o > 1)?;
        Some(ms(last, first) / (out - 1) as f64)
    }

    /// Total tokens per second of this request's latency.
    pub fn tokens_per_second(&self) -> Option<f64> {
        let latency = self.request_latency().filter(|&l| l != 0.0)?;
        Some(self.total_tokens()? as f64 / latency)
    }

    /// Output tokens per second of this request's latency.
    pub fn output_tokens_per_second(&self) -> Option<f64> {
        let latency = self.request_latency().filter(|&l| l != 0.0)?;
        Some(self.output_tokens()? as f64 / latency)
    }

    /// Output tokens after the first, per output chunk after the first.
    pub fn iter_tokens_per_iteration(&self) -> Option<f64> {
        let out = self.output_tokens().filter(|&o| o > 1)?;
        let iters = self.timings.token_iterations;
        if iters <= 1 {
            return None;
        }
        Some((out as f64 - 1.0) / (iters as f64 - 1.0))
    }

    /// Output tokens per output chunk.
    pub fn output_tokens_per_iteration(&self) -> Option<f64> {
        let out = self.output_tokens()?;
        let iters = self.timings.token_iterations;
        if iters < 1 {
            return None;
        }
        Some(out as f64 / iters as f64)
    }

    /// The client's own lag in seconds: `request_start - max(targeted_start,
    /// cap_released)`. A wait for a full concurrency cap is the server's doing
    /// (it held that many requests), so it is left out.
    pub fn send_lag(&self) -> Option<f64> {
        let t = &self.timings;
        let due = t.targeted_start?.max(t.cap_released.unwrap_or_default());
        Some(t.request_start?.secs_since(due))
    }

    /// Scheduling lag in seconds: `request_start - targeted_start`.
    pub fn dispatch_delay(&self) -> Option<f64> {
        Some(
            self.timings
                .request_start?
                .secs_since(self.timings.targeted_start?),
        )
    }

    /// Latency measured from the intended send time (coordinated-omission
    /// corrected): `request_end - targeted_start`.
    pub fn scheduled_latency(&self) -> Option<f64> {
        Some(
            self.timings
                .request_end?
                .secs_since(self.timings.targeted_start?),
        )
    }

    /// `(time, prompt tokens)`: prompt tokens are credited at the first token,
    /// else at the end of the request.
    pub fn prompt_tokens_timing(&self) -> Option<(Timestamp, f64)> {
        let t = self
            .timings
            .first_token_iteration
            .or(self.request_end_time())?;
        Some((t, self.prompt_tokens().unwrap_or(0) as f64))
    }

    /// `(epoch seconds, tokens)` events for output, appended to `out`: one
    /// token at the first chunk, the rest spread evenly over the later chunks
    /// (GuideLLM's linspace on epoch seconds, so the times equal its to the bit).
    pub fn output_token_events(&self, out: &mut Vec<(f64, f64)>) {
        match self.output_plan() {
            OutputPlan::None => {}
            OutputPlan::Single(at, tokens) => out.push((at.as_secs_f64(), tokens)),
            OutputPlan::Spread {
                first,
                first_tokens,
                later,
            } => {
                out.push((first.as_secs_f64(), first_tokens));
                if let Some(later) = later {
                    later.push_events(out);
                }
            }
        }
    }

    /// `(tokens, chunks)` for each distinct token count of
    /// [`RequestRecord::output_token_events`], in order of first appearance:
    /// the same sums as one `(tokens, 1)` pair per event (whole numbers add
    /// exactly), without computing the times.
    pub fn output_tokens_per_chunk(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(2);
        let mut add = |tokens: f64, chunks: f64| match out.iter_mut().find(|e| e.0 == tokens) {
            Some(e) => e.1 += chunks,
            None => out.push((tokens, chunks)),
        };
        match self.output_plan() {
            OutputPlan::None => {}
            OutputPlan::Single(_, tokens) => add(tokens, 1.0),
            OutputPlan::Spread {
                first_tokens,
                later,
                ..
            } => {
                add(first_tokens, 1.0);
                if let Some(l) = later {
                    add(l.tokens, (l.n - 1) as f64);
                }
            }
        }
        out
    }

    /// `(tokens, chunks)` for the output events after the first chunk's.
    pub fn iter_tokens_per_chunk(&self) -> Vec<(f64, f64)> {
        self.later_chunks()
            .map(|l| vec![(l.tokens, (l.n - 1) as f64)])
            .unwrap_or_default()
    }

    fn output_plan(&self) -> OutputPlan {
        let t = &self.timings;
        match (t.first_token_iteration, t.last_token_iteration) {
            (Some(first), Some(_)) if t.token_iterations > 1 => OutputPlan::Spread {
                first,
                first_tokens: if self.output_tokens().unwrap_or(0) > 0 {
                    1.0
                } else {
                    0.0
                },
                later: self.later_chunks(),
            },
            _ => match t.last_token_iteration.or(self.request_end_time()) {
                Some(at) => OutputPlan::Single(at, self.output_tokens().unwrap_or(0) as f64),
                None => OutputPlan::None,
            },
        }
    }

    fn later_chunks(&self) -> Option<LaterChunks> {
        let t = &self.timings;
        let (first, last) = (t.first_token_iteration?, t.last_token_iteration?);
        let tokens = self.iter_tokens_per_iteration()?;
        (t.token_iterations > 1).then_some(LaterChunks {
            first,
            last,
            n: t.token_iterations,
            tokens,
        })
    }
}

/// How a request's output tokens are spread over time.
enum OutputPlan {
    None,
    /// All of them at one instant (one chunk, or no chunk times).
    Single(Timestamp, f64),
    /// The first chunk's token, then the rest over the later chunks.
    Spread {
        first: Timestamp,
        first_tokens: f64,
        later: Option<LaterChunks>,
    },
}

/// The chunks after the first: `n - 1` events of `tokens` each.
struct LaterChunks {
    first: Timestamp,
    last: Timestamp,
    n: u64,
    tokens: f64,
}

impl LaterChunks {
    /// `numpy.linspace(first, last, n)[1:]` on epoch seconds, computed as
    /// numpy does (`i * step + start`, last point pinned).
    fn push_events(&self, out: &mut Vec<(f64, f64)>) {
        let a = self.first.as_secs_f64();
        let b = self.last.as_secs_f64();
        let n = self.n;
        let step = (b - a) / (n - 1) as f64;
        out.reserve(n as usize - 1);
        for i in 1..n - 1 {
            let y = if step == 0.0 { a } else { i as f64 * step + a };
            out.push((y, self.tokens));
        }
        out.push((b, self.tokens));
    }
}

#[cfg(test)]
mod tests;

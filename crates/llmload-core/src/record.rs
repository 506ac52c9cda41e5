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

mod compact;
mod measured;

pub use compact::{CompactRecord, ErrorInterner};
pub use measured::{Measured, Timing};

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
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
}

impl Measured for RequestRecord {
    fn status(&self) -> RequestStatus {
        self.status
    }

    fn timing(&self, at: Timing) -> Option<Timestamp> {
        let t = &self.timings;
        match at {
            Timing::TargetedStart => t.targeted_start,
            Timing::Queued => t.queued,
            Timing::Dequeued => t.dequeued,
            Timing::ScheduledAt => t.scheduled_at,
            Timing::ResolveStart => t.resolve_start,
            Timing::RequestStart => t.request_start,
            Timing::FirstTokenIteration => t.first_token_iteration,
            Timing::LastTokenIteration => t.last_token_iteration,
            Timing::RequestEnd => t.request_end,
            Timing::ResolveEnd => t.resolve_end,
            Timing::Finalized => t.finalized,
            Timing::CapReleased => t.cap_released,
            Timing::PredecessorCompleted => t.predecessor_completed,
        }
    }

    fn request_iterations(&self) -> u64 {
        self.timings.request_iterations
    }

    fn token_iterations(&self) -> u64 {
        self.timings.token_iterations
    }

    fn input(&self) -> UsageMetrics {
        self.input
    }

    fn output(&self) -> UsageMetrics {
        self.output
    }

    fn cached_tokens(&self) -> Option<u64> {
        self.cached_tokens
    }

    fn turn_index(&self) -> u32 {
        self.turn.map_or(0, |t| t.index)
    }

    fn error(&self) -> Option<&RequestError> {
        self.error.as_ref()
    }
}

#[cfg(test)]
mod tests;

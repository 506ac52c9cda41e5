//! The mock's own record of each request: the true times it received the
//! request and sent each token, for comparing client measurements against.

use llmload_clock::Timestamp;
use serde::Serialize;

/// What the mock did for one request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RequestLog {
    /// Order of arrival (1-based).
    pub serial: u64,
    /// The path requested.
    pub path: String,
    /// The response id sent back.
    pub response_id: String,
    /// When the request (head and body) had been read.
    pub received_at: Option<Timestamp>,
    /// When the first token was handed to the connection.
    pub first_token_at: Option<Timestamp>,
    /// When the last token was handed to the connection.
    pub last_token_at: Option<Timestamp>,
    /// When the response ended (or the client went away).
    pub ended_at: Option<Timestamp>,
    /// Prompt tokens reported in usage.
    pub prompt_tokens: u64,
    /// Tokens sent.
    pub tokens: u64,
    /// Whether the whole response was sent.
    pub completed: bool,
    /// The fault injected, if any.
    pub fault: Option<crate::Fault>,
    /// Whether the response headers were delayed (`slow_headers`).
    pub headers_delayed: bool,
    /// The prompt received, `(role, text)` per message (`log_messages` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<(String, String)>>,
}

impl RequestLog {
    /// The true time to first token in ms (`first_token_at - received_at`).
    pub fn ttft_ms(&self) -> Option<f64> {
        Some(self.first_token_at?.secs_since(self.received_at?) * 1000.0)
    }

    /// Seconds from receiving the request to `at` (0 when not received).
    pub(crate) fn secs_since_received(&self, at: Timestamp) -> f64 {
        self.received_at.map_or(0.0, |r| at.secs_since(r).max(0.0))
    }
}

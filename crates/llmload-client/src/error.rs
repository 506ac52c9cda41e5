//! Client errors: a failed request's classified error, and setup errors.

use std::fmt;

use llmload_metrics::{ErrorKind, RequestError};

/// The client could not be built or the server could not be queried at
/// setup (bad target URL, TLS configuration, `/v1/models` unreachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError {
    message: String,
}

impl SetupError {
    /// An error with a one-line message.
    pub fn new(message: impl Into<String>) -> Self {
        SetupError {
            message: message.into(),
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SetupError {}

/// Why one request failed: a kind for counting, a status for HTTP errors,
/// and the server's or the transport's own message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientError {
    kind: ErrorKind,
    status: Option<u16>,
    message: String,
}

impl ClientError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            status: None,
            message: message.into(),
        }
    }

    /// No connection could be made.
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connect, message)
    }

    /// The request timeout expired.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// Nothing arrived for longer than the read timeout mid-stream.
    pub fn stalled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::StreamStalled, message)
    }

    /// The connection closed or reset before the response ended.
    pub fn reset(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::StreamReset, message)
    }

    /// A chunk or body did not parse.
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse, message)
    }

    /// The stream carried an error payload.
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerError, message)
    }

    /// A non-2xx answer, with the server's message.
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        ClientError {
            kind: ErrorKind::HttpStatus,
            status: Some(status),
            message: message.into(),
        }
    }

    /// The kind, for counting.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status of an [`ErrorKind::HttpStatus`] error.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether no connection could be made.
    pub fn is_connect(&self) -> bool {
        self.kind == ErrorKind::Connect
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}: {}", self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<ClientError> for RequestError {
    fn from(e: ClientError) -> Self {
        RequestError {
            kind: e.kind,
            status: e.status,
            message: e.message,
        }
    }
}
/// A failed send or response head, by cause.
pub(crate) fn classify(e: &hyper::Error, what: &str) -> ClientError {
    if e.is_timeout() {
        ClientError::timeout(format!("{what}: {e}"))
    } else {
        ClientError::reset(format!("{what}: {e}"))
    }
}

/// A failure while reading a response body, by cause.
pub(crate) fn classify_body(e: &hyper::Error) -> ClientError {
    if e.is_parse() || e.is_parse_status() {
        ClientError::parse(format!("malformed response: {e}"))
    } else {
        ClientError::reset(format!("connection closed mid-response: {e}"))
    }
}

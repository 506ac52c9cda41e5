//! The client: sends one completion request and fills its record.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT,
};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use llmload_clock::{now, Timestamp};
use llmload_metrics::{ErrorKind, RequestError, RequestRecord, RequestStatus, RequestType};
use tokio_util::sync::CancellationToken;

use crate::body::{body_message, read_all, TextCounter};
use crate::cancel::CancelWatch;
use crate::conn::{Conn, Pool, Target};
use crate::error::{classify, classify_body, ClientError, SetupError};
use crate::openai::{self, Usage};
use crate::sse::SseParser;

mod json;
pub use json::ServedModel;

/// How to reach the server and what to send.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL (`http://host:port`, a trailing `/v1` is ignored).
    pub target: String,
    /// Completions or chat completions.
    pub request_type: RequestType,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer …` unless a header sets Authorization.
    pub api_key: Option<String>,
    /// Longest wait for any single read (response head or chunk); `None` waits forever.
    pub timeout: Option<Duration>,
    /// Longest silence between two chunks of a stream; `None`: `timeout`.
    pub stall_timeout: Option<Duration>,
    /// Verify TLS certificates.
    pub verify_tls: bool,
    /// PEM file of extra CA certificates trusted besides the public roots.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Keep each response's text in its record.
    pub keep_output: bool,
    /// Request streamed responses.
    pub stream: bool,
    /// Local addresses to open connections from, in turn (`--source-addresses`):
    /// one address has ~28k ephemeral ports towards one server; several
    /// hold that many streams each. Empty: the system's choice.
    pub source_addresses: Vec<std::net::IpAddr>,
}

impl ClientConfig {
    /// Defaults for `target`: chat completions, streamed, 60 s read timeout
    /// (GuideLLM 0.4's), TLS verified, output kept.
    pub fn new(target: impl Into<String>) -> Self {
        ClientConfig {
            target: target.into(),
            request_type: RequestType::ChatCompletions,
            headers: Vec::new(),
            api_key: None,
            timeout: Some(Duration::from_secs(60)),
            stall_timeout: None,
            verify_tls: true,
            ca_bundle: None,
            keep_output: true,
            stream: true,
            source_addresses: Vec::new(),
        }
    }
}

/// A cheap-to-clone handle on a connection pool to one server.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may hold secrets: never printed.
        f.debug_struct("Client")
            .field("target", &self.inner.target)
            .finish()
    }
}

struct Inner {
    target: Target,
    pool: Pool,
    headers: HeaderMap,
    route: http::Uri,
    request_type: RequestType,
    timeout: Option<Duration>,
    stall_timeout: Option<Duration>,
    keep_output: bool,
    stream: bool,
}

/// How a request ended early.
enum Stop {
    Failed(ClientError),
    Cancelled,
}

impl From<ClientError> for Stop {
    fn from(e: ClientError) -> Self {
        Stop::Failed(e)
    }
}

/// Await `fut`, unless `cancel` fires first or `limit` passes.
async fn race<F: std::future::Future>(
    fut: F,
    limit: Option<Duration>,
    cancel: &CancellationToken,
    on_timeout: impl FnOnce() -> ClientError,
) -> Result<F::Output, Stop> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Stop::Cancelled),
        r = async {
            match limit {
                Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| Stop::Failed(on_timeout())),
                None => Ok(fut.await),
            }
        } => r,
    }
}

/// What the response carried, accumulated over chunks.
#[derive(Default)]
struct Received {
    usage: Option<Usage>,
    text: Option<String>,
    counter: TextCounter,
    done: bool,
}

impl Client {
    /// Build a client. Fails on a malformed target, header or TLS setup.
    pub fn new(cfg: ClientConfig) -> Result<Client, SetupError> {
        let target = Target::parse(&cfg.target)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(&target.authority())
                .map_err(|_| SetupError::new("--target: bad host"))?,
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("llmload/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &cfg.api_key {
            let mut v = HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| SetupError::new("api_key: not a valid header value"))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                SetupError::new(format!("--backend-args headers: bad header name {k:?}"))
            })?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                SetupError::new(format!("--backend-args headers: bad value for {k:?}"))
            })?;
            value.set_sensitive(name == AUTHORIZATION);
            headers.insert(name, value);
        }
        let route = target.path(match cfg.request_type {
            RequestType::ChatCompletions => "/v1/chat/completions",
            RequestType::TextCompletions => "/v1/completions",
        });
        let route: http::Uri = route
            .parse()
            .map_err(|_| SetupError::new(format!("--target: bad path {route:?}")))?;
        let pool = Pool::new(target.clone(), cfg.verify_tls, cfg.ca_bundle.as_deref())?
            .with_sources(&cfg.source_addresses)?;
        Ok(Client {
            inner: Arc::new(Inner {
                target,
                pool,
                headers,
                route,
                request_type: cfg.request_type,
                timeout: cfg.timeout,
                stall_timeout: cfg.stall_timeout.or(cfg.timeout),
                keep_output: cfg.keep_output,
                stream: cfg.stream,
            }),
        })
    }

    /// The parsed target.
    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// The route requests go to.
    pub fn request_type(&self) -> RequestType {
        self.inner.request_type
    }

    /// Whether responses are requested streamed.
    pub fn is_streaming(&self) -> bool {
        self.inner.stream
    }

    fn request(&self, method: Method, uri: http::Uri, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.headers_mut() = self.inner.headers.clone();
        req
    }

    /// Send one request with `body` and record everything about it in `rec`.
    ///
    /// When `rec.timings.targeted_start` is set and still ahead, the
    /// connection is checked out (or opened) first and the request is sent
    /// at that instant, so connection setup is not counted as lag.
    ///
    /// Never fails: errors are classified into `rec.error`. When `cancel`
    /// fires first, the request is dropped (closing its connection) and
    /// recorded as cancelled with what had arrived; cancelled before anything
    /// was sent, it is marked as never started (`resolve_start` cleared).
    pub async fn execute(&self, body: Bytes, rec: &mut RequestRecord, cancel: &CancellationToken) {
        if rec.timings.resolve_start.is_none() {
            rec.timings.resolve_start = Some(now());
        }
        let mut got = Received::default();
        let result = self.run(body, rec, &mut got, cancel).await;
        let t = &mut rec.timings;
        if let Some(u) = got.usage {
            if let Some(p) = u.prompt_tokens {
                rec.input.text_tokens = Some(p);
            }
            rec.cached_tokens = u.prompt_tokens_details.and_then(|d| d.cached_tokens);
        }
        rec.output.text_tokens = got
            .usage
            .and_then(|u| u.completion_tokens)
            .or(Some(t.token_iterations));
        rec.output.text_words = Some(got.counter.words);
        rec.output.text_characters = Some(got.counter.chars);
        if self.inner.keep_output {
            rec.output_text = Some(got.text.take().unwrap_or_default());
        }
        match result {
            Ok(()) => rec.status = RequestStatus::Completed,
            Err(Stop::Failed(e)) => {
                rec.status = RequestStatus::Errored;
                rec.error = Some(e.into());
            }
            Err(Stop::Cancelled) => {
                rec.status = RequestStatus::Cancelled;
                t.request_end = None;
                if t.request_start.is_none() {
                    t.resolve_start = None;
                }
                rec.error = Some(RequestError {
                    kind: ErrorKind::Cancelled,
                    status: None,
                    message: "request was cancelled".into(),
                });
            }
        }
        rec.timings.resolve_end = Some(now());
    }

    async fn send(
        &self,
        body: &Bytes,
        rec: &mut RequestRecord,
        cancel: &CancellationToken,
    ) -> Result<(Conn, hyper::Response<Incoming>), Stop> {
        let timeout = self.inner.timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = race(self.inner.pool.checkout(), timeout, cancel, || {
                ClientError::timeout(format!(
                    "connecting to {} timed out",
                    self.inner.target.authority()
                ))
            })
            .await??;
            let req = self.request(Method::POST, self.inner.route.clone(), body.clone());
            if let Some(due) = rec
                .timings
                .targeted_start
                .filter(|&d| attempt == 1 && now() < d)
            {
                race(llmload_clock::sleep_until(due), None, cancel, || {
                    unreachable!("no limit")
                })
                .await?;
            }
            conn.arm();
            let before = now();
            let sent = race(conn.sender.send_request(req), timeout, cancel, || {
                ClientError::timeout(format!(
                    "no response head within {:?}",
                    timeout.unwrap_or_default()
                ))
            })
            .await;
            rec.timings.request_start = Some(conn.first_write().unwrap_or(before));
            match sent? {
                Ok(resp) => return Ok((conn, resp)),
                // A kept-alive connection the server closed while idle: nothing
                // was written, so send again once on a fresh connection.
                Err(_) if conn.reused && conn.first_write().is_none() && attempt == 1 => continue,
                Err(e) => return Err(Stop::Failed(classify(&e, "sending the request"))),
            }
        }
    }

    async fn run(
        &self,
        body: Bytes,
        rec: &mut RequestRecord,
        got: &mut Received,
        cancel: &CancellationToken,
    ) -> Result<(), Stop> {
        let timeout = self.inner.timeout;
        let (conn, resp) = self.send(&body, rec, cancel).await?;
        let status = resp.status();
        if !status.is_success() {
            let body = race(
                read_all(resp.into_body(), timeout, 1 << 20),
                timeout,
                cancel,
                || ClientError::timeout("reading the error body timed out"),
            )
            .await?;
            rec.timings.request_end = Some(now());
            let msg = match body {
                Ok(b) => {
                    self.inner.pool.checkin(conn);
                    body_message(&b)
                }
                Err(e) => format!("(body unreadable: {e})"),
            };
            return Err(Stop::Failed(ClientError::http(status.as_u16(), msg)));
        }
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut body = resp.into_body();
        if !is_sse {
            let bytes = race(read_all(body, timeout, 64 << 20), timeout, cancel, || {
                ClientError::timeout("reading the body timed out")
            })
            .await?
            .map_err(|e| ClientError::reset(format!("reading the body: {e}")))?;
            rec.timings.request_end = Some(now());
            self.whole_body(&bytes, rec, got)?;
            self.inner.pool.checkin(conn);
            return Ok(());
        }
        let mut parser = SseParser::new();
        let mut failure: Option<ClientError> = None;
        // One cancellation waiter and one stall timer for the whole stream:
        // the timer is re-armed only when it fires early, not on every chunk.
        let cancelled = CancelWatch::new(cancel);
        tokio::pin!(cancelled);
        let mut last_data = now();
        let stall_limit = self.inner.stall_timeout;
        let stall = tokio::time::sleep(stall_limit.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(stall);
        loop {
            let frame = tokio::select! {
                biased;
                _ = &mut cancelled => return Err(Stop::Cancelled),
                f = body.frame() => f,
                _ = &mut stall, if stall_limit.is_some() => {
                    let limit = stall_limit.expect("guarded");
                    let idle = now().saturating_since(last_data);
                    if idle >= limit {
                        return Err(Stop::Failed(ClientError::stalled(format!("no data for {limit:?}"))));
                    }
                    stall.as_mut().reset(tokio::time::Instant::now() + (limit - idle));
                    continue;
                }
            };
            // One clock read per chunk: its arrival time, also the stall timer's mark.
            let at = now();
            last_data = at;
            match frame {
                None => break,
                Some(Err(e)) => return Err(Stop::Failed(classify_body(&e))),
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let before = parser.lines();
                    parser.push(&data, at, |data, at| {
                        if failure.is_none() {
                            if let Err(e) = self.event(data, at, rec, got) {
                                failure = Some(e);
                            }
                        }
                    });
                    if parser.lines() > before {
                        let t = &mut rec.timings;
                        t.first_request_iteration.get_or_insert(at);
                        t.last_request_iteration = Some(at);
                    }
                    if let Some(e) = failure.take() {
                        rec.timings.request_iterations = parser.lines();
                        return Err(Stop::Failed(e));
                    }
                }
            }
        }
        let end = now();
        parser.finish(end, |data, at| {
            if failure.is_none() {
                if let Err(e) = self.event(data, at, rec, got) {
                    failure = Some(e);
                }
            }
        });
        rec.timings.request_iterations = parser.lines();
        rec.timings.request_end = Some(end);
        if let Some(e) = failure {
            return Err(Stop::Failed(e));
        }
        self.inner.pool.checkin(conn);
        Ok(())
    }

    /// Handle one SSE event's data.
    fn event(
        &self,
        data: &[u8],
        at: Timestamp,
        rec: &mut RequestRecord,
        got: &mut Received,
    ) -> Result<(), ClientError> {
        if data == b"[DONE]" {
            got.done = true;
            return Ok(());
        }
        if got.done {
            return Ok(());
        }
        let chunk = openai::parse_chunk(data).map_err(|e| {
            let shown = String::from_utf8_lossy(&data[..data.len().min(120)]);
            ClientError::parse(format!("unparsable chunk ({e}): {shown}"))
        })?;
        if let Some(msg) = chunk.error {
            return Err(ClientError::server(msg));
        }
        if rec.response_id.is_none() {
            rec.response_id = chunk.id.as_deref().map(String::from);
        }
        if chunk.usage.is_some() {
            got.usage = chunk.usage;
        }
        if chunk.has_output() {
            let t = &mut rec.timings;
            t.first_token_iteration.get_or_insert(at);
            t.last_token_iteration = Some(at);
            t.token_iterations += 1;
            if let Some(text) = chunk.content.as_deref() {
                got.counter.add(text);
                if self.inner.keep_output {
                    got.text.get_or_insert_with(String::new).push_str(text);
                }
            }
        }
        Ok(())
    }

    /// A complete (non-streamed) response body.
    fn whole_body(
        &self,
        bytes: &[u8],
        rec: &mut RequestRecord,
        got: &mut Received,
    ) -> Result<(), ClientError> {
        let chunk = openai::parse_chunk(bytes)
            .map_err(|e| ClientError::parse(format!("unparsable body: {e}")))?;
        if let Some(msg) = chunk.error {
            return Err(ClientError::server(msg));
        }
        rec.response_id = chunk.id.as_deref().map(String::from);
        got.usage = chunk.usage;
        if let Some(text) = chunk.content.as_deref() {
            got.counter.add(text);
            if self.inner.keep_output {
                got.text = Some(text.to_string());
            }
        }
        Ok(())
    }
}

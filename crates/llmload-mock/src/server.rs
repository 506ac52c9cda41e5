//! Accepting connections and routing requests.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use llmload_clock::{now, sleep_until};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::log::RequestLog;
use crate::stream::{MockBody, StreamPlan, TokenStream};
use crate::wire::{self, ChunkPrefix};
use crate::Fault;
use crate::Shared;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.cancelled() => break,
            _ = shared.close.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                // Out of descriptors and similar: keep serving the open connections.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        conns.spawn(async move {
            let svc = service_fn(move |req| handle(req, Arc::clone(&shared)));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

fn json(status: StatusCode, body: String) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn bad_request(message: &str) -> Response<MockBody> {
    json(
        StatusCode::BAD_REQUEST,
        wire::error(message, "BadRequestError", 400),
    )
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<MockBody>, Infallible> {
    let path = req.uri().path().to_string();
    let created = now().as_nanos() / 1_000_000_000;
    let resp = match (req.method(), path.as_str()) {
        (&Method::GET, "/health") => Response::new(MockBody::full(Bytes::new())),
        (&Method::GET, "/v1/models") => {
            json(StatusCode::OK, wire::models(&shared.config.model, created))
        }
        (&Method::GET, "/version") => json(
            StatusCode::OK,
            format!(
                r#"{{"version":"{}"}}"#,
                wire::escape(&shared.config.version)
            ),
        ),
        (&Method::POST, _) if !authorized(&req, &shared.config) => json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"Unauthorized"}"#.to_string(),
        ),
        (&Method::POST, "/v1/completions") => completion(req, shared, false, path).await,
        (&Method::POST, "/v1/chat/completions") => completion(req, shared, true, path).await,
        _ => json(
            StatusCode::NOT_FOUND,
            wire::error("Not Found", "NotFoundError", 404),
        ),
    };
    Ok(resp)
}

/// Whether the request carries the configured bearer token (vLLM's check).
fn authorized(req: &Request<Incoming>, cfg: &crate::MockConfig) -> bool {
    let Some(key) = &cfg.api_key else { return true };
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(key.as_str())
}

/// The prompt text of a chat or completions request body.
fn prompt_text(body: &Value, chat: bool) -> String {
    let mut out = String::new();
    let mut add = |s: &str| {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(s);
    };
    if chat {
        for m in body
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match m.get("content") {
                Some(Value::String(s)) => add(s),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            add(t);
                        }
                    }
                }
                _ => {}
            }
        }
    } else {
        match body.get("prompt") {
            Some(Value::String(s)) => add(s),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).for_each(add),
            _ => {}
        }
    }
    out
}

async fn completion(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    chat: bool,
    path: String,
) -> Response<MockBody> {
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return bad_request("could not read the request body"),
    };
    let received = now();
    let serial = shared.serial.fetch_add(1, Ordering::Relaxed) + 1;
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("JSON decode error: the body is not a JSON object"),
    };
    let cfg = &shared.config;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let faults = cfg.faults;
    let fault = faults.draw(serial, &mut rng);
    let header_delay = faults.header_delay(&mut rng);
    let base = RequestLog {
        serial,
        path,
        received_at: Some(received),
        fault,
        headers_delayed: header_delay.is_some(),
        ..Default::default()
    };
    if let Some(delay) = header_delay {
        // A client that gives up during the delay drops this future: log it then.
        let mut guard = LogOnDrop(&shared, Some(base.clone()));
        tokio::time::sleep(delay).await;
        guard.1 = None;
    }
    let refusal = match fault {
        Some(Fault::ServerError) => Some(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            wire::error("mock failure (injected)", "InternalServerError", 500),
        )),
        Some(Fault::RateLimited) => {
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                wire::error(
                    "Rate limit exceeded (injected); retry after 1 s",
                    "RateLimitError",
                    429,
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Some(r)
        }
        Some(Fault::BadRequest) => Some(json(
            StatusCode::BAD_REQUEST,
            wire::PROMPT_TOO_LONG.to_string(),
        )),
        _ => None,
    };
    let entry = |ended| RequestLog {
        ended_at: ended,
        ..base.clone()
    };
    if let Some(r) = refusal {
        shared.record(entry(Some(now())));
        return r;
    }
    if fault == Some(Fault::Closed) {
        // Close the port and every connection, this one included: this
        // request never gets an answer, later ones are refused.
        shared.record(entry(None));
        shared.close.cancel();
        return std::future::pending().await;
    }
    // A capacity limit: wait for a slot; the wait counts in the client's TTFT.
    let slot = match &shared.slots {
        Some(s) => Some(Arc::clone(s).acquire_owned().await.expect("never closed")),
        None => None,
    };
    let started = now();
    if let Some(m) = v.get("model").and_then(Value::as_str) {
        if m != cfg.model {
            let msg = format!(
                "The model `{m}` does not exist. Valid aliases: {}.",
                cfg.model
            );
            return json(
                StatusCode::NOT_FOUND,
                wire::error(&msg, "NotFoundError", 404),
            );
        }
    }
    let limit_key = if chat && v.get("max_completion_tokens").is_some() {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    let output_tokens = match v.get(limit_key) {
        None | Some(Value::Null) => cfg.output_tokens.sample(&mut rng),
        Some(n) => {
            match n.as_i64() {
                Some(n) if n >= 1 => n as u64,
                _ => {
                    let msg = format!("{limit_key} must be at least 1, got {n}. (parameter={limit_key}, value={n})");
                    return bad_request(&msg);
                }
            }
        }
    };
    let stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = v
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let prompt = prompt_text(&v, chat);
    let prompt_tokens = (cfg.prompt_counter)(&prompt);
    let prefix = ChunkPrefix::new(
        chat,
        serial,
        received.as_nanos() / 1_000_000_000,
        &cfg.model,
    );
    let ttft = cfg.ttft.sample(&mut rng);
    let log = RequestLog {
        response_id: prefix.id().to_string(),
        prompt_tokens,
        ..base
    };
    if stream {
        let plan = StreamPlan {
            prefix,
            chat,
            include_usage,
            prompt_tokens,
            output_tokens,
            first_due: started + ttft,
            seed: rng.next_seed(),
            log,
            slot,
            fault,
        };
        let mut r = Response::new(MockBody::Tokens(Box::new(TokenStream::new(
            Arc::clone(&shared),
            plan,
        ))));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        return r;
    }
    // Not streamed: answer once the last token would have been generated.
    let mut due = started + ttft;
    for _ in 1..output_tokens {
        due = due + cfg.itl.sample(&mut rng);
    }
    sleep_until(due).await;
    let text = cfg.token_text.repeat(output_tokens as usize);
    let body = prefix.full(chat, &wire::escape(&text), prompt_tokens, output_tokens);
    let at = now();
    shared.record(RequestLog {
        first_token_at: Some(due),
        last_token_at: Some(due),
        ended_at: Some(at),
        tokens: output_tokens,
        completed: true,
        ..log
    });
    drop(slot);
    json(StatusCode::OK, body)
}

/// Records its entry, with the time, when dropped while still holding one.
struct LogOnDrop<'a>(&'a Shared, Option<RequestLog>);

impl Drop for LogOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(mut entry) = self.1.take() {
            entry.ended_at = Some(now());
            self.0.record(entry);
        }
    }
}

trait NextSeed {
    fn next_seed(&mut self) -> u64;
}

impl NextSeed for ChaCha8Rng {
    fn next_seed(&mut self) -> u64 {
        rand::RngCore::next_u64(self)
    }
}

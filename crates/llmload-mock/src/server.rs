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
use crate::metrics::Finish;
use crate::sim::{block_hashes, Event};
use crate::stream::{MockBody, Pacer, StreamPlan, TokenStream};
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
            let cfg = &shared.config;
            let root = cfg.root.as_deref().unwrap_or(&cfg.model);
            json(
                StatusCode::OK,
                wire::models(&cfg.model, root, cfg.max_model_len, created),
            )
        }
        (&Method::GET, "/metrics") => {
            let mut r = Response::new(MockBody::full(shared.metrics.render()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
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
        (&Method::POST, "/tokenize") => tokenize(req, &shared).await,
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

/// The prompt of a chat or completions request body: each message's role
/// and text (its text parts joined by newlines); a completions prompt is one
/// part without a role.
fn prompt_parts(body: &Value, chat: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if chat {
        for m in body
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("");
            let text = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            };
            out.push((role.to_string(), text));
        }
    } else {
        let text = match body.get("prompt") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        out.push((String::new(), text));
    }
    out
}

/// The prompt's token ids as the server counts them. A chat request gets
/// the chat template's tokens (placeholders) around its messages, as a
/// template lays them out: `chat_template_tokens` before the first
/// message's text, 5 before each later message's. A conversation's next
/// turn thus starts with every token of the turn before (what a prefix
/// cache finds), as with vLLM.
fn prompt_ids(cfg: &crate::MockConfig, parts: &[(String, String)], chat: bool) -> Vec<u32> {
    let mut ids = Vec::new();
    for (i, (_, text)) in parts.iter().enumerate() {
        if chat && cfg.chat_template_tokens > 0 {
            let n = if i == 0 { cfg.chat_template_tokens } else { 5 };
            ids.extend((0..n).map(|k| 151_643 + (k % 8) as u32));
        }
        ids.extend((cfg.tokenizer)(text));
    }
    ids
}

/// `POST /tokenize` (vLLM's): `{"prompt": ...}` or `{"messages": [...]}`.
async fn tokenize(req: Request<Incoming>, shared: &Shared) -> Response<MockBody> {
    if !shared.config.serves_tokenize {
        return json(
            StatusCode::NOT_FOUND,
            r#"{"detail":"Not Found"}"#.to_string(),
        );
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return bad_request("could not read the request body"),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("JSON decode error: the body is not a JSON object"),
    };
    let chat = v.get("messages").is_some();
    let ids = prompt_ids(&shared.config, &prompt_parts(&v, chat), chat);
    json(
        StatusCode::OK,
        wire::tokenize(&ids, shared.config.max_model_len),
    )
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
            wire::prompt_too_long(16384, 16385),
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
        Some(s) => {
            let counted = shared.engine.is_none();
            let waiting = &shared.metrics.waiting;
            if counted {
                waiting.fetch_add(1, Ordering::Relaxed);
            }
            let permit = Arc::clone(s).acquire_owned().await.expect("never closed");
            if counted {
                waiting.fetch_sub(1, Ordering::Relaxed);
            }
            Some(permit)
        }
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
    let parts = prompt_parts(&v, chat);
    let ids = prompt_ids(cfg, &parts, chat);
    let prompt_tokens = ids.len() as u64;
    if prompt_tokens >= cfg.max_model_len.max(1) {
        return json(
            StatusCode::BAD_REQUEST,
            wire::prompt_too_long(cfg.max_model_len, prompt_tokens),
        );
    }
    let prefix = ChunkPrefix::new(
        chat,
        serial,
        received.as_nanos() / 1_000_000_000,
        &cfg.model,
    );
    let log = RequestLog {
        response_id: prefix.id().to_string(),
        prompt_tokens,
        messages: cfg.log_messages.then_some(parts),
        ..base
    };
    let engine = shared.engine.as_ref();
    let cached_tokens = engine.filter(|e| e.model().prefix_caching).map(|_| 0u64);
    let pacer = match engine {
        Some(e) => {
            if !e.fits(prompt_tokens, output_tokens) {
                let msg = format!(
                    "prompt ({prompt_tokens} tokens) plus max_tokens ({output_tokens}) exceed the KV cache ({} tokens)",
                    e.model().kv_cache_tokens
                );
                return bad_request(&msg);
            }
            let hashes = block_hashes(&ids, e.model().block_size as usize);
            Pacer::Engine(e.submit(prompt_tokens, hashes, output_tokens, received))
        }
        None => Pacer::fixed(started + cfg.ttft.sample(&mut rng), rng.next_seed()),
    };
    drop(ids);
    if stream {
        let plan = StreamPlan {
            prefix,
            chat,
            include_usage,
            prompt_tokens,
            output_tokens,
            pacer,
            cached_tokens,
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
    // Not streamed: answer once the last token has been generated.
    let (first, last, cached) = match pacer {
        Pacer::Engine(mut rx) => {
            let (mut first, mut last, mut cached) = (None, None, cached_tokens);
            let mut got = 0;
            while got < output_tokens {
                match rx.recv().await {
                    Some(Event::Token) => {
                        got += 1;
                        let at = now();
                        first.get_or_insert(at);
                        last = Some(at);
                    }
                    Some(Event::Admitted { cached_tokens }) => {
                        if cached.is_some() {
                            cached = Some(cached_tokens);
                        }
                    }
                    None => return bad_request("the engine stopped"),
                }
            }
            (first, last, cached)
        }
        Pacer::Fixed {
            next_due, mut rng, ..
        } => {
            let m = &shared.metrics;
            m.running.fetch_add(1, Ordering::Relaxed);
            let gaps: Vec<_> = (1..output_tokens)
                .map(|_| cfg.itl.sample(&mut rng))
                .collect();
            let due = gaps.iter().fold(next_due, |t, g| t + *g);
            sleep_until(due).await;
            m.first_token(prompt_tokens, log.secs_since_received(next_due));
            for gap in gaps {
                m.next_token(gap.as_secs_f64());
            }
            m.running.fetch_sub(1, Ordering::Relaxed);
            m.finished(
                Finish::Length,
                prompt_tokens,
                output_tokens,
                log.secs_since_received(due),
            );
            (Some(next_due), Some(due), None)
        }
    };
    let text = cfg.token_text.repeat(output_tokens as usize);
    let body = prefix.full(
        chat,
        &wire::escape(&text),
        prompt_tokens,
        output_tokens,
        cached,
    );
    let at = now();
    shared.record(RequestLog {
        first_token_at: first,
        last_token_at: last,
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

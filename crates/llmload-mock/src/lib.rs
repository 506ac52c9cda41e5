//! An OpenAI-compatible mock LLM server for tests, demos and benchmarks of
//! llmload itself.
//!
//! # What this crate owns
//! [`MockServer`]: `GET /health`, `/v1/models` (with a `root`), `/version`,
//! `/metrics` (vLLM's Prometheus names); `POST /tokenize` and
//! `/v1/completions` and `/v1/chat/completions`, streamed or not, with usage,
//! in the byte shape of vLLM 0.32 (a chat template's tokens added to a chat
//! prompt's usage, `cached_tokens` from the prefix cache). It honours
//! `max_tokens` / `max_completion_tokens` and the context length, and times
//! tokens in one of two ways:
//! - fixed latencies: a time to first token and an inter-token latency
//!   (normal jitter, seeded), whatever the load;
//! - a simulated vLLM engine ([`EngineModel`]): continuous batching with a
//!   batch limit, a token budget per step, prefill and decode costs, a KV
//!   cache with preemption, a FCFS queue and a prefix cache, so latency
//!   grows with load and the server has a knee at a rate that follows from
//!   the model ([`EngineModel::sustainable_rate`]).
//!
//! Each token is woken with a sub-millisecond timer, and a [`RequestLog`]
//! keeps the true times it received each request and sent each token, so
//! tests can compare what a client measured against the truth. It injects
//! the failures of [`Faults`] (error statuses, cut, malformed, stalled or
//! oversized streams, slow headers, a port that closes), each logged with
//! the request.
//!
//! # What it does not own
//! Anything about load generation; it knows no other llmload crate but the clock.

mod fault;
mod log;
mod metrics;
mod server;
mod sim;
mod stream;
mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use fault::{Fault, Faults, HUGE_CHUNK_BYTES};
pub use log::RequestLog;
pub use sim::{EngineModel, Pause};
pub use stream::Jitter;

/// Receives every request's log entry as it completes (e.g. to write a file).
pub type LogSink = Arc<dyn Fn(&RequestLog) + Send + Sync>;

/// Turns prompt text into token ids (usage, `/tokenize`, the prefix cache).
pub type PromptTokenizer = Arc<dyn Fn(&str) -> Vec<u32> + Send + Sync>;

/// Stand-in token ids when no tokenizer is given: one per 4 characters.
fn char_tokens(s: &str) -> Vec<u32> {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(4)
        .map(|c| {
            c.iter()
                .fold(0u32, |h, &ch| h.wrapping_mul(31).wrapping_add(ch as u32))
                % 150_000
        })
        .collect()
}

/// A token count drawn from a normal distribution, at least 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenCount {
    /// Mean.
    pub mean: u64,
    /// Standard deviation.
    pub std: f64,
}

impl TokenCount {
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        if self.std <= 0.0 {
            return self.mean.max(1);
        }
        let n = rand_distr::Normal::new(self.mean as f64, self.std).expect("finite std");
        let v: f64 = rand::Rng::sample(rng, n);
        v.round().max(1.0) as u64
    }
}

/// How the mock behaves.
#[derive(Clone)]
pub struct MockConfig {
    /// The one model served (`GuideLLM`'s mock default: `llama-3.1-8b-instruct`).
    pub model: String,
    /// Time from reading a request to sending its first token.
    pub ttft: Jitter,
    /// Time between tokens.
    pub itl: Jitter,
    /// Output length when the request sets no limit.
    pub output_tokens: TokenCount,
    /// The text of each token.
    pub token_text: String,
    /// Seed for the jitter.
    pub seed: u64,
    /// Prompt tokenization for usage and `/tokenize` (default: one token per 4 characters).
    pub tokenizer: PromptTokenizer,
    /// Whether `tokenizer` is a real model's (`--processor`): only then is
    /// `POST /tokenize` served (404 otherwise, as a server without it), so a
    /// client does not compare its tokenizer with an estimate.
    pub serves_tokenize: bool,
    /// When set, a simulated engine with this capacity times the tokens
    /// (`ttft` and `itl` are then unused).
    pub engine: Option<EngineModel>,
    /// Tokens a chat template adds to a chat request's prompt (vLLM with
    /// Qwen2.5's default system prompt: 29), plus 5 per message after the first.
    pub chat_template_tokens: u64,
    /// Keep each request's messages in its log entry (tests of what a
    /// client sent; off by default: it holds every prompt).
    pub log_messages: bool,
    /// The context length: longer prompts get vLLM's HTTP 400.
    pub max_model_len: u64,
    /// `root` of the model in `GET /v1/models` (vLLM: the path it loaded
    /// the model from); default: the model name.
    pub root: Option<String>,
    /// Reported by `GET /version`.
    pub version: String,
    /// Failures to inject.
    pub faults: Faults,
    /// When set, completion requests must carry `Authorization: Bearer KEY`
    /// (vLLM's `--api-key`); others get 401.
    pub api_key: Option<String>,
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("model", &self.model)
            .field("ttft", &self.ttft)
            .field("itl", &self.itl)
            .field("output_tokens", &self.output_tokens)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            model: "llama-3.1-8b-instruct".into(),
            ttft: Jitter::fixed(Duration::from_millis(150)),
            itl: Jitter::fixed(Duration::from_millis(10)),
            output_tokens: TokenCount {
                mean: 128,
                std: 0.0,
            },
            token_text: " tok".into(),
            seed: 42,
            tokenizer: Arc::new(char_tokens),
            serves_tokenize: false,
            engine: None,
            chat_template_tokens: 0,
            log_messages: false,
            max_model_len: 131_072,
            root: None,
            version: concat!("llmload-mock-", env!("CARGO_PKG_VERSION")).into(),
            faults: Faults::default(),
            api_key: None,
        }
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) serial: AtomicU64,
    pub(crate) tokens_sent: AtomicU64,
    pub(crate) slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Cancelled to close the port and every connection (a fault).
    pub(crate) close: CancellationToken,
    /// What `/metrics` reports.
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// The simulated engine, when the config has one.
    pub(crate) engine: Option<sim::Engine>,
    log: Option<Mutex<Vec<RequestLog>>>,
    sink: Option<LogSink>,
}

impl Shared {
    pub(crate) fn record(&self, entry: RequestLog) {
        if let Some(sink) = &self.sink {
            sink(&entry);
        }
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        }
    }
}

/// Starts mock servers.
#[derive(Debug)]
pub struct MockServer;

impl MockServer {
    /// Bind `addr` (port 0 picks a free one) and serve on the current tokio
    /// runtime. With `keep_log`, every request's true timings are kept for
    /// [`MockHandle::log`].
    pub async fn start(
        config: MockConfig,
        addr: SocketAddr,
        keep_log: bool,
    ) -> std::io::Result<MockHandle> {
        Self::start_with_sink(config, addr, keep_log, None).await
    }

    /// As [`MockServer::start`], also handing every log entry to `sink`.
    pub async fn start_with_sink(
        mut config: MockConfig,
        addr: SocketAddr,
        keep_log: bool,
        sink: Option<LogSink>,
    ) -> std::io::Result<MockHandle> {
        config.token_text = wire::escape(&config.token_text);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let slots = config
            .faults
            .max_concurrent_requests
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        let stop = CancellationToken::new();
        let metrics = Arc::new(metrics::Metrics::new(&config.model));
        let engine = config
            .engine
            .map(|m| sim::Engine::start(m, Arc::clone(&metrics), stop.clone()));
        let shared = Arc::new(Shared {
            config,
            serial: AtomicU64::new(0),
            tokens_sent: AtomicU64::new(0),
            slots,
            close: CancellationToken::new(),
            metrics,
            engine,
            log: keep_log.then(|| Mutex::new(Vec::new())),
            sink,
        });
        let task = tokio::spawn(server::serve(listener, Arc::clone(&shared), stop.clone()));
        Ok(MockHandle {
            addr,
            stop,
            task,
            shared,
        })
    }
}

/// A running mock server.
pub struct MockHandle {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl fmt::Debug for MockHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests served so far (those finished or abandoned), in completion order.
    pub fn log(&self) -> Vec<RequestLog> {
        match &self.shared.log {
            Some(l) => l.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => Vec::new(),
        }
    }

    /// Tokens sent so far over all streams (live).
    pub fn tokens_sent(&self) -> u64 {
        self.shared
            .tokens_sent
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stop accepting and close every connection.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

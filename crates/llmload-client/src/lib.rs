//! The HTTP side of llmload: an OpenAI-compatible streaming client that
//! measures every request it sends.
//!
//! # What this crate owns
//! - [`Client`]: pooled keep-alive HTTP/1.1 connections (hyper 1, rustls
//!   for https) to one target, and [`Client::execute`], which sends one
//!   request and fills a [`llmload_metrics::RequestRecord`]: request start
//!   stamped when the headers reach the socket, every chunk stamped on
//!   arrival, token counts from the server's usage else from the chunks,
//!   failures classified by [`llmload_metrics::ErrorKind`].
//! - [`Client::models_with_roots`], [`Client::get_json`], [`Client::post_json`]:
//!   the JSON calls beside the measured requests (`/v1/models` with each
//!   model's `root`, `/version`, `/tokenize`).
//! - [`sse`]: an incremental SSE parser over the received `Bytes`.
//! - [`openai`]: GuideLLM 0.4's request bodies and chunk parsing.
//! - `fuzz_checks`: the properties of both parsers that the fuzz targets
//!   (`fuzz/`) and the corpus-replay tests check.
//!
//! # What it does not own
//! Which requests to send or when (the engine), prompts (llmload-data),
//! statistics and reports.

mod body;
mod cancel;
mod chunk_scan;
mod client;
mod conn;
mod error;
pub mod openai;
pub mod sse;
mod tls;

pub use client::{Client, ClientConfig, ServedModel};
pub use conn::Target;
pub use error::{ClientError, SetupError};
pub use tokio_util::sync::CancellationToken;
#[doc(hidden)]
pub mod fuzz_checks;

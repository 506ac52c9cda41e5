//! Reports of llmload runs.
//!
//! # What this crate owns
//! - [`guidellm`]: the GuideLLM 0.4 `benchmarks.json` format (serde types and
//!   conversions from llmload records and metrics).
//!
//! # What it does not own
//! Measuring (client, engine) and statistics (llmload-metrics).

pub mod guidellm;

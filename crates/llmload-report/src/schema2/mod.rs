//! GuideLLM 0.8's report (`metadata.version: 2`): its distributions with
//! confidence intervals, and (in progress) the whole report built from the
//! same finished runs as the 0.4 one.

pub mod stats;

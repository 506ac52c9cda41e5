//! GuideLLM 0.4's report format: wire types and conversions.

mod convert;
pub mod wire;

pub use convert::{record_from_stats, request_stats};

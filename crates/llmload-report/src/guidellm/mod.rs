//! GuideLLM 0.4's report format: wire types, building, conversions.

pub(crate) mod build;
mod convert;
pub(crate) mod saved;
pub(crate) mod state;
mod streamed;
pub mod wire;
pub(crate) mod yaml;

pub use build::{benchmark, report, strategy_from_json, strategy_json, RunInfo};
pub use convert::{record_from_stats, request_stats};
pub use saved::{load_json_streamed, load_json_streamed_any, STREAM_LOAD_BYTES};
pub use streamed::{Lazy, LIST_IN_MEMORY};

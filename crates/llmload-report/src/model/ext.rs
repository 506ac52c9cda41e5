//! llmload's own sections of a report (`llmload` keys, which GuideLLM's
//! loaders ignore), typed: the same in both schemas, written by the
//! builders and read here by every reader.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a benchmark stopped sending (or cancelled what was in flight).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// GuideLLM's constraint key (`max_seconds`, `max_errors`, ...) or llmload's.
    #[serde(default)]
    pub reason: String,
    /// Epoch seconds.
    #[serde(default)]
    pub at: Option<f64>,
    /// In words.
    #[serde(default)]
    pub detail: String,
}

/// Prompt tokens the server found in its prefix cache, as its usage said.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixCache {
    /// Requests whose usage had `cached_tokens`.
    #[serde(default)]
    pub requests: u64,
    /// Their prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Of which cached.
    #[serde(default)]
    pub cached_tokens: u64,
    /// `100 · cached / prompt`.
    #[serde(default)]
    pub hit_percent: f64,
    /// Per turn of multi-turn conversations (absent for single turns).
    #[serde(default)]
    pub by_turn: Vec<TurnPrefixCache>,
}

/// [`PrefixCache`] of one turn index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnPrefixCache {
    /// 0 for the first turn.
    #[serde(default)]
    pub turn_index: u32,
    /// Requests.
    #[serde(default)]
    pub requests: u64,
    /// Their prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Of which cached.
    #[serde(default)]
    pub cached_tokens: u64,
    /// `100 · cached / prompt`.
    #[serde(default)]
    pub hit_percent: f64,
}

/// Whether the server kept up with one asked rate (`llmload.verdict`, or a
/// search step), as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Asked rate, req/s.
    #[serde(default)]
    pub rate: Option<f64>,
    /// The rate the server served the requests due at.
    #[serde(default)]
    pub achieved: Option<f64>,
    /// `sustained`, `saturated` or `invalid`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Why, when not sustained.
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// The max-throughput search (`llmload.search` of the run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The highest rate sustained, if any.
    #[serde(default)]
    pub best_rate: Option<f64>,
    /// From this rate up llmload could not hold its own schedule.
    #[serde(default)]
    pub client_ceiling: Option<f64>,
    /// Each step's verdict.
    #[serde(default)]
    pub steps: Vec<Verdict>,
}

/// One message of a kind of error, with how often it came.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message (one line).
    #[serde(default)]
    pub message: String,
    /// How many requests failed with it.
    #[serde(default)]
    pub count: u64,
}

/// llmload's additions to one benchmark, as readers use them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkExt {
    /// Why it stopped sending.
    #[serde(default)]
    pub stopped_sending: Option<Stop>,
    /// Failed requests by kind.
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
    /// The most frequent messages per kind.
    #[serde(default)]
    pub error_messages: BTreeMap<String, Vec<Message>>,
    /// The server's prefix cache.
    #[serde(default)]
    pub prefix_cache: Option<PrefixCache>,
    /// The server's /metrics over the benchmark (`crate::server`'s section).
    #[serde(default)]
    pub server_metrics: Option<crate::server::Section>,
    /// Whether the server kept up.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Goodput per SLO use case, over every measured request.
    #[serde(default)]
    pub goodput: BTreeMap<String, Goodput>,
}

/// Requests that met a use case's limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    /// Of the successful requests.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// `fraction` × successful requests per second.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
}

/// llmload's additions to the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunExt {
    /// llmload's version.
    #[serde(default)]
    pub version: Option<String>,
    /// The run's id.
    #[serde(default)]
    pub run_id: Option<String>,
    /// `os-arch`.
    #[serde(default)]
    pub platform: Option<String>,
    /// The max-throughput search, when the profile was one.
    #[serde(default)]
    pub search: Option<Search>,
}

/// `T` from an optional JSON section: absent, null or not of `T`'s shape
/// reads as `T::default()` (a section written by another version must not
/// stop a report from loading).
pub(crate) fn section<T: Default + for<'de> Deserialize<'de>>(v: Option<&Value>) -> T {
    v.filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

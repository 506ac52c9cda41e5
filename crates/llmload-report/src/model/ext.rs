//! llmload's own sections of a report (`llmload` keys, which GuideLLM's
//! loaders ignore), typed: the same in both schemas, written by the
//! builders and read here by every reader.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a benchmark stopped sending (or cancelled what was in flight).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stop {
    /// GuideLLM's constraint key (`max_seconds`, `max_errors`, ...) or llmload's.
    pub reason: String,
    /// Epoch seconds.
    pub at: Option<f64>,
    /// In words.
    pub detail: String,
}

/// Prompt tokens the server found in its prefix cache, as its usage said.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrefixCache {
    /// Requests whose usage had `cached_tokens`.
    pub requests: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// Of which cached.
    pub cached_tokens: u64,
    /// `100 · cached / prompt`.
    pub hit_percent: f64,
    /// Per turn of multi-turn conversations (absent for single turns).
    pub by_turn: Vec<TurnPrefixCache>,
}

/// [`PrefixCache`] of one turn index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TurnPrefixCache {
    /// 0 for the first turn.
    pub turn_index: u32,
    /// Requests.
    pub requests: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// Of which cached.
    pub cached_tokens: u64,
    /// `100 · cached / prompt`.
    pub hit_percent: f64,
}

/// Whether the server kept up with one asked rate (`llmload.verdict`, or a
/// search step), as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Verdict {
    /// Asked rate, req/s.
    pub rate: Option<f64>,
    /// The rate the server served the requests due at.
    pub achieved: Option<f64>,
    /// `sustained`, `saturated` or `invalid`.
    pub outcome: Option<String>,
    /// Why, when not sustained.
    pub reasons: Vec<String>,
}

/// The max-throughput search (`llmload.search` of the run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Search {
    /// The highest rate sustained, if any.
    pub best_rate: Option<f64>,
    /// From this rate up llmload could not hold its own schedule.
    pub client_ceiling: Option<f64>,
    /// Each step's verdict.
    pub steps: Vec<Verdict>,
}

/// One message of a kind of error, with how often it came.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// The message (one line).
    pub message: String,
    /// How many requests failed with it.
    pub count: u64,
}

/// llmload's additions to one benchmark, as readers use them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BenchmarkExt {
    /// Why it stopped sending.
    pub stopped_sending: Option<Stop>,
    /// Failed requests by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// The most frequent messages per kind.
    pub error_messages: BTreeMap<String, Vec<Message>>,
    /// The server's prefix cache.
    pub prefix_cache: Option<PrefixCache>,
    /// The server's /metrics over the benchmark (`crate::server`'s section).
    pub server_metrics: Option<crate::server::Section>,
    /// Whether the server kept up.
    pub verdict: Option<Verdict>,
    /// Goodput per SLO use case, over every measured request.
    pub goodput: BTreeMap<String, Goodput>,
}

/// Requests that met a use case's limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Goodput {
    /// Of the successful requests.
    pub fraction: Option<f64>,
    /// `fraction` × successful requests per second.
    pub requests_per_second: Option<f64>,
}

/// llmload's additions to the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunExt {
    /// llmload's version.
    pub version: Option<String>,
    /// The run's id.
    pub run_id: Option<String>,
    /// `os-arch`.
    pub platform: Option<String>,
    /// The max-throughput search, when the profile was one.
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

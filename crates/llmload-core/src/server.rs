//! What the server said about itself: one scrape of its Prometheus
//! `/metrics`, reduced to the `vllm:` families llmload reads, stamped on
//! llmload's clock.

use std::collections::BTreeMap;

use llmload_clock::Timestamp;

/// One scrape of the server's metrics (several replicas summed, except
/// percentages, which are averaged).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerScrape {
    /// The scrape's midpoint on llmload's clock.
    pub at: Timestamp,
    /// Each counter and gauge by family name (`vllm:generation_tokens_total`,
    /// `vllm:num_requests_waiting`, ...), summed over its label sets;
    /// histograms' `_sum` and `_count` too.
    pub values: BTreeMap<String, f64>,
    /// Each histogram's cumulative bucket counts, `(upper bound, count)` in
    /// ascending order of bound, summed over its label sets.
    pub histograms: BTreeMap<String, Vec<(f64, f64)>>,
}

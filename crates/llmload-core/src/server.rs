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
    /// ascending order of bound, summed over its label sets. (Serialized
    /// with the last bound as `"+Inf"`, as Prometheus writes it: JSON has
    /// no infinity.)
    #[serde(with = "bounds")]
    pub histograms: BTreeMap<String, Vec<(f64, f64)>>,
}

/// Bucket bounds in JSON: numbers, and `"+Inf"` / `"-Inf"`.
mod bounds {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Bound {
        Finite(f64),
        Named(String),
    }

    type Histograms = BTreeMap<String, Vec<(f64, f64)>>;

    pub(super) fn serialize<S: Serializer>(h: &Histograms, s: S) -> Result<S::Ok, S::Error> {
        let named = |b: f64| match b {
            b if b.is_finite() => Bound::Finite(b),
            b if b > 0.0 => Bound::Named("+Inf".into()),
            _ => Bound::Named("-Inf".into()),
        };
        let m: BTreeMap<&String, Vec<(Bound, f64)>> = h
            .iter()
            .map(|(k, v)| (k, v.iter().map(|&(b, c)| (named(b), c)).collect()))
            .collect();
        m.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histograms, D::Error> {
        let m = BTreeMap::<String, Vec<(Bound, f64)>>::deserialize(d)?;
        m.into_iter()
            .map(|(k, v)| {
                let v = v
                    .into_iter()
                    .map(|(b, c)| match b {
                        Bound::Finite(b) => Ok((b, c)),
                        Bound::Named(n) if n == "+Inf" => Ok((f64::INFINITY, c)),
                        Bound::Named(n) if n == "-Inf" => Ok((f64::NEG_INFINITY, c)),
                        Bound::Named(n) => Err(serde::de::Error::custom(format!(
                            "bucket bound {n:?}: expected a number, +Inf or -Inf"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((k, v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_with_an_infinite_bucket_round_trips_through_json() {
        let mut s = ServerScrape::default();
        s.values.insert("vllm:num_requests_running".into(), 3.0);
        s.histograms.insert(
            "vllm:time_to_first_token_seconds".into(),
            vec![(0.01, 2.0), (0.1, 5.0), (f64::INFINITY, 6.0)],
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"+Inf\""), "{json}");
        assert_eq!(serde_json::from_str::<ServerScrape>(&json).unwrap(), s);
    }
}

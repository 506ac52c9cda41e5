//! Distribution summaries in GuideLLM 0.8's shape: the 0.4 fields plus
//! `mean_ci` and `percentile_cis` (null where GuideLLM gives none).

use llmload_metrics::{Distribution, Percentiles, StatusDistribution};
use serde_json::{json, Map, Value};

fn interval(i: Option<(f64, f64)>) -> Value {
    i.map_or(
        Value::Null,
        |(lower, upper)| json!({"lower": lower, "upper": upper}),
    )
}

/// A `DistributionSummary`.
pub fn ds(d: &Distribution) -> Value {
    let p = &d.percentiles;
    let (mean_ci, percentile_cis) = match &d.intervals {
        Some(i) => {
            let cis: Map<String, Value> = Percentiles::POINTS
                .iter()
                .zip(i.percentiles)
                .map(|((name, _), ci)| ((*name).to_string(), interval(ci)))
                .collect();
            (interval(i.mean), Value::Object(cis))
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "mean": d.mean, "median": d.median, "mode": d.mode, "variance": d.variance,
        "std_dev": d.std_dev, "min": d.min, "max": d.max, "count": d.count,
        "total_sum": d.total_sum,
        "percentiles": {
            "p001": p.p001, "p01": p.p01, "p05": p.p05, "p10": p.p10, "p25": p.p25,
            "p50": p.p50, "p75": p.p75, "p90": p.p90, "p95": p.p95, "p99": p.p99,
            "p999": p.p999
        },
        "pdf": null, "mean_ci": mean_ci, "percentile_cis": percentile_cis
    })
}

/// A `StatusDistributionSummary`.
pub fn sds(s: &StatusDistribution) -> Value {
    json!({
        "successful": ds(&s.successful), "errored": ds(&s.errored),
        "incomplete": ds(&s.incomplete), "total": ds(&s.total)
    })
}

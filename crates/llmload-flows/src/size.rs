//! How many requests a run will make, where its plan bounds them, and what
//! a report listing every one of them will weigh: said once at the start of
//! a large run (GuideLLM's default lists every request).

use llmload_engine::{Profile, RunPlan};
use llmload_report::Format;

use crate::plan::{DataChoice, Plan};

/// Past this many requests a report listing all of them is called large.
pub const LARGE: u64 = 100_000;

/// Bytes of a GuideLLM 0.4 JSON report per listed request: a fixed part and
/// the prompt's text (measured on llmload's own reports, docs/performance.md).
const ENTRY_BYTES: u64 = 2_700;
const BYTES_PER_PROMPT_TOKEN: u64 = 4;

/// The requests `run` makes at most, all benchmarks together (a shard its
/// share): rate × `max_seconds` and `max_requests`, whichever is less;
/// `None` where neither bounds a benchmark, or for a sweep or search.
pub fn expected_requests(run: &RunPlan) -> Option<u64> {
    let c = &run.constraints;
    let bound = |rate: Option<f64>| -> Option<u64> {
        let by_time = rate.zip(c.max_seconds).map(|(r, s)| (r * s).ceil() as u64);
        match (by_time, c.max_requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let all = match &run.profile {
        Profile::Constant(rates) | Profile::Poisson(rates) => {
            // (Saturating: a rate or limit a user gives may be absurd.)
            let each: Option<Vec<u64>> = rates.iter().map(|&r| bound(Some(r))).collect();
            each?.into_iter().fold(0u64, u64::saturating_add)
        }
        Profile::Concurrent(streams) => bound(None)?.saturating_mul(streams.len() as u64),
        Profile::Synchronous | Profile::Throughput => bound(None)?,
        Profile::Sweep { .. } | Profile::Search(_) => return None,
    };
    Some(match run.shard {
        Some(s) => s.share(all),
        None => all,
    })
}

/// The line to print at the start when the report will list more than
/// [`LARGE`] requests: how many, and about how large the JSON will be.
pub fn large_report_notice(plan: &Plan) -> Option<String> {
    let lists = plan
        .outputs
        .files
        .iter()
        .any(|(f, _)| matches!(f, Format::Json | Format::Yaml));
    if plan.sample_requests.is_some() || !lists {
        return None;
    }
    let n = expected_requests(&plan.run).filter(|&n| n > LARGE)?;
    let prompt = match &plan.data {
        DataChoice::Synthetic(spec) => spec.prompt.mean,
        DataChoice::File { .. } => 0,
    };
    let bytes =
        n.saturating_mul(ENTRY_BYTES.saturating_add(BYTES_PER_PROMPT_TOKEN.saturating_mul(prompt)));
    let at_least = if prompt == 0 { "at least " } else { "" };
    Some(format!(
        "llmload: this run makes up to {n} requests and its report lists every one \
         ({at_least}~{:.1} GB of JSON); --sample-requests N lists N of each status",
        bytes as f64 / 1e9
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_engine::{Constraints, Shard};

    fn plan(profile: Profile, max_seconds: Option<f64>, max_requests: Option<u64>) -> RunPlan {
        RunPlan {
            profile,
            constraints: Constraints {
                max_seconds,
                max_requests,
                ..Constraints::default()
            },
            max_concurrency: 10_240,
            explicit_max_concurrency: false,
            seed: 42,
            warmup: Default::default(),
            cooldown: Default::default(),
            rampup: Default::default(),
            shard: None,
            start_at: None,
        }
    }

    #[test]
    fn a_plan_bounds_its_requests_by_rate_and_time_or_count() {
        let soak = plan(Profile::Constant(vec![2000.0]), Some(1800.0), None);
        assert_eq!(expected_requests(&soak), Some(3_600_000));
        let two = plan(Profile::Poisson(vec![10.0, 20.0]), Some(60.0), Some(1000));
        assert_eq!(expected_requests(&two), Some(600 + 1000));
        let streams = plan(Profile::Concurrent(vec![1, 4]), Some(60.0), Some(500));
        assert_eq!(expected_requests(&streams), Some(1000));
        assert_eq!(
            expected_requests(&plan(Profile::Throughput, Some(60.0), None)),
            None
        );
        assert_eq!(
            expected_requests(&plan(Profile::Sweep { size: 5 }, Some(60.0), None)),
            None
        );
        let mut shard = soak.clone();
        shard.shard = Some(Shard { index: 1, count: 4 });
        assert_eq!(expected_requests(&shard), Some(900_000));
        let absurd = plan(Profile::Constant(vec![1e300, 1e300]), Some(1e300), None);
        assert_eq!(expected_requests(&absurd), Some(u64::MAX));
    }
}

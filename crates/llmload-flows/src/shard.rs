//! One run split across processes (`--shard INDEX/COUNT`, Kubernetes'
//! Indexed Jobs): checking that a plan can be split, the rendezvous of the
//! shards through their shared output directory, and where each shard's
//! journal goes (`merge` reads them back).
//!
//! No coordinator: every shard computes the same schedule from the same
//! options and takes its requests (`i mod COUNT == INDEX`); the shards
//! agree on the start through files. Each writes `ready-INDEX` (its host
//! and the instant it was ready) into the directory; once all COUNT are
//! there, every shard reads the same files and starts at the same instant:
//! `--start-at` when given, else 2 s after the last shard was ready. A
//! shard missing at the deadline (`--start-at`, or 10 minutes) is left
//! behind, and named by `merge`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llmload_clock::{now, Timestamp};
use llmload_engine::{Profile, Shard};

use crate::Error;

/// Without `--start-at`: the start, after the last shard was ready.
pub const START_MARGIN: Duration = Duration::from_secs(2);

/// Without `--start-at`: how long shards wait for each other.
pub const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(600);

/// `--shard INDEX/COUNT`, or `--shard COUNT` with INDEX from
/// `$JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job's).
pub fn parse(raw: &str, job_index: Option<&str>) -> Result<Shard, Error> {
    let bad = |why: &str| Error::usage(format!("--shard {raw:?}: {why}"));
    let (index, count) = match raw.split_once('/') {
        Some((i, c)) => (i.trim().to_string(), c.trim()),
        None => (
            job_index
                .ok_or_else(|| {
                    bad("expected INDEX/COUNT (or COUNT with $JOB_COMPLETION_INDEX set)")
                })?
                .trim()
                .to_string(),
            raw.trim(),
        ),
    };
    let count: u32 = count
        .parse()
        .ok()
        .filter(|&c| c >= 1)
        .ok_or_else(|| bad("COUNT: expected a whole number >= 1"))?;
    let index: u32 = index
        .parse()
        .map_err(|_| bad("INDEX: expected a whole number"))?;
    if index >= count {
        return Err(bad(&format!("INDEX {index} must be below COUNT {count}")));
    }
    Ok(Shard { index, count })
}

/// `--start-at`: RFC 3339 (`2026-12-03T12:00:00Z`) or epoch seconds.
pub fn parse_start(raw: &str) -> Result<Timestamp, Error> {
    let secs = match raw.trim().parse::<f64>() {
        Ok(s) => s,
        Err(_) => chrono::DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| t.timestamp_nanos_opt().unwrap_or(0) as f64 / 1e9)
            .map_err(|_| {
                Error::usage(format!(
                    "--start-at {raw:?}: expected RFC 3339 (2026-12-03T12:00:00Z) or epoch seconds"
                ))
            })?,
    };
    Timestamp::from_secs_f64(secs)
        .filter(|_| secs > 0.0)
        .ok_or_else(|| Error::usage(format!("--start-at {raw:?}: not a time after 1970")))
}

/// Why `profile` cannot be split across `shard.count` processes, if it cannot.
pub fn check(shard: Shard, profile: &Profile, over_saturation: bool) -> Result<(), Error> {
    let refuse = |why: String| Err(Error::usage(format!("--shard {shard}: {why}")));
    if over_saturation {
        return refuse(
            "the over-saturation stop decides from all requests at once, which shards do not see; \
             run it in one process"
                .into(),
        );
    }
    let n = u64::from(shard.count);
    match profile {
        Profile::Constant(r) | Profile::Poisson(r) if r.len() == 1 => Ok(()),
        Profile::Concurrent(s) if s.len() == 1 => {
            if u64::from(s[0]) < n {
                refuse(format!(
                    "{} streams cannot be split across {n} shards",
                    s[0]
                ))
            } else {
                Ok(())
            }
        }
        Profile::Throughput => Ok(()),
        Profile::Constant(_) | Profile::Poisson(_) | Profile::Concurrent(_) => refuse(
            "one benchmark per sharded run (one rate or stream count): later benchmarks would \
             start when each shard's previous one ended"
                .into(),
        ),
        Profile::Synchronous => {
            if n == 1 {
                Ok(())
            } else {
                refuse("synchronous is one stream; it cannot be split".into())
            }
        }
        Profile::Sweep { .. } | Profile::Search(_) => refuse(
            "sweep and search choose each rate from the last one's result, across all shards; \
             run them in one process, or shard one rate at a time"
                .into(),
        ),
    }
}

/// Where shard `s` keeps its journal in the run's directory.
pub fn journal_file(dir: &Path, s: Shard) -> PathBuf {
    dir.join(format!("shard-{}-of-{}.journal", s.index, s.count))
}

/// Where shard `s` writes its own share's report.
pub fn report_dir(dir: &Path, s: Shard) -> PathBuf {
    dir.join(format!("shard-{}", s.index))
}

/// The file a shard writes once its run ended and its journal is whole.
pub fn done_file(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("done-{index}"))
}

/// Say that shard `s` ended (interrupted or not) with its journal whole.
pub fn done(dir: &Path, s: Shard, outcome: &llmload_engine::RunOutcome) {
    let requests: usize = outcome.benchmarks.iter().map(|b| b.records.len()).sum();
    let text = serde_json::json!({
        "requests": requests,
        "interrupted": outcome.interrupted,
    })
    .to_string();
    if let Err(e) = llmload_report::write_atomic(&done_file(dir, s.index), text.as_bytes()) {
        eprintln!("llmload: shard {s}: cannot mark it done ({e}); merge will call it unfinished");
    }
}

/// The longest the first shard waits for the others to end before its last scrape.
pub const DONE_TIMEOUT: Duration = Duration::from_secs(120);

/// Wait until every other shard has ended, or Ctrl-C, or `bound` (capped
/// at [`DONE_TIMEOUT`]): the others run the same schedule, so they end
/// about when this one did, plus their last request's time; one that has
/// not by then was killed or is stuck (and `merge` will say so).
pub async fn wait_done(
    dir: &Path,
    shard: Shard,
    bound: Duration,
    interrupt: &llmload_client::CancellationToken,
) {
    let deadline = now() + bound.min(DONE_TIMEOUT);
    while (0..shard.count)
        .filter(|&i| i != shard.index)
        .any(|i| !done_file(dir, i).exists())
    {
        if now() >= deadline {
            eprintln!(
                "llmload: shard {shard}: other shards not done after {:.0} s; scraping the server now",
                bound.min(DONE_TIMEOUT).as_secs_f64()
            );
            return;
        }
        tokio::select! {
            _ = interrupt.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

fn ready_file(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("ready-{index}"))
}

/// What the rendezvous agreed.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// The common start.
    pub at: Timestamp,
    /// Shards not ready by then.
    pub missing: Vec<u32>,
}

/// Say this shard is ready, wait for the others, and return the common
/// start (`start_at`, else [`START_MARGIN`] after the last was ready).
pub async fn rendezvous(
    dir: &Path,
    shard: Shard,
    start_at: Option<Timestamp>,
    interrupt: &llmload_client::CancellationToken,
) -> Result<Start, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::setup(format!("--output-dir {}: {e}", dir.display())))?;
    // Another run's files would be taken for this one's.
    for old in [
        journal_file(dir, shard),
        done_file(dir, shard.index),
        ready_file(dir, shard.index),
    ] {
        if old.exists() {
            return Err(Error::usage(format!(
                "--output-dir {}: holds {} from an earlier sharded run; give each run a new directory",
                dir.display(),
                old.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )));
        }
    }
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let me = format!("{} {}\n", now().as_nanos(), host.trim());
    llmload_report::write_atomic(&ready_file(dir, shard.index), me.as_bytes())
        .map_err(|e| Error::setup(format!("--output-dir {}: {e}", dir.display())))?;
    let deadline = start_at.unwrap_or(now() + RENDEZVOUS_TIMEOUT);
    loop {
        let ready: Vec<Option<u64>> = (0..shard.count)
            .map(|i| {
                let text = std::fs::read_to_string(ready_file(dir, i)).ok()?;
                text.split_whitespace().next()?.parse().ok()
            })
            .collect();
        let missing: Vec<u32> = (0..shard.count)
            .filter(|&i| ready[i as usize].is_none())
            .collect();
        if missing.is_empty() {
            let last = ready.iter().flatten().max().copied().unwrap_or(0);
            let at = start_at.unwrap_or(Timestamp::from_nanos(last) + START_MARGIN);
            return Ok(Start {
                at,
                missing: Vec::new(),
            });
        }
        if now() >= deadline {
            return Ok(Start {
                at: start_at.unwrap_or(deadline),
                missing,
            });
        }
        tokio::select! {
            _ = interrupt.cancelled() => {
                return Err(Error::interrupted(format!(
                    "shard {shard}: interrupted while waiting for shards {missing:?}"
                )))
            }
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_from_flags_or_the_job_index() {
        assert_eq!(parse("2/4", None).unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(parse("4", Some("3")).unwrap(), Shard { index: 3, count: 4 });
        for (raw, env, says) in [
            ("4/4", None, "below COUNT"),
            ("4", None, "JOB_COMPLETION_INDEX"),
            ("x/4", None, "INDEX"),
            ("1/0", None, "COUNT"),
        ] {
            let e = parse(raw, env).unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("--shard"), "{e}");
        }
    }

    #[test]
    fn start_times_parse_as_rfc3339_or_epoch() {
        let a = parse_start("2026-12-03T12:00:00Z").unwrap();
        let b = parse_start("1796299200").unwrap();
        assert_eq!(a, b);
        assert!(parse_start("noon")
            .unwrap_err()
            .to_string()
            .contains("RFC 3339"));
    }

    #[test]
    fn adaptive_and_multi_benchmark_profiles_are_refused() {
        let s = Shard { index: 0, count: 4 };
        assert!(check(s, &Profile::Constant(vec![400.0]), false).is_ok());
        assert!(check(s, &Profile::Concurrent(vec![8]), false).is_ok());
        for (p, says) in [
            (Profile::Constant(vec![1.0, 2.0]), "one benchmark"),
            (Profile::Sweep { size: 5 }, "sweep and search"),
            (Profile::Synchronous, "one stream"),
            (Profile::Concurrent(vec![2]), "cannot be split"),
        ] {
            let e = check(s, &p, false).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        let e = check(s, &Profile::Constant(vec![1.0]), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("over-saturation"), "{e}");
    }
}

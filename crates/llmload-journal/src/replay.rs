//! A journal read back: whole ([`read`], every full record in memory) or
//! as a long run keeps it ([`read_compact`]: each record's numbers in
//! memory, the full records left in the file and fetched by position).

use std::io::BufRead;
use std::path::Path;

use llmload_core::ErrorInterner;
use llmload_engine::{ServerScrape, Strategy};
use llmload_metrics::{CompactRecord, RequestRecord};
use llmload_report::guidellm::strategy_from_json;
use serde_json::Value;

use crate::spilled::{request_index, Lines};
use crate::Spilled;

/// What a journal holds.
#[derive(Debug)]
pub struct Replay {
    /// The header line.
    pub header: Value,
    /// Per benchmark, in order: its strategy and finished records.
    pub benchmarks: Vec<(Strategy, Vec<RequestRecord>)>,
    /// Lines that could not be read (a torn last line after a crash).
    pub skipped: usize,
    /// Per benchmark, the server's scrapes over it (empty when not scraped
    /// or when the run ended before the benchmark did).
    pub scrapes: Vec<Vec<ServerScrape>>,
}

/// What a journal holds, its records kept as a run keeps them.
#[derive(Debug)]
pub struct Compacted {
    /// The header line.
    pub header: Value,
    /// Per benchmark, in order: its strategy and its records' numbers.
    pub benchmarks: Vec<(Strategy, Vec<CompactRecord>)>,
    /// Lines that could not be read (a torn last line after a crash).
    pub skipped: usize,
    /// Per benchmark, the server's scrapes over it.
    pub scrapes: Vec<Vec<ServerScrape>>,
    /// The full records, by benchmark and by position in `benchmarks`.
    pub store: Spilled,
}

/// Read a journal, every record in full. A torn or unreadable line is
/// skipped and counted.
pub fn read(path: &Path) -> Result<Replay, String> {
    let mut benchmarks: Vec<(Strategy, Vec<RequestRecord>)> = Vec::new();
    let (header, skipped, scrapes) = replay(path, |line| match line {
        Line::Benchmark(s) => benchmarks.push((s, Vec::new())),
        Line::Record(i, r, _) => benchmarks[i].1.push(r),
    })?;
    Ok(Replay {
        header,
        benchmarks,
        skipped,
        scrapes,
    })
}

/// Read a journal keeping each record's numbers only (~140 bytes a request
/// whatever its text), its errors shared through `errors` (one interner
/// for the shards of one run). The records in full stay in the file:
/// [`Compacted::store`] reads them back by the same positions.
pub fn read_compact(path: &Path, errors: &mut ErrorInterner) -> Result<Compacted, String> {
    let mut benchmarks: Vec<(Strategy, Vec<CompactRecord>)> = Vec::new();
    let mut lines: Lines = Vec::new();
    let (header, skipped, scrapes) = replay(path, |line| match line {
        Line::Benchmark(s) => {
            benchmarks.push((s, Vec::new()));
            lines.push(Vec::new());
        }
        Line::Record(i, r, at) => {
            benchmarks[i].1.push(errors.compact(&r));
            lines[i].push(at);
        }
    })?;
    Ok(Compacted {
        header,
        benchmarks,
        skipped,
        scrapes,
        store: Spilled::with_lines(path, lines),
    })
}

/// A journal line that adds to the run (handed over once, never stored).
#[allow(clippy::large_enum_variant)]
enum Line {
    /// The next benchmark started.
    Benchmark(Strategy),
    /// A record of benchmark `.0` (one already started), its line at byte `.2`.
    Record(usize, RequestRecord, u64),
}

/// The record line in the writer's form.
#[derive(serde::Deserialize)]
struct RecordLine {
    record: RequestRecord,
}

/// One pass over the journal at `path`: each benchmark and record line
/// handed to `each` in order; the header, the lines skipped and the
/// scrapes returned.
fn replay(
    path: &Path,
    mut each: impl FnMut(Line),
) -> Result<(Value, usize, Vec<Vec<ServerScrape>>), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read ({e})"))?;
    let mut file = std::io::BufReader::with_capacity(1 << 20, f);
    let mut line = Vec::new();
    let mut at = file
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read ({e})"))? as u64;
    let header: Value = serde_json::from_slice::<Value>(&line)
        .ok()
        .filter(|h| h["llmload_journal"].as_u64() == Some(1))
        .ok_or("not an llmload journal (no header line)")?;
    let (mut benchmarks, mut skipped) = (0usize, 0usize);
    let mut scrapes: Vec<Vec<ServerScrape>> = Vec::new();
    loop {
        line.clear();
        let n = match file.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => n,
            // (An unreadable rest of the file, as a torn line.)
            Err(_) => {
                skipped += 1;
                break;
            }
        };
        let start = at;
        at += n as u64;
        // A record line in the writer's own form, straight into a record.
        if let Some(i) = request_index(&line) {
            match serde_json::from_slice::<RecordLine>(&line) {
                Ok(r) if i < benchmarks => each(Line::Record(i, r.record, start)),
                _ => skipped += 1,
            }
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            skipped += 1;
            continue;
        };
        if let Some(i) = v["benchmark"].as_u64() {
            match strategy_from_json(&v["strategy"]) {
                Some(s) if i as usize == benchmarks => {
                    benchmarks += 1;
                    each(Line::Benchmark(s));
                }
                _ => skipped += 1,
            }
        } else if let Some(i) = v["scrapes"].as_u64() {
            match serde_json::from_value::<Vec<ServerScrape>>(v["server"].clone()) {
                Ok(sc) if (i as usize) < benchmarks => {
                    // (A sharded run's first shard adds one after the last shard ended.)
                    scrapes.resize(benchmarks, Vec::new());
                    let all = &mut scrapes[i as usize];
                    all.extend(sc);
                    all.sort_by_key(|s| s.at);
                }
                _ => skipped += 1,
            }
        } else if let Some(i) = v["request"].as_u64() {
            // Another spelling of a record line (written by hand, or by a tool).
            match serde_json::from_value::<RequestRecord>(v["record"].clone()) {
                Ok(r) if (i as usize) < benchmarks => each(Line::Record(i as usize, r, start)),
                _ => skipped += 1,
            }
        } else {
            skipped += 1;
        }
    }
    Ok((header, skipped, scrapes))
}

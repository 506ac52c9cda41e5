//! The crash-safe journal: `benchmarks.journal.jsonl` beside the report.
//!
//! As a run goes, a writer thread appends one JSON line per event, in
//! batches gathered 20 ms apart, each handed to the kernel at once (a SIGKILL
//! loses at most the last 20 ms of finished requests; the data is also synced
//! to disk at most a second apart):
//! - `{"llmload_journal": 1, "args": {...}, "target", "model", "run_id", "workers"}` first,
//! - `{"benchmark": i, "strategy": {...}}` when benchmark `i` starts (the
//!   report's `config.strategy` form),
//! - `{"request": i, "record": {...}}` for every request that finished,
//! - `{"scrapes": i, "server": [...]}` when benchmark `i` ended, the server's
//!   `/metrics` scrapes over it (when scraped).
//!
//! A shard of a run (`--shard`) adds `"shard": {index, count, start_at, host,
//! seed, ...}` to the header and keeps its journal for `llmload merge`.
//! `llmload report --from-journal FILE` rebuilds the report from it, losing
//! at most the requests that were in flight. The `args` are the report's
//! (secrets redacted), and records hold no headers, so no secret is written.
//! The journal is removed once the report has been written.
//!
//! # What this crate owns
//! The journal's format, its writer (a [`RunObserver`] the engine tells of
//! every benchmark start and finished request) and its readers: [`read`]
//! (every record in full) and [`read_compact`] (each record's numbers, the
//! full records read back from the file by position: [`Spilled`], and
//! several journals' as one run's: [`Joined`]).
//!
//! # What it does not own
//! Running benchmarks (llmload-engine), building reports from what it read
//! back (llmload-report, through the binary's `report --from-journal`),
//! where the journal lives (beside the report: llmload-flows decides).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use llmload_clock::Timestamp;
use llmload_engine::ServerScrape;
use llmload_engine::{RecordStore, RunObserver, Strategy};

mod joined;
mod replay;
mod spilled;

pub use joined::Joined;
use llmload_metrics::RequestRecord;
use llmload_report::guidellm::strategy_json;
pub use replay::{read, read_compact, Compacted, Replay};
use serde_json::{json, Value};
pub use spilled::Spilled;

/// How long the writer gathers events between batches: the most a killed
/// process can lose of requests that had finished.
const BATCH_GAP: Duration = Duration::from_millis(20);

/// The journal's file name in the output directory.
pub const FILE_NAME: &str = "benchmarks.journal.jsonl";

enum Event {
    Line(Value),
    Record(usize, Box<RequestRecord>),
    /// Hand everything before this to the kernel, then answer.
    Flush(mpsc::Sender<()>),
}

/// The writer's queue, shared with the [`Spilled`] store that reads back.
type Queue = Arc<Mutex<Option<mpsc::Sender<Event>>>>;

/// Appends events from the run to the journal file.
#[derive(Debug)]
pub struct Journal {
    tx: Queue,
    writer: Mutex<Option<std::thread::JoinHandle<std::io::Result<()>>>>,
    path: PathBuf,
}

impl Journal {
    /// Create `path` and write the header.
    pub fn create(path: &Path, header: Value) -> std::io::Result<Journal> {
        let file = std::fs::File::create(path)?;
        let (tx, rx) = mpsc::channel::<Event>();
        tx.send(Event::Line(header)).expect("receiver alive");
        let writer = std::thread::Builder::new()
            .name("llmload-journal".into())
            .spawn(move || write_loop(file, rx))?;
        Ok(Journal {
            tx: Arc::new(Mutex::new(Some(tx))),
            writer: Mutex::new(Some(writer)),
            path: path.to_path_buf(),
        })
    }

    fn send(&self, e: Event) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(e);
        }
    }

    /// Write everything sent so far and stop the writer.
    pub fn finish(&self) -> std::io::Result<()> {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        match self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(h) => h.join().unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// Finish, then delete the file (the report now holds everything).
    pub fn remove(&self) {
        let _ = self.finish();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl RunObserver for Journal {
    fn benchmark_started(&self, index: usize, strategy: &Strategy, _start: Timestamp) {
        self.send(Event::Line(
            json!({"benchmark": index, "strategy": strategy_json(strategy, 1, 0, 0.0)}),
        ));
    }

    fn request_finished(&self, index: usize, record: &RequestRecord) {
        self.send(Event::Record(index, Box::new(record.clone())));
    }

    fn benchmark_scraped(&self, index: usize, scrapes: &[ServerScrape]) {
        if !scrapes.is_empty() {
            self.send(Event::Line(json!({"scrapes": index, "server": scrapes})));
        }
    }

    fn store(&self) -> Option<Arc<dyn RecordStore>> {
        Some(Arc::new(Spilled::new(&self.path, Arc::clone(&self.tx))))
    }
}

fn write_loop(file: std::fs::File, rx: mpsc::Receiver<Event>) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, &file);
    let mut synced = Instant::now();
    /// A finished request's line, serialized straight from the record.
    #[derive(serde::Serialize)]
    struct RecordLine<'a> {
        request: usize,
        record: &'a RequestRecord,
    }
    let line = |out: &mut std::io::BufWriter<&std::fs::File>, e: Event| {
        match e {
            Event::Line(v) => serde_json::to_writer(&mut *out, &v)?,
            Event::Record(request, r) => serde_json::to_writer(
                &mut *out,
                &RecordLine {
                    request,
                    record: &r,
                },
            )?,
            Event::Flush(done) => {
                out.flush()?;
                let _ = done.send(());
                return Ok(());
            }
        }
        out.write_all(b"\n")
    };
    while let Ok(e) = rx.recv() {
        line(&mut out, e)?;
        while let Ok(e) = rx.try_recv() {
            line(&mut out, e)?;
        }
        // The batch reaches the kernel: a killed process loses none of it.
        out.flush()?;
        if synced.elapsed() >= Duration::from_secs(1) {
            file.sync_data()?;
            synced = Instant::now();
        }
        // Gather the next batch while asleep: senders then enqueue without
        // waking this thread, one wake-up per batch instead of per request.
        std::thread::sleep(BATCH_GAP);
    }
    out.flush()?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_report::guidellm::strategy_from_json;

    #[test]
    fn strategies_round_trip() {
        for s in [
            Strategy::Synchronous,
            Strategy::Concurrent { streams: 4 },
            Strategy::Throughput {
                max_concurrency: 512,
            },
            Strategy::Constant {
                rate: 2.5,
                max_concurrency: 10,
            },
            Strategy::Poisson {
                rate: 7.0,
                max_concurrency: 3,
                seed: 42,
            },
        ] {
            assert_eq!(strategy_from_json(&strategy_json(&s, 1, 0, 0.0)), Some(s));
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("llmload-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE_NAME);
        let j = Journal::create(&path, json!({"llmload_journal": 1})).unwrap();
        j.benchmark_started(0, &Strategy::Synchronous, Timestamp::default());
        j.request_finished(
            0,
            &RequestRecord::new(llmload_metrics::RequestType::ChatCompletions, 0),
        );
        j.finish().unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"request\": 0, \"rec");
        std::fs::write(&path, text).unwrap();
        let r = read(&path).unwrap();
        assert_eq!(r.benchmarks.len(), 1);
        assert_eq!(r.benchmarks[0].1.len(), 1);
        assert_eq!(r.skipped, 1);
        assert!(read(&dir.join("nope")).is_err());
    }
}

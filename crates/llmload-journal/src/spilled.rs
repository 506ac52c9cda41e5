//! A journal's records read back by position: the store behind a run that
//! keeps only its records' numbers in memory (`RunObserver::store`).
//!
//! The engine's k-th record of benchmark `i` is the journal's k-th
//! `{"request":i,...}` line: the collector tells the journal of each record
//! just before it keeps its numbers, and the writer keeps that order.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use llmload_engine::RecordStore;
use llmload_metrics::RequestRecord;

use crate::{Event, Queue};

/// The records of a journal, fetched by benchmark and position.
#[derive(Debug)]
pub struct Spilled {
    pub(crate) path: PathBuf,
    /// The writer's queue while it runs: a fetch first waits for what was
    /// sent before it to reach the file.
    pub(crate) tx: Queue,
}

impl Spilled {
    /// A store over a journal no one is writing any more.
    pub fn open(path: &Path) -> Spilled {
        Spilled {
            path: path.to_path_buf(),
            tx: Arc::new(Mutex::new(None)),
        }
    }

    fn flush(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(tx) = tx {
            let (done, wait) = mpsc::channel();
            if tx.send(Event::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }
}

/// `N` of a line that starts `{"request":N,`: the writer's own form.
fn request_index(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"{\"request\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

#[derive(serde::Deserialize)]
struct RecordLine {
    record: RequestRecord,
}

impl RecordStore for Spilled {
    fn fetch(
        &self,
        index: usize,
        positions: &[usize],
    ) -> std::io::Result<Vec<(usize, RequestRecord)>> {
        self.flush();
        let file = std::fs::File::open(&self.path)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        let mut want = positions.iter().copied().peekable();
        let mut out = Vec::with_capacity(positions.len());
        let mut seen = 0usize;
        while let Some(&next) = want.peek() {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if request_index(&line) != Some(index) {
                continue;
            }
            if seen == next {
                want.next();
                // A torn line (the process was killed) is left out.
                if let Ok(l) = serde_json::from_slice::<RecordLine>(&line) {
                    out.push((next, l.record));
                }
            }
            seen += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journal;
    use llmload_engine::{RunObserver, Strategy};
    use llmload_metrics::RequestType;
    use serde_json::json;

    #[test]
    fn records_come_back_by_benchmark_and_position_while_it_writes() {
        let dir = std::env::temp_dir().join(format!("llmload-spilled-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(crate::FILE_NAME);
        let j = Journal::create(&path, json!({"llmload_journal": 1})).unwrap();
        let mut sent = Vec::new();
        for b in 0..2 {
            j.benchmark_started(b, &Strategy::Synchronous, Default::default());
            for w in 0..5 {
                let r = RequestRecord::new(RequestType::ChatCompletions, w);
                j.request_finished(b, &r);
                sent.push((b, r));
            }
        }
        // Not finished: the fetch waits for the writer to catch up.
        let store = j.store().unwrap();
        let got = store.fetch(1, &[0, 3, 4]).unwrap();
        let ids = |b: usize, ks: &[usize]| {
            ks.iter()
                .map(|&k| sent[b * 5 + k].1.request_id)
                .collect::<Vec<_>>()
        };
        let got_ids: Vec<_> = got.iter().map(|r| r.1.request_id).collect();
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 3, 4]);
        assert_eq!(got_ids, ids(1, &[0, 3, 4]));
        j.finish().unwrap();
        let again = Spilled::open(&path).fetch(0, &[2]).unwrap();
        assert_eq!(again[0].1.request_id, ids(0, &[2])[0]);
        assert!(Spilled::open(&path).fetch(0, &[7]).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! A journal's records read back by position: the store behind a run that
//! keeps only its records' numbers in memory (`RunObserver::store`).
//!
//! The engine's k-th record of benchmark `i` is the journal's k-th
//! `{"request":i,...}` line: the collector tells the journal of each record
//! just before it keeps its numbers, and the writer keeps that order.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use llmload_engine::{RecordReader, RecordStore};
use llmload_metrics::RequestRecord;

use crate::{Event, Queue};

/// The records of a journal, fetched by benchmark and position.
#[derive(Debug)]
pub struct Spilled {
    pub(crate) path: PathBuf,
    /// The writer's queue while it runs: a fetch first waits for what was
    /// sent before it to reach the file.
    pub(crate) tx: Queue,
    /// Where each benchmark's record lines start, once the writer is done
    /// (one pass over the journal however many lists a report reads).
    pub(crate) lines: Mutex<Option<Arc<Lines>>>,
}

/// Per benchmark, the byte offset of each of its record lines.
pub(crate) type Lines = Vec<Vec<u64>>;

impl Spilled {
    /// A store over a journal no one is writing any more.
    pub fn open(path: &Path) -> Spilled {
        Spilled::new(path, Arc::new(Mutex::new(None)))
    }

    /// A store over a journal no one is writing any more, where each
    /// benchmark's record lines start already known (`read_compact`).
    pub(crate) fn with_lines(path: &Path, lines: Lines) -> Spilled {
        Spilled {
            path: path.to_path_buf(),
            tx: Arc::new(Mutex::new(None)),
            lines: Mutex::new(Some(Arc::new(lines))),
        }
    }

    pub(crate) fn new(path: &Path, tx: Queue) -> Spilled {
        Spilled {
            path: path.to_path_buf(),
            tx,
            lines: Mutex::new(None),
        }
    }

    /// Where every record line starts: read once the writer is done, kept;
    /// while it writes, read afresh after what was sent reached the file.
    pub(crate) fn lines(&self) -> std::io::Result<Arc<Lines>> {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match tx {
            Some(tx) => {
                let (done, wait) = mpsc::channel();
                if tx.send(Event::Flush(done)).is_ok() {
                    let _ = wait.recv();
                }
                Ok(Arc::new(scan(&self.path)?))
            }
            None => {
                let mut cached = self.lines.lock().unwrap_or_else(|e| e.into_inner());
                if cached.is_none() {
                    *cached = Some(Arc::new(scan(&self.path)?));
                }
                Ok(Arc::clone(cached.as_ref().expect("just set")))
            }
        }
    }
}

/// One pass over the journal: where each benchmark's record lines start.
fn scan(path: &Path) -> std::io::Result<Lines> {
    let file = std::fs::File::open(path)?;
    let mut scan = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut lines: Lines = Vec::new();
    let mut at = 0u64;
    loop {
        line.clear();
        let n = scan.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(lines);
        }
        if let Some(i) = request_index(&line) {
            if lines.len() <= i {
                lines.resize_with(i + 1, Vec::new);
            }
            lines[i].push(at);
        }
        at += n as u64;
    }
}

/// `N` of a line that starts `{"request":N,`: the writer's own form.
pub(crate) fn request_index(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"{\"request\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

#[derive(serde::Deserialize)]
struct RecordLine {
    record: RequestRecord,
}

impl RecordStore for Spilled {
    fn reader(&self, index: usize) -> std::io::Result<Box<dyn RecordReader + '_>> {
        let lines = self.lines()?;
        let file = std::fs::File::open(&self.path)?;
        Ok(Box::new(Reader {
            file: std::io::BufReader::with_capacity(1 << 16, file),
            lines,
            index,
            at: 0,
            line: Vec::new(),
        }))
    }
}

/// Reads one benchmark's record lines by position: in order, a sequential
/// read; out of order, a seek.
struct Reader {
    file: std::io::BufReader<std::fs::File>,
    lines: Arc<Lines>,
    index: usize,
    /// Where the file is read up to.
    at: u64,
    line: Vec<u8>,
}

impl RecordReader for Reader {
    fn get(&mut self, position: usize) -> std::io::Result<Option<RequestRecord>> {
        let Some(&offset) = self.lines.get(self.index).and_then(|l| l.get(position)) else {
            return Ok(None);
        };
        if offset != self.at {
            self.file.seek_relative(offset as i64 - self.at as i64)?;
        }
        self.line.clear();
        self.at = offset + self.file.read_until(b'\n', &mut self.line)? as u64;
        // A torn line (the process was killed) is left out.
        Ok(serde_json::from_slice::<RecordLine>(&self.line)
            .ok()
            .map(|l| l.record))
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
        let mut reader = store.reader(1).unwrap();
        // Out of order, and back again.
        let got: Vec<(usize, RequestRecord)> = [4, 0, 3]
            .into_iter()
            .map(|k| (k, reader.get(k).unwrap().unwrap()))
            .collect();
        let ids = |b: usize, ks: &[usize]| {
            ks.iter()
                .map(|&k| sent[b * 5 + k].1.request_id)
                .collect::<Vec<_>>()
        };
        let got_ids: Vec<_> = got.iter().map(|r| r.1.request_id).collect();
        assert_eq!(got_ids, ids(1, &[4, 0, 3]));
        j.finish().unwrap();
        let done = Spilled::open(&path);
        let mut again = done.reader(0).unwrap();
        assert_eq!(again.get(2).unwrap().unwrap().request_id, ids(0, &[2])[0]);
        assert!(again.get(5).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

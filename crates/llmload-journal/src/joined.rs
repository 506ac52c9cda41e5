//! The records of several journals read as one run's: a run's shards,
//! merged (`llmload merge`). Per benchmark the shards' records follow one
//! another in the order of the parts: the first part's, then the next's.

use llmload_engine::{RecordReader, RecordStore};
use llmload_metrics::RequestRecord;

use crate::Spilled;

/// Several journals' records, joined per benchmark.
#[derive(Debug)]
pub struct Joined {
    parts: Vec<Spilled>,
}

impl Joined {
    /// The parts' records, in this order, as one run's.
    pub fn new(parts: Vec<Spilled>) -> Joined {
        Joined { parts }
    }
}

impl RecordStore for Joined {
    fn reader(&self, index: usize) -> std::io::Result<Box<dyn RecordReader + '_>> {
        // Where each part's records of this benchmark start among the joined.
        let mut starts = Vec::with_capacity(self.parts.len());
        let mut at = 0;
        for p in &self.parts {
            starts.push(at);
            at += p.lines()?.get(index).map_or(0, Vec::len);
        }
        Ok(Box::new(Reader {
            joined: self,
            index,
            starts,
            readers: self.parts.iter().map(|_| None).collect(),
        }))
    }
}

/// Reads one benchmark's joined records, each part's reader opened when
/// first needed.
struct Reader<'a> {
    joined: &'a Joined,
    index: usize,
    starts: Vec<usize>,
    readers: Vec<Option<Box<dyn RecordReader + 'a>>>,
}

impl RecordReader for Reader<'_> {
    fn get(&mut self, position: usize) -> std::io::Result<Option<RequestRecord>> {
        // The last part starting at or before `position`: empty parts share
        // a start with the next, which holds it.
        let part = self.starts.partition_point(|&s| s <= position);
        let Some(part) = part.checked_sub(1) else {
            return Ok(None);
        };
        let reader = match &mut self.readers[part] {
            Some(r) => r,
            slot => slot.insert(self.joined.parts[part].reader(self.index)?),
        };
        reader.get(position - self.starts[part])
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
    fn positions_run_through_the_parts_in_order_skipping_empty_ones() {
        let dir = std::env::temp_dir().join(format!("llmload-joined-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Three journals holding 3, 0 and 2 records of benchmark 0 and
        // 1, 2 and 0 of benchmark 1.
        let counts = [[3, 1], [0, 2], [2, 0]];
        let mut ids = [Vec::new(), Vec::new()];
        let mut parts = Vec::new();
        for (k, c) in counts.iter().enumerate() {
            let path = dir.join(format!("part-{k}.jsonl"));
            let j = Journal::create(&path, json!({"llmload_journal": 1})).unwrap();
            for (b, &n) in c.iter().enumerate() {
                j.benchmark_started(b, &Strategy::Synchronous, Default::default());
                for w in 0..n {
                    let r = RequestRecord::new(RequestType::ChatCompletions, w);
                    ids[b].push(r.request_id);
                    j.request_finished(b, &r);
                }
            }
            j.finish().unwrap();
            parts.push(Spilled::open(&path));
        }
        let joined = Joined::new(parts);
        for (b, want) in ids.iter().enumerate() {
            let mut reader = joined.reader(b).unwrap();
            // Backwards, then forwards: every position, each part's own reader.
            let order: Vec<usize> = (0..want.len()).rev().chain(0..want.len()).collect();
            for p in order {
                let got = reader.get(p).unwrap().expect("a record at every position");
                assert_eq!(got.request_id, want[p], "benchmark {b}, position {p}");
            }
            assert!(reader.get(want.len()).unwrap().is_none());
        }
        assert!(joined.reader(2).unwrap().get(0).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! A saved report read without holding its per-request entries: `llmload
//! report` re-exports reports larger than memory. The JSON is parsed as a
//! stream; each entry of a `benchmarks[i].requests.{successful, errored,
//! incomplete}` list goes, as compact JSON, to an unlinked temporary file
//! as it is read (16 bytes of where it is stay in memory), and the report
//! lists them from there as it is written ([`Lazy::Saved`]), keeping an
//! even sample of each list in memory for the HTML report and the console,
//! as a long run does.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::streamed::{Lazy, Source, SAMPLE_IN_MEMORY};
use super::wire::{Report, RequestStats, Streamed};

/// Saved JSON reports larger than this are read as a stream.
pub const STREAM_LOAD_BYTES: u64 = 64 << 20;

/// The entries of one benchmark's three lists, on disk.
pub struct Entries {
    file: Arc<File>,
    /// `(offset, length)` of each entry: successful, errored, incomplete.
    lists: [Vec<(u64, u32)>; 3],
}

impl fmt::Debug for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Entries({} on disk)", self.len())
    }
}

impl Entries {
    /// Entries in all three lists.
    pub fn len(&self) -> usize {
        self.lists.iter().map(Vec::len).sum()
    }

    /// Entries in list `k`.
    pub(crate) fn list_len(&self, k: usize) -> usize {
        self.lists[k].len()
    }

    /// The `i`-th entry of list `k`.
    pub(crate) fn get(&self, k: usize, i: usize) -> std::io::Result<RequestStats> {
        let (at, len) = self.lists[k][i];
        let mut bytes = vec![0u8; len as usize];
        self.file.read_exact_at(&mut bytes, at)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// Where the parser is, as far as it matters.
#[derive(Clone, Copy)]
enum At {
    Root,
    Benchmarks,
    Benchmark(usize),
    Requests(usize),
    List(usize, usize),
    Other,
}

/// The entries set aside so far.
struct Spill {
    out: BufWriter<File>,
    at: u64,
    /// Per benchmark, per list.
    lists: Vec<[Vec<(u64, u32)>; 3]>,
}

impl Spill {
    fn put(&mut self, b: usize, k: usize, entry: &Value) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(entry)?;
        self.out.write_all(&bytes)?;
        if self.lists.len() <= b {
            self.lists.resize_with(b + 1, Default::default);
        }
        self.lists[b][k].push((self.at, bytes.len() as u32));
        self.at += bytes.len() as u64;
        Ok(())
    }
}

struct Seed<'s> {
    at: At,
    spill: &'s RefCell<Spill>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if let At::List(b, k) = self.at {
            while let Some(entry) = seq.next_element::<Value>()? {
                self.spill
                    .borrow_mut()
                    .put(b, k, &entry)
                    .map_err(serde::de::Error::custom)?;
            }
            return Ok(Value::Array(Vec::new()));
        }
        let mut out = Vec::new();
        loop {
            let at = match self.at {
                At::Benchmarks => At::Benchmark(out.len()),
                _ => At::Other,
            };
            match seq.next_element_seed(Seed {
                at,
                spill: self.spill,
            })? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = match (self.at, key.as_str()) {
                (At::Root, "benchmarks") => At::Benchmarks,
                (At::Benchmark(b), "requests") => At::Requests(b),
                (At::Requests(b), "successful") => At::List(b, 0),
                (At::Requests(b), "errored") => At::List(b, 1),
                (At::Requests(b), "incomplete") => At::List(b, 2),
                _ => At::Other,
            };
            let v = map.next_value_seed(Seed {
                at,
                spill: self.spill,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The GuideLLM 0.4 (or llmload) JSON report at `path`, its per-request
/// entries left on disk; `Ok(None)` for a GuideLLM 0.8 (schema 2) report,
/// which is read whole.
pub fn load_json_streamed(path: &Path) -> Result<Option<Report>, String> {
    let input = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let tmp = temp_file().map_err(|e| format!("cannot set its requests aside: {e}"))?;
    let spill = RefCell::new(Spill {
        out: BufWriter::with_capacity(1 << 20, tmp),
        at: 0,
        lists: Vec::new(),
    });
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, input));
    let v = Seed {
        at: At::Root,
        spill: &spill,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| format!("not JSON ({e})"))?;
    if crate::schema2::read::is_schema2(&v) {
        return Ok(None);
    }
    let mut report = Report::from_value(v)?;
    let Spill { out, lists, .. } = spill.into_inner();
    let file = Arc::new(
        out.into_inner()
            .map_err(|e| format!("cannot set its requests aside: {e}"))?,
    );
    for (b, lists) in report.benchmarks.iter_mut().zip(lists) {
        let entries = Entries {
            file: Arc::clone(&file),
            lists,
        };
        if entries.len() == 0 {
            continue;
        }
        let sample = |k: usize| -> Result<Vec<RequestStats>, String> {
            let positions =
                crate::listed::sample((0..entries.list_len(k)).collect(), Some(SAMPLE_IN_MEMORY));
            positions
                .into_iter()
                .map(|i| entries.get(k, i).map_err(|e| e.to_string()))
                .collect()
        };
        b.requests.successful = sample(0)?;
        b.requests.errored = sample(1)?;
        b.requests.incomplete = sample(2)?;
        b.requests.streamed = Streamed(Some(Arc::new(Lazy(Source::Saved(entries)))));
    }
    Ok(Some(report))
}

/// A read-write file that is already unlinked: gone however the process ends.
fn temp_file() -> std::io::Result<File> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = std::env::temp_dir().join(format!("llmload-report-{}-{nanos}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

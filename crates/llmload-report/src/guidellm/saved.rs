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
use crate::schema2::Schema2;

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
        serde_json::from_slice(&self.bytes(k, i)?).map_err(std::io::Error::other)
    }

    /// The `i`-th entry of list `k`, as it was read.
    pub(crate) fn value(&self, k: usize, i: usize) -> std::io::Result<Value> {
        serde_json::from_slice(&self.bytes(k, i)?).map_err(std::io::Error::other)
    }

    fn bytes(&self, k: usize, i: usize) -> std::io::Result<Vec<u8>> {
        let (at, len) = self.lists[k][i];
        let mut bytes = vec![0u8; len as usize];
        self.file.read_exact_at(&mut bytes, at)?;
        Ok(bytes)
    }

    /// An even sample of list `k` ([`SAMPLE_IN_MEMORY`]), each entry read by `get`.
    fn sample<T>(
        &self,
        k: usize,
        get: impl Fn(&Self, usize, usize) -> std::io::Result<T>,
    ) -> Result<Vec<T>, String> {
        let positions =
            crate::listed::sample((0..self.list_len(k)).collect(), Some(SAMPLE_IN_MEMORY));
        positions
            .into_iter()
            .map(|i| get(self, k, i).map_err(|e| e.to_string()))
            .collect()
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
/// entries left on disk; `Ok(None)` for a GuideLLM 0.8 (schema 2) report
/// ([`load_json_streamed_any`] reads both).
pub fn load_json_streamed(path: &Path) -> Result<Option<Report>, String> {
    Ok(match load_json_streamed_any(path)? {
        (report, None) => Some(report),
        (_, Some(_)) => None,
    })
}

/// The JSON report at `path`, its per-request entries left on disk: a
/// GuideLLM 0.4 (or llmload) report, or the 0.4 view of a GuideLLM 0.8
/// report and the 0.8 report itself, each listing the entries from disk
/// as it is written and holding an even sample in memory.
pub fn load_json_streamed_any(path: &Path) -> Result<(Report, Option<Schema2>), String> {
    let input = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let tmp = llmload_metrics::scratch_file("report")
        .map_err(|e| format!("cannot set its requests aside: {e}"))?;
    let spill = RefCell::new(Spill {
        out: BufWriter::with_capacity(1 << 20, tmp),
        at: 0,
        lists: Vec::new(),
    });
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, input));
    let mut v = Seed {
        at: At::Root,
        spill: &spill,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| format!("not JSON ({e})"))?;
    let Spill { out, lists, .. } = spill.into_inner();
    let file = Arc::new(
        out.into_inner()
            .map_err(|e| format!("cannot set its requests aside: {e}"))?,
    );
    let entries: Vec<Option<Arc<Entries>>> = lists
        .into_iter()
        .map(|lists| {
            let e = Entries {
                file: Arc::clone(&file),
                lists,
            };
            (e.len() > 0).then(|| Arc::new(e))
        })
        .collect();
    if crate::schema2::read::is_schema2(&v) {
        // The 0.4 view holds the sample; the 0.8 report, a marker where
        // each list goes.
        let mut sampled = v.clone();
        for (b, e) in entries.iter().enumerate() {
            let Some(e) = e else { continue };
            for (k, key) in LISTS.iter().enumerate() {
                sampled["benchmarks"][b]["requests"][*key] =
                    Value::Array(e.sample(k, Entries::value)?);
                v["benchmarks"][b]["requests"][*key] = crate::splice::marker(b, k);
            }
        }
        let mut report = crate::schema2::read::to_v04(&sampled)?;
        attach(&mut report, &entries);
        let saved = entries
            .into_iter()
            .enumerate()
            .filter_map(|(b, e)| Some((b, e?)))
            .collect();
        return Ok((report, Some(Schema2::saved(v, saved))));
    }
    let mut report = Report::from_value(v)?;
    for (b, e) in report.benchmarks.iter_mut().zip(&entries) {
        let Some(e) = e else { continue };
        b.requests.successful = e.sample(0, Entries::get)?;
        b.requests.errored = e.sample(1, Entries::get)?;
        b.requests.incomplete = e.sample(2, Entries::get)?;
    }
    attach(&mut report, &entries);
    Ok((report, None))
}

/// The three lists of a benchmark's requests.
const LISTS: [&str; 3] = ["successful", "errored", "incomplete"];

/// Each benchmark with entries on disk lists them from there.
fn attach(report: &mut Report, entries: &[Option<Arc<Entries>>]) {
    for (b, e) in report.benchmarks.iter_mut().zip(entries) {
        if let Some(e) = e {
            b.requests.streamed = Streamed(Some(Arc::new(Lazy(Source::Saved(Arc::clone(e))))));
        }
    }
}

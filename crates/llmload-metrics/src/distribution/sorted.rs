//! Distributions computed in passes over `(value, weight)` pairs sorted by
//! value, then weight: the same arithmetic, in the same order, as sorting
//! one array in memory, so the same bits; the pairs need not fit in memory.
//!
//! - [`Pairwise`]: numpy-style pairwise summation of a stream whose length
//!   is known, with the blocks and the tree of `pairwise_sum`.
//! - [`SortedPairs`]: a sorted sequence that can be read more than once (a
//!   sorted slice, or [`Sorted`], what a [`PairSorter`] gives back).
//! - [`PairSorter`]: takes pairs in any order, keeps at most a bounded chunk
//!   in memory and spills each full chunk, sorted, to an unlinked temporary
//!   file; reading merges the runs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::{by_both, Distribution, Percentiles, EPSILON};

/// Pairs a [`PairSorter`] keeps in memory before it spills a sorted run
/// (16 bytes each: 32 MiB).
pub const SORT_IN_MEMORY: usize = 1 << 21;

static SPILL_AT: AtomicUsize = AtomicUsize::new(SORT_IN_MEMORY);

/// Spill sorted runs past `pairs` pairs instead of [`SORT_IN_MEMORY`]: for
/// tests that prove the spilled path equals the in-memory one.
#[doc(hidden)]
pub fn set_spill_threshold(pairs: usize) {
    SPILL_AT.store(pairs.max(1), AtomicOrdering::Relaxed);
}

static SPILLED: AtomicUsize = AtomicUsize::new(0);

/// How many sorted runs this process has written to disk: for tests that
/// must know the spilled path ran.
#[doc(hidden)]
pub fn spilled_runs() -> usize {
    SPILLED.load(AtomicOrdering::Relaxed)
}

/// Pairwise summation of exactly `n` values pushed in order: leaves of at
/// most 128 values summed left to right, halves split at `(n / 2) / 8 * 8`,
/// as `pairwise_sum` does on a slice.
pub(crate) struct Pairwise {
    leaves: Vec<u32>,
    sums: Vec<f64>,
    current: f64,
    in_leaf: u32,
    n: usize,
}

impl Pairwise {
    pub(crate) fn new(n: usize) -> Self {
        fn walk(n: usize, out: &mut Vec<u32>) {
            if n <= 128 {
                out.push(n as u32);
            } else {
                let half = (n / 2) / 8 * 8;
                walk(half, out);
                walk(n - half, out);
            }
        }
        let mut leaves = Vec::with_capacity(n / 64 + 1);
        walk(n, &mut leaves);
        Pairwise {
            sums: Vec::with_capacity(leaves.len()),
            leaves,
            current: 0.0,
            in_leaf: 0,
            n,
        }
    }

    pub(crate) fn push(&mut self, x: f64) {
        self.current += x;
        self.in_leaf += 1;
        if self.in_leaf == self.leaves[self.sums.len()] {
            self.sums.push(self.current);
            self.current = 0.0;
            self.in_leaf = 0;
        }
    }

    /// The sum; every one of the `n` values must have been pushed.
    pub(crate) fn finish(mut self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        debug_assert_eq!(self.sums.len(), self.leaves.len(), "values missing");
        fn combine(n: usize, sums: &[f64], next: &mut usize) -> f64 {
            if n <= 128 {
                *next += 1;
                sums[*next - 1]
            } else {
                let half = (n / 2) / 8 * 8;
                let a = combine(half, sums, next);
                a + combine(n - half, sums, next)
            }
        }
        // A short stream (a caller's bug) sums what it has rather than panic.
        self.sums.resize(self.leaves.len(), 0.0);
        combine(self.n, &self.sums, &mut 0)
    }
}

/// A sequence of pairs sorted by [`by_both`] that can be read again.
pub(crate) trait SortedPairs {
    fn pairs(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_>;
}

impl SortedPairs for Vec<(f64, f64)> {
    fn pairs(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        Box::new(self.iter().copied())
    }
}

/// Equal values merged (weights summed in order), then the pairs with no
/// weight dropped: `np.unique` + `np.add.at`, then the `weight > 0` filter.
fn merged(src: &dyn SortedPairs) -> impl Iterator<Item = (f64, f64)> + '_ {
    let mut it = src.pairs().peekable();
    std::iter::from_fn(move || {
        let (v, mut w) = it.next()?;
        while let Some(&(next, nw)) = it.peek() {
            if next != v {
                break;
            }
            w += nw;
            it.next();
        }
        Some((v, w))
    })
    .filter(|p| p.1 > 0.0)
}

impl Distribution {
    /// GuideLLM's weighted summary of pairs already sorted by value, then
    /// weight, in four passes: `count` is the observations to report.
    pub(crate) fn from_sorted(src: &dyn SortedPairs, count: u64) -> Self {
        let n = merged(src).count();
        if n == 0 {
            return Self::empty(count);
        }
        let mut total = Pairwise::new(n);
        merged(src).for_each(|p| total.push(p.1));
        let mut total_weight = total.finish();
        let unit = total_weight <= EPSILON;
        if unit {
            total_weight = n as f64;
        }
        let p_of = |w: f64| if unit { 1.0 } else { w } / total_weight;

        let (mut cdf, mut pct) = (0.0, [None; 11]);
        let mut mean = Pairwise::new(n);
        let (mut first, mut last) = (f64::NAN, f64::NAN);
        let (mut mode, mut mode_p) = (f64::NAN, f64::NAN);
        for (i, (v, w)) in merged(src).enumerate() {
            let p = p_of(w);
            cdf += p;
            for (slot, (_, q)) in pct.iter_mut().zip(Percentiles::POINTS) {
                if slot.is_none() && cdf >= q {
                    *slot = Some(v);
                }
            }
            mean.push(v * p);
            if i == 0 {
                (first, mode, mode_p) = (v, v, p);
            } else if p > mode_p {
                (mode, mode_p) = (v, p);
            }
            last = v;
        }
        let mean = mean.finish();
        let mut variance = Pairwise::new(n);
        for (v, w) in merged(src) {
            variance.push((v - mean) * (v - mean) * p_of(w));
        }
        let variance = variance.finish();
        let percentiles = Percentiles::from_values(pct.map(|p| p.unwrap_or(last)));
        Distribution {
            mean,
            median: percentiles.p50,
            mode,
            variance,
            std_dev: variance.sqrt(),
            min: first,
            max: last,
            count,
            total_sum: mean * count as f64,
            percentiles,
            intervals: None,
        }
    }
}

/// Pairs in any order, sorted by [`by_both`] in runs of at most the spill
/// threshold: runs past the first go to unlinked temporary files (or stay
/// in memory where the file cannot be written).
pub(crate) struct PairSorter {
    chunk: Vec<(f64, f64)>,
    limit: usize,
    runs: Vec<Run>,
}

enum Run {
    Disk { file: File, len: usize },
    Memory(Vec<(f64, f64)>),
}

impl PairSorter {
    pub(crate) fn new() -> Self {
        Self::with_limit(SPILL_AT.load(AtomicOrdering::Relaxed))
    }

    /// Spill past `limit` pairs.
    pub(crate) fn with_limit(limit: usize) -> Self {
        PairSorter {
            chunk: Vec::new(),
            limit: limit.max(1),
            runs: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, pair: (f64, f64)) {
        if self.chunk.len() >= self.limit {
            self.spill();
        }
        self.chunk.push(pair);
    }

    fn spill(&mut self) {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.sort_unstable_by(by_both);
        self.runs.push(match write_run(chunk.iter().copied()) {
            Ok(file) => Run::Disk {
                file,
                len: chunk.len(),
            },
            Err(_) => Run::Memory(chunk),
        });
        if self.runs.len() >= MAX_RUNS {
            // Few open files, whatever the size: the runs so far become one.
            let all = Sorted {
                runs: std::mem::take(&mut self.runs),
            };
            let len = all.len();
            match write_run(all.pairs()) {
                Ok(file) => self.runs.push(Run::Disk { file, len }),
                Err(_) => self.runs = all.runs,
            }
        }
    }

    /// Every pair pushed, sorted.
    pub(crate) fn finish(mut self) -> Sorted {
        if self.runs.is_empty() {
            self.chunk.sort_unstable_by(by_both);
            return Sorted {
                runs: vec![Run::Memory(self.chunk)],
            };
        }
        if !self.chunk.is_empty() {
            self.spill();
        }
        Sorted { runs: self.runs }
    }
}

/// Runs merged into one when there are this many (each reader holds a file
/// and a 64 KiB block).
const MAX_RUNS: usize = 64;

/// A read-write file in the temporary directory, unlinked at once: gone
/// with the process however it ends (`tag` names it while it has a name).
pub fn scratch_file(tag: &str) -> std::io::Result<File> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, AtomicOrdering::Relaxed);
    let path = std::env::temp_dir().join(format!("llmload-{tag}-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

fn write_run(chunk: impl Iterator<Item = (f64, f64)>) -> std::io::Result<File> {
    let file = scratch_file("sort")?;
    SPILLED.fetch_add(1, AtomicOrdering::Relaxed);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, &file);
    for (v, w) in chunk {
        out.write_all(&v.to_le_bytes())?;
        out.write_all(&w.to_le_bytes())?;
    }
    out.flush()?;
    drop(out);
    Ok(file)
}

/// Values kept in the order pushed: in memory up to the spill threshold,
/// past it in unlinked temporary files, read back in order.
pub(crate) struct ValueLog {
    /// Two values to a pair, so a run holds as many as a sort's.
    chunk: Vec<(f64, f64)>,
    limit: usize,
    runs: Vec<Run>,
    len: usize,
}

impl ValueLog {
    pub(crate) fn new() -> Self {
        Self::with_limit(SPILL_AT.load(AtomicOrdering::Relaxed))
    }

    /// Spill past `limit` pairs (twice as many values).
    pub(crate) fn with_limit(limit: usize) -> Self {
        ValueLog {
            chunk: Vec::new(),
            limit: limit.max(1),
            runs: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, v: f64) {
        if self.len % 2 == 1 {
            if let Some(last) = self.chunk.last_mut() {
                last.1 = v;
            }
        } else {
            if self.chunk.len() >= self.limit {
                let chunk = std::mem::take(&mut self.chunk);
                self.runs.push(match write_run(chunk.iter().copied()) {
                    Ok(file) => Run::Disk {
                        file,
                        len: chunk.len(),
                    },
                    Err(_) => Run::Memory(chunk),
                });
            }
            self.chunk.push((v, 0.0));
        }
        self.len += 1;
    }

    /// How many values.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every value pushed, in order.
    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.runs
            .iter()
            .flat_map(Reader::new)
            .chain(self.chunk.iter().copied())
            .flat_map(|(a, b)| [a, b])
            .take(self.len)
    }
}

/// Sorted pairs: one run in memory, or runs merged as they are read.
pub(crate) struct Sorted {
    runs: Vec<Run>,
}

impl Sorted {
    /// How many pairs.
    pub(crate) fn len(&self) -> usize {
        self.runs
            .iter()
            .map(|r| match r {
                Run::Disk { len, .. } => *len,
                Run::Memory(v) => v.len(),
            })
            .sum()
    }
}

impl SortedPairs for Sorted {
    fn pairs(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        if let [Run::Memory(v)] = self.runs.as_slice() {
            return Box::new(v.iter().copied());
        }
        let mut readers: Vec<Reader> = self.runs.iter().map(Reader::new).collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(p) = r.next() {
                heap.push(Head(p, i));
            }
        }
        Box::new(std::iter::from_fn(move || {
            let Head(p, i) = heap.pop()?;
            if let Some(next) = readers[i].next() {
                heap.push(Head(next, i));
            }
            Some(p)
        }))
    }
}

/// A run's next pair on a min-heap.
struct Head((f64, f64), usize);

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        by_both(&other.0, &self.0).then(other.1.cmp(&self.1))
    }
}

/// Reads one run in blocks, at its own offset (runs share no file cursor).
struct Reader<'a> {
    run: &'a Run,
    block: Vec<(f64, f64)>,
    at: usize,
    read: usize,
}

const BLOCK_PAIRS: usize = 4096;

impl<'a> Reader<'a> {
    fn new(run: &'a Run) -> Self {
        Reader {
            run,
            block: Vec::new(),
            at: 0,
            read: 0,
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = (f64, f64);

    fn next(&mut self) -> Option<(f64, f64)> {
        match self.run {
            Run::Memory(v) => {
                self.read += 1;
                v.get(self.read - 1).copied()
            }
            Run::Disk { file, len } => {
                if self.at == self.block.len() {
                    let take = BLOCK_PAIRS.min(len - self.read);
                    if take == 0 {
                        return None;
                    }
                    let mut bytes = vec![0u8; take * 16];
                    file.read_exact_at(&mut bytes, (self.read * 16) as u64)
                        .expect("reading back a sorted run from the temporary directory");
                    self.block.clear();
                    self.block.extend(bytes.chunks_exact(16).map(|b| {
                        let f = |s: &[u8]| f64::from_le_bytes(s.try_into().unwrap_or([0; 8]));
                        (f(&b[..8]), f(&b[8..]))
                    }));
                    self.read += take;
                    self.at = 0;
                }
                self.at += 1;
                Some(self.block[self.at - 1])
            }
        }
    }
}

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;

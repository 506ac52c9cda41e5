//! A request's numbers in 136 bytes: what a long run keeps in memory.
//!
//! A [`CompactRecord`] holds every value [`Measured`] answers (status, the 13
//! instants statistics read, counts, cached tokens, turn, error) and nothing
//! else: no request id, body, text or response id (those stay in the
//! journal). Converting a [`RequestRecord`] is lossless for every accessor, so
//! statistics over compact records equal those over the full ones to the bit.

use std::sync::Arc;

use llmload_clock::Timestamp;

use super::measured::{Measured, Timing};
use super::{RequestError, RequestRecord, RequestStatus, RequestType, UsageMetrics};

/// An instant that was not measured.
const NO_TIME: u64 = u64::MAX;
/// An offset for an instant that was not measured.
const NO_OFFSET: u64 = (1 << 40) - 1;
/// A count that was not known.
const NO_COUNT: u32 = u32::MAX;

/// The numbers of one request. `Copy`-cheap but for a shared error.
#[derive(Clone, Debug, PartialEq)]
pub struct CompactRecord {
    /// The earliest instant measured, nanoseconds since the epoch.
    base: u64,
    /// Each instant in [`Timing::ALL`]'s order as a 40-bit little-endian
    /// offset from `base` (up to ~18 minutes); `NO_OFFSET` when not measured.
    offsets: [u8; 5 * 13],
    /// Every instant in full (`NO_TIME` when not measured) where one lies
    /// too far from the earliest for an offset; `offsets` unused then.
    far: Option<Box<[u64; 13]>>,
    /// Tokens, words, characters of the prompt, then of the output.
    counts: [u32; 6],
    request_iterations: u32,
    token_iterations: u32,
    cached_tokens: u32,
    turn_index: u32,
    /// The worker (stream / connection slot) that ran it.
    pub worker: u32,
    status: RequestStatus,
    /// Which route it used.
    pub request_type: RequestType,
    /// Shared between the requests that failed alike.
    error: Option<Arc<RequestError>>,
}

fn count(v: Option<u64>) -> u32 {
    // Saturates four billion short of a count a request could reach.
    v.map_or(NO_COUNT, |v| v.min(u64::from(NO_COUNT - 1)) as u32)
}

fn uncount(v: u32) -> Option<u64> {
    (v != NO_COUNT).then_some(u64::from(v))
}

fn usage(c: &[u32]) -> UsageMetrics {
    UsageMetrics {
        text_tokens: uncount(c[0]),
        text_words: uncount(c[1]),
        text_characters: uncount(c[2]),
    }
}

impl CompactRecord {
    /// The numbers of `r`; its error, when it has one, is `error` (shared
    /// with other requests that failed alike; see [`ErrorInterner`]).
    pub fn new(r: &RequestRecord, error: Option<Arc<RequestError>>) -> CompactRecord {
        let at = Timing::ALL.map(|t| r.timing(t).map_or(NO_TIME, Timestamp::as_nanos));
        let (base, offsets, far) = pack(at);
        let (i, o) = (&r.input, &r.output);
        CompactRecord {
            base,
            offsets,
            far,
            counts: [
                count(i.text_tokens),
                count(i.text_words),
                count(i.text_characters),
                count(o.text_tokens),
                count(o.text_words),
                count(o.text_characters),
            ],
            request_iterations: count(Some(r.timings.request_iterations)),
            token_iterations: count(Some(r.timings.token_iterations)),
            cached_tokens: count(r.cached_tokens),
            turn_index: r.turn_index(),
            worker: r.worker,
            status: r.status,
            request_type: r.request_type,
            error,
        }
    }
}

/// The instants as a base and 40-bit offsets, or in full where one lies
/// 2^40 - 1 ns (~18 minutes) or more after the earliest.
fn pack(at: [u64; 13]) -> (u64, [u8; 65], Option<Box<[u64; 13]>>) {
    let base = at
        .iter()
        .copied()
        .filter(|&t| t != NO_TIME)
        .min()
        .unwrap_or(0);
    let mut offsets = [0u8; 65];
    for (i, &t) in at.iter().enumerate() {
        let d = if t == NO_TIME { NO_OFFSET } else { t - base };
        if d > NO_OFFSET || (d == NO_OFFSET && t != NO_TIME) {
            return (base, [0; 65], Some(Box::new(at)));
        }
        offsets[5 * i..5 * i + 5].copy_from_slice(&d.to_le_bytes()[..5]);
    }
    (base, offsets, None)
}

impl From<&RequestRecord> for CompactRecord {
    fn from(r: &RequestRecord) -> Self {
        CompactRecord::new(r, r.error.clone().map(Arc::new))
    }
}

impl Measured for CompactRecord {
    fn status(&self) -> RequestStatus {
        self.status
    }

    fn timing(&self, at: Timing) -> Option<Timestamp> {
        let i = at as usize;
        let ns = match &self.far {
            Some(far) => far[i],
            None => {
                let mut b = [0u8; 8];
                b[..5].copy_from_slice(&self.offsets[5 * i..5 * i + 5]);
                match u64::from_le_bytes(b) {
                    NO_OFFSET => NO_TIME,
                    d => self.base + d,
                }
            }
        };
        (ns != NO_TIME).then_some(Timestamp::from_nanos(ns))
    }

    fn request_iterations(&self) -> u64 {
        u64::from(self.request_iterations)
    }

    fn token_iterations(&self) -> u64 {
        u64::from(self.token_iterations)
    }

    fn input(&self) -> UsageMetrics {
        usage(&self.counts[..3])
    }

    fn output(&self) -> UsageMetrics {
        usage(&self.counts[3..])
    }

    fn cached_tokens(&self) -> Option<u64> {
        uncount(self.cached_tokens)
    }

    fn turn_index(&self) -> u32 {
        self.turn_index
    }

    fn error(&self) -> Option<&RequestError> {
        self.error.as_deref()
    }
}

/// Shares one allocation between the errors that read alike, so a run
/// whose every request fails the same way keeps one message, not millions.
/// Holds at most `LIMIT` distinct errors; past that, each is its own.
#[derive(Debug, Default)]
pub struct ErrorInterner {
    seen: std::collections::HashSet<Arc<RequestError>>,
}

impl ErrorInterner {
    const LIMIT: usize = 4096;

    /// The shared copy of `e`.
    pub fn intern(&mut self, e: &RequestError) -> Arc<RequestError> {
        if let Some(a) = self.seen.get(e) {
            return Arc::clone(a);
        }
        let a = Arc::new(e.clone());
        if self.seen.len() < Self::LIMIT {
            self.seen.insert(Arc::clone(&a));
        }
        a
    }

    /// The compact form of `r`, its error shared.
    pub fn compact(&mut self, r: &RequestRecord) -> CompactRecord {
        let error = r.error.as_ref().map(|e| self.intern(e));
        CompactRecord::new(r, error)
    }
}

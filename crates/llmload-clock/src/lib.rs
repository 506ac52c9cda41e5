//! Time for llmload: one clock that is both monotonic and anchored to the wall
//! clock, and sleeps that wake within microseconds of their deadline.
//!
//! # What this crate owns
//! - [`Timestamp`]: nanoseconds since the UNIX epoch, read from a monotonic
//!   clock ([`now`]). Every stamp in a process comes from one anchor (the wall
//!   clock read once, plus `Instant` offsets), so differences between stamps
//!   are exact monotonic durations while the absolute value still means
//!   "seconds since 1970" in reports and can be compared across machines.
//! - [`sleep_until`]: an async sleep that wakes within microseconds of its
//!   deadline, never before. Tokio's timer wheel rounds every sleep up to the
//!   next millisecond; pacing arrivals and emitting mock tokens need far
//!   better than that. On the threads of a runtime with a started
//!   [`RuntimeTimer`] a timerfd in the reactor serves it (the kernel wakes
//!   the worker at the instant); elsewhere one dedicated timer thread does
//!   (1 ns timer slack, spinning the last 10–20 µs).
//!
//! - [`priority`]: a real-time (or short-slice) scheduling class for the
//!   threads that keep time, so a busy host does not delay them.
//!
//! # What it does not own
//! Scheduling policy (the engine), and anything about HTTP.

pub mod priority;
mod timer;

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use timer::{sleep_until, RuntimeTimer, Sleep};

/// A point in time: nanoseconds since the UNIX epoch, from the process clock.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `nanos` nanoseconds after the UNIX epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the UNIX epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the UNIX epoch as a float (GuideLLM's representation).
    ///
    /// An `f64` near 1.8e9 resolves about 0.24 µs; the split into whole and
    /// fractional seconds keeps that full resolution.
    pub fn as_secs_f64(self) -> f64 {
        let secs = self.0 / 1_000_000_000;
        let frac = self.0 % 1_000_000_000;
        secs as f64 + frac as f64 / 1e9
    }

    /// The inverse of [`Timestamp::as_secs_f64`], rounding to the nearest
    /// nanosecond. Negative or non-finite input gives `None`.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        let whole = secs.floor();
        // Exact: `secs - whole` is representable (Sterbenz) for these magnitudes.
        let frac = secs - whole;
        let nanos = (whole as u64)
            .checked_mul(1_000_000_000)?
            .checked_add((frac * 1e9).round() as u64)?;
        Some(Timestamp(nanos))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self - earlier` in seconds, negative when `earlier` is later.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0 as i128 - earlier.0 as i128) as f64 / 1e9
    }

    /// The `Instant` this timestamp corresponds to on the process clock.
    pub fn to_instant(self) -> Instant {
        let a = anchor();
        if self.0 >= a.epoch_nanos {
            a.instant + Duration::from_nanos(self.0 - a.epoch_nanos)
        } else {
            a.instant
                .checked_sub(Duration::from_nanos(a.epoch_nanos - self.0))
                .unwrap_or(a.instant)
        }
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// The timestamp `d` later (saturating).
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_nanos() as u64))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// The timestamp `d` earlier (saturating at the epoch).
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.as_nanos() as u64))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:.9})", self.as_secs_f64())
    }
}

struct Anchor {
    instant: Instant,
    epoch_nanos: u64,
}

fn anchor() -> &'static Anchor {
    static ANCHOR: OnceLock<Anchor> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Anchor {
            instant: Instant::now(),
            epoch_nanos: epoch.as_nanos() as u64,
        }
    })
}

/// The current time on the process clock (monotonic, epoch-anchored).
pub fn now() -> Timestamp {
    let a = anchor();
    Timestamp(a.epoch_nanos + a.instant.elapsed().as_nanos() as u64)
}

/// The timestamp of an `Instant` taken on this process's clock.
pub fn from_instant(instant: Instant) -> Timestamp {
    let a = anchor();
    match instant.checked_duration_since(a.instant) {
        Some(d) => Timestamp(a.epoch_nanos + d.as_nanos() as u64),
        None => Timestamp(a.epoch_nanos - (a.instant - instant).as_nanos() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_round_trip_keeps_sub_microsecond_resolution() {
        let secs = 1_795_379_243.776_127_f64;
        let ts = Timestamp::from_secs_f64(secs).unwrap();
        assert_eq!(ts.as_secs_f64(), secs);
        // The fractional part is kept to the nanosecond, not to f64's 256 ns at 1e18.
        assert_eq!(ts.as_nanos() / 1_000_000_000, 1_795_379_243);
        let frac = ts.as_nanos() % 1_000_000_000;
        assert!((frac as i64 - 776_127_000).abs() < 300, "{frac}");
    }

    #[test]
    fn rejects_negative_and_nan() {
        assert!(Timestamp::from_secs_f64(-1.0).is_none());
        assert!(Timestamp::from_secs_f64(f64::NAN).is_none());
    }

    #[test]
    fn now_is_monotonic_and_near_wall_clock() {
        let a = now();
        let b = now();
        assert!(b >= a);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((b.as_secs_f64() - wall).abs() < 1.0);
    }

    #[test]
    fn instant_round_trip() {
        let t = now() + Duration::from_millis(5);
        let back = from_instant(t.to_instant());
        assert!(back.as_nanos().abs_diff(t.as_nanos()) < 2, "{t:?} {back:?}");
        assert!(t.secs_since(back).abs() < 1e-8);
        assert_eq!(
            t.saturating_since(t + Duration::from_secs(1)),
            Duration::ZERO
        );
    }
}

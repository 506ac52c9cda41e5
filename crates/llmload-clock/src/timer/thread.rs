//! The timer thread: one thread waits on a condition variable until shortly
//! before the earliest deadline (with its timer slack set to 1 ns on Linux,
//! so the kernel does not batch the wake-up by its default 50 µs), then spins
//! the rest of the way and wakes every sleep that is due. Registering costs
//! one mutex lock and a heap push.

use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use super::{Heap, Slot};
use crate::{now, Timestamp};

/// Bounds on how long before a deadline the timer thread stops sleeping and
/// spins. Within them the window adapts to how late the kernel's wake-ups
/// usually are. The cap is low on purpose: measured on a 2-core VM, spinning
/// up to 100 µs cost ~0.08 ms of CPU per request at 500 req/s and did not
/// improve the send lag, which is dominated by waking a runtime worker.
const MIN_SPIN: Duration = Duration::from_micros(10);
const MAX_SPIN: Duration = Duration::from_micros(20);
const SPIN_MARGIN: Duration = Duration::from_micros(3);

struct Timer {
    heap: Mutex<Heap>,
    cv: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new(Heap::default()),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("llmload-timer".into())
            .spawn(move || run(timer))
            .expect("spawning the timer thread");
        timer
    })
}

/// 1 ns timer slack for this thread, and the timing class of
/// [`crate::priority`].
#[allow(unsafe_code)]
fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and only affects the
    // calling thread's timer slack. No memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
    crate::priority::raise_current_thread();
}

/// How late the kernel wakes the timer thread: a running mean and mean
/// deviation (as TCP estimates round trips), in nanoseconds.
struct WakeLatency {
    mean: f64,
    dev: f64,
}

impl WakeLatency {
    fn new() -> Self {
        WakeLatency {
            mean: 20_000.0,
            dev: 10_000.0,
        }
    }

    fn observe(&mut self, late: Duration) {
        let x = late.as_nanos() as f64;
        let err = x - self.mean;
        self.mean += err / 16.0;
        self.dev += (err.abs() - self.dev) / 8.0;
    }

    /// Spin for the usual lateness plus two deviations: most wake-ups land
    /// before the deadline and spin only the rest of the way.
    fn window(&self) -> Duration {
        let ns = self.mean + 2.0 * self.dev;
        Duration::from_nanos(ns.max(0.0) as u64)
            .saturating_add(SPIN_MARGIN)
            .clamp(MIN_SPIN, MAX_SPIN)
    }
}

fn run(timer: &'static Timer) {
    tighten_timer_slack();
    let mut due = Vec::new();
    let mut latency = WakeLatency::new();
    let mut heap = timer.heap.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let Some(deadline) = heap.earliest() else {
            heap = timer.cv.wait(heap).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        let t = now();
        if deadline > t {
            let remaining = deadline.saturating_since(t);
            let window = latency.window();
            if remaining > window {
                let wake_at = t + (remaining - window);
                let (h, res) = timer
                    .cv
                    .wait_timeout(heap, remaining - window)
                    .unwrap_or_else(|e| e.into_inner());
                heap = h;
                if res.timed_out() {
                    latency.observe(now().saturating_since(wake_at));
                }
                continue;
            }
            drop(heap);
            while now() < deadline {
                std::hint::spin_loop();
            }
            heap = timer.heap.lock().unwrap_or_else(|e| e.into_inner());
        }
        heap.take_due(now(), &mut due);
        drop(heap);
        for (_, slot) in due.drain(..) {
            slot.fire();
        }
        heap = timer.heap.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// Hand a sleep to the timer thread (started on first use).
pub(super) fn register(deadline: Timestamp, slot: &Arc<Slot>) {
    let t = timer();
    let earliest = t
        .heap
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(deadline, Arc::clone(slot));
    if earliest {
        t.cv.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spin_window_follows_observed_wake_latency() {
        let mut l = WakeLatency::new();
        for _ in 0..200 {
            l.observe(Duration::from_micros(2));
        }
        assert_eq!(l.window(), MIN_SPIN, "never below the floor");
        for _ in 0..200 {
            l.observe(Duration::from_micros(12));
        }
        let w = l.window();
        assert!(
            w >= Duration::from_micros(12) && w <= Duration::from_micros(16),
            "{w:?}"
        );
        for _ in 0..50 {
            l.observe(Duration::from_millis(5));
        }
        assert_eq!(l.window(), MAX_SPIN);
    }
}

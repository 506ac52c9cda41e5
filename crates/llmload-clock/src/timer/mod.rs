//! Precise sleeps: a min-heap of deadlines and the wakers waiting on them,
//! served by one of two drivers.
//!
//! - [`RuntimeTimer`] (Linux): a timerfd in the tokio reactor. The worker
//!   parked in `epoll_wait` is woken by the kernel at the deadline and wakes
//!   the due sleeps itself, so a send costs no other thread's wake-up. Used
//!   by sleeps first polled on a thread of the runtime it was attached to.
//! - The timer thread (everywhere else): waits on a condition variable until
//!   shortly before the earliest deadline, spins the rest of the way and
//!   wakes every due sleep.

mod reactor;
mod thread;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::{now, Timestamp};

pub use reactor::RuntimeTimer;

/// One sleep's state, shared with the driver that wakes it.
struct Slot {
    fired: AtomicBool,
    waker: Mutex<Waker>,
}

impl Slot {
    /// Mark the sleep due and wake its task.
    fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        self.waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_by_ref();
    }
}

struct Entry {
    deadline: Timestamp,
    seq: u64,
    slot: Arc<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

/// Pending sleeps, earliest first (ties in registration order).
#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Heap {
    /// Add a sleep; `true` when it is now the earliest (the driver must re-arm).
    fn push(&mut self, deadline: Timestamp, slot: Arc<Slot>) -> bool {
        self.seq += 1;
        let earliest = self
            .entries
            .peek()
            .is_none_or(|Reverse(e)| deadline < e.deadline);
        self.entries.push(Reverse(Entry {
            deadline,
            seq: self.seq,
            slot,
        }));
        earliest
    }

    fn earliest(&self) -> Option<Timestamp> {
        self.entries.peek().map(|Reverse(e)| e.deadline)
    }

    /// Move every sleep due by `t` into `due`, earliest first.
    fn take_due(&mut self, t: Timestamp, due: &mut Vec<(Timestamp, Arc<Slot>)>) {
        while self.earliest().is_some_and(|d| d <= t) {
            let Reverse(e) = self.entries.pop().expect("peeked");
            due.push((e.deadline, e.slot));
        }
    }
}

/// Sleep until `deadline` on the process clock, waking within microseconds
/// of it (tens of microseconds on a busy machine), never before it.
pub fn sleep_until(deadline: Timestamp) -> Sleep {
    Sleep {
        deadline,
        slot: None,
    }
}

/// Future returned by [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Timestamp,
    slot: Option<Arc<Slot>>,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Sleep {
    /// The instant this sleep wakes at.
    pub fn deadline(&self) -> Timestamp {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if now() >= self.deadline {
            return Poll::Ready(());
        }
        match &self.slot {
            Some(slot) => {
                if slot.fired.load(Ordering::Acquire) {
                    // Fired at the deadline; `now()` above may lag by the
                    // read itself, so trust the driver.
                    return Poll::Ready(());
                }
                let mut w = slot.waker.lock().unwrap_or_else(|e| e.into_inner());
                if !w.will_wake(cx.waker()) {
                    *w = cx.waker().clone();
                }
            }
            None => {
                let slot = Arc::new(Slot {
                    fired: AtomicBool::new(false),
                    waker: Mutex::new(cx.waker().clone()),
                });
                if !reactor::register(self.deadline, &slot) {
                    thread::register(self.deadline, &slot);
                }
                self.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;

//! The precise timer: one thread, one min-heap of deadlines, wakers woken on time.
//!
//! The thread waits on a condition variable until shortly before the earliest
//! deadline (with the thread's timer slack set to 1 ns on Linux, so the kernel
//! does not batch the wake-up by its default 50 µs), then spins the rest of the
//! way and wakes every task that is due. Registering costs one mutex lock and a
//! heap push; a sleep that is already due never touches the thread.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::{now, Timestamp};

/// Bounds on how long before a deadline the timer thread stops sleeping and
/// spins. Within them the window adapts to how late the kernel's wake-ups
/// usually are. The cap is low on purpose: measured on a 2-core VM, spinning
/// up to 100 µs cost ~0.08 ms of CPU per request at 500 req/s and did not
/// improve the send lag, which is dominated by waking a runtime worker.
const MIN_SPIN: Duration = Duration::from_micros(10);
const MAX_SPIN: Duration = Duration::from_micros(20);
const SPIN_MARGIN: Duration = Duration::from_micros(3);

struct Slot {
    fired: AtomicBool,
    waker: Mutex<Waker>,
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

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

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

/// 1 ns timer slack for this thread, and a higher scheduling priority when
/// the process may take one (root or CAP_SYS_NICE; otherwise unchanged).
#[allow(unsafe_code)]
fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and only affects the
    // calling thread's timer slack; gettid takes none; setpriority on our own
    // thread id changes only this thread's weight. No memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, -10);
    }
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
    let mut due: Vec<Arc<Slot>> = Vec::new();
    let mut latency = WakeLatency::new();
    let mut heap = timer.heap.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let Some(Reverse(head)) = heap.entries.peek() else {
            heap = timer.cv.wait(heap).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        let deadline = head.deadline;
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
        let t = now();
        while let Some(Reverse(e)) = heap.entries.peek() {
            if e.deadline > t {
                break;
            }
            let Reverse(e) = heap.entries.pop().expect("peeked");
            due.push(e.slot);
        }
        drop(heap);
        for slot in due.drain(..) {
            slot.fired.store(true, Ordering::Release);
            slot.waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .wake_by_ref();
        }
        heap = timer.heap.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// Sleep until `deadline` on the process clock, waking within tens of
/// microseconds of it (on an unloaded machine).
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
                    // Woken at the deadline; `now()` above may lag by the
                    // read itself, so trust the timer.
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
                let t = timer();
                let mut heap = t.heap.lock().unwrap_or_else(|e| e.into_inner());
                heap.seq += 1;
                let seq = heap.seq;
                let earliest = heap
                    .entries
                    .peek()
                    .is_none_or(|Reverse(e)| self.deadline < e.deadline);
                heap.entries.push(Reverse(Entry {
                    deadline: self.deadline,
                    seq,
                    slot: Arc::clone(&slot),
                }));
                drop(heap);
                if earliest {
                    t.cv.notify_one();
                }
                self.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wakes_after_the_deadline_never_before() {
        let mut tasks = Vec::new();
        for i in 0..50u64 {
            tasks.push(tokio::spawn(async move {
                let deadline = now() + Duration::from_micros(500 + 137 * i);
                sleep_until(deadline).await;
                now().secs_since(deadline)
            }));
        }
        for t in tasks {
            let late = t.await.unwrap();
            assert!(late >= 0.0, "woke {late} s early");
        }
    }

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

    #[tokio::test]
    async fn past_deadline_is_ready_at_once() {
        let past = now() - Duration::from_secs(1);
        sleep_until(past).await;
    }

    #[tokio::test]
    async fn a_later_registration_does_not_delay_an_earlier_one() {
        let far = tokio::spawn(sleep_until(now() + Duration::from_secs(30)));
        let near = now() + Duration::from_millis(2);
        sleep_until(near).await;
        assert!(now() >= near);
        far.abort();
    }
}

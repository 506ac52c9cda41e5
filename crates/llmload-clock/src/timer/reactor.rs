//! The runtime's own precise timer (Linux): one timerfd, armed for the
//! earliest deadline and registered with the tokio reactor. The worker parked
//! in `epoll_wait` is woken by the kernel at that instant (a timerfd's expiry
//! carries no timer slack) and a driver task wakes the due sleeps on that
//! worker, so pacing a send costs no other thread's wake-up. Elsewhere, or
//! before [`RuntimeTimer::start`], sleeps go to the timer thread.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::{Heap, Slot};
use crate::Timestamp;

/// A precise timer driven by one tokio runtime's reactor. Attach it to the
/// runtime's threads (`Builder::on_thread_start`), then start it once the
/// runtime is built; sleeps first polled on those threads use it.
#[derive(Clone, Default)]
pub struct RuntimeTimer(Arc<OnceLock<Arc<Reactor>>>);

thread_local! {
    static ATTACHED: RefCell<Option<RuntimeTimer>> = const { RefCell::new(None) };
}

impl RuntimeTimer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve the sleeps of the calling thread (once started).
    pub fn attach_thread(&self) {
        ATTACHED.with(|a| *a.borrow_mut() = Some(self.clone()));
    }

    /// Create the timerfd and spawn its driver on `handle`'s runtime. On an
    /// error (or off Linux) sleeps stay with the timer thread.
    #[allow(unsafe_code)]
    pub fn start(&self, handle: &tokio::runtime::Handle) -> io::Result<()> {
        let reactor = Arc::new(Reactor::new()?);
        let fd = {
            let _in_runtime = handle.enter();
            // SAFETY: `Registered` holds the reactor, which owns the timerfd,
            // so the descriptor stays open (and the same) while registered.
            unsafe {
                AsyncFd::register_with_interest(
                    Registered(Arc::clone(&reactor)),
                    Interest::READABLE,
                )
            }
            .map_err(io::Error::from)?
        };
        handle.spawn(drive(fd));
        self.0
            .set(reactor)
            .map_err(|_| io::Error::other("the runtime timer is already started"))
    }
}

impl std::fmt::Debug for RuntimeTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeTimer")
            .field("started", &self.0.get().is_some())
            .finish()
    }
}

/// The reactor's registration: keeps the timerfd open while registered.
struct Registered(Arc<Reactor>);

impl AsRawFd for Registered {
    fn as_raw_fd(&self) -> RawFd {
        self.0.fd.raw()
    }
}

struct Reactor {
    heap: Mutex<Heap>,
    fd: sys::TimerFd,
}

impl Reactor {
    fn new() -> io::Result<Self> {
        Ok(Reactor {
            heap: Mutex::new(Heap::default()),
            fd: sys::TimerFd::new()?,
        })
    }
}

/// Hand a sleep to the calling thread's runtime timer; `false` when it has none.
pub(super) fn register(deadline: Timestamp, slot: &Arc<Slot>) -> bool {
    let reactor = ATTACHED.with(|a| a.borrow().as_ref().and_then(|t| t.0.get().cloned()));
    let Some(reactor) = reactor else {
        return false;
    };
    let mut heap = reactor.heap.lock().unwrap_or_else(|e| e.into_inner());
    if heap.push(deadline, Arc::clone(slot)) {
        // Armed under the lock, so a later, earlier deadline always wins.
        reactor.fd.arm(deadline);
    }
    true
}

async fn drive(fd: AsyncFd<Registered>) {
    let reactor = Arc::clone(&fd.get_ref().0);
    let mut due = Vec::new();
    loop {
        let Ok(mut ready) = fd.readable().await else {
            return;
        };
        reactor.fd.consume();
        // Clears only this readiness event: an expiry armed since is kept.
        ready.clear_ready();
        let mut heap = reactor.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.take_due(crate::now(), &mut due);
        if let Some(next) = heap.earliest() {
            reactor.fd.arm(next);
        }
        drop(heap);
        for (_, slot) in due.drain(..) {
            slot.fire();
        }
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sys {
    //! The timerfd system calls.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    use crate::{now, Timestamp};

    pub(super) struct TimerFd(OwnedFd);

    impl TimerFd {
        pub(super) fn new() -> io::Result<Self> {
            // SAFETY: timerfd_create takes no pointers; a non-negative result
            // is a new descriptor that we own.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just returned by timerfd_create and is owned by no one else.
            Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        pub(super) fn raw(&self) -> RawFd {
            self.0.as_raw_fd()
        }

        /// Expire at `deadline` (at once if it has passed), replacing any earlier arming.
        pub(super) fn arm(&self, deadline: Timestamp) {
            // A zero value would disarm the timer: 1 ns is "now".
            let ns = deadline.as_nanos().saturating_sub(now().as_nanos()).max(1);
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: (ns / 1_000_000_000) as libc::time_t,
                    tv_nsec: (ns % 1_000_000_000) as libc::c_long,
                },
            };
            // SAFETY: `spec` is a valid itimerspec for the call's duration; a
            // null old-value pointer is allowed. Arming a valid timerfd with a
            // relative value cannot fail.
            unsafe {
                libc::timerfd_settime(self.raw(), 0, &spec, std::ptr::null_mut());
            }
        }

        /// Read (and so reset) the expiry count; nothing to read is fine.
        pub(super) fn consume(&self) {
            let mut count = 0u64;
            // SAFETY: reads at most 8 bytes into a local u64 from our own
            // non-blocking descriptor.
            unsafe {
                libc::read(self.raw(), (&raw mut count).cast(), 8);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    //! No timerfd here: [`RuntimeTimer::start`] fails and the timer thread serves.

    use std::io;
    use std::os::fd::RawFd;

    use crate::Timestamp;

    pub(super) struct TimerFd;

    impl TimerFd {
        pub(super) fn new() -> io::Result<Self> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no timerfd on this system",
            ))
        }
        pub(super) fn raw(&self) -> RawFd {
            -1
        }
        pub(super) fn arm(&self, _deadline: Timestamp) {}
        pub(super) fn consume(&self) {}
    }
}

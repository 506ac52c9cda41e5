//! Scheduling for the threads that keep time, so a busy host (a server on
//! the same machine keeping every core busy) cannot hold a send back.
//!
//! A thread that wakes at its instant must get a core at once. On a core
//! busy with other work Linux's fair scheduler lets the running task finish
//! its slice first, and without kernel preemption that lasts until a tick
//! (4 ms at 250 Hz), often two: sends then leave milliseconds late. So each
//! timing thread asks, in order:
//! 1. the real-time round-robin class at the lowest priority (`SCHED_RR`,
//!    1), which runs before any ordinary task the moment it wakes; allowed
//!    to root and to users with `CAP_SYS_NICE` or an `RLIMIT_RTPRIO`. The
//!    thread does the same work as before, only earlier; the kernel still
//!    caps real-time threads at 95 % of each core. Threads it starts do not
//!    inherit the class (`SCHED_RESET_ON_FORK`).
//! 2. else a short slice in the fair class (100 µs, Linux 6.12+), which lets
//!    it cut into a longer-sliced task's turn when it wakes;
//! 3. else nothing: it keeps its ordinary share.
//!
//! A process that is itself the server under test (`llmload mock-server`)
//! asks only for the short slice ([`set_realtime`]): a real server runs in
//! the fair class, and two real-time processes on the same cores would only
//! queue behind each other. `LLMLOAD_PRIORITY=normal` skips all of it (for
//! comparisons).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static REALTIME: AtomicBool = AtomicBool::new(true);

/// Whether this process's timing threads may ask for the real-time class
/// (default: yes); without it they ask for the short slice only.
pub fn set_realtime(on: bool) {
    REALTIME.store(on, Ordering::Relaxed);
}

/// What a thread was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granted {
    /// `SCHED_RR`, priority 1.
    Realtime,
    /// The fair class with a 100 µs slice.
    ShortSlice,
    /// The ordinary fair share.
    Normal,
}

impl fmt::Display for Granted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Granted::Realtime => "real-time (SCHED_RR 1)",
            Granted::ShortSlice => "fair class, 100 us slice",
            Granted::Normal => "fair class",
        })
    }
}

/// The slice asked for in the fair class, in nanoseconds.
const SHORT_SLICE_NS: u64 = 100_000;

/// Give the calling thread the best timing class it may have.
pub fn raise_current_thread() -> Granted {
    if std::env::var("LLMLOAD_PRIORITY").as_deref() == Ok("normal") {
        return Granted::Normal;
    }
    imp::raise(REALTIME.load(Ordering::Relaxed))
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use super::{Granted, SHORT_SLICE_NS};

    /// `SCHED_FLAG_RESET_ON_FORK` (linux/sched.h).
    const RESET_ON_FORK: u64 = 0x01;

    fn setattr(policy: i32, priority: u32, runtime: u64, flags: u64) -> bool {
        // SAFETY: sched_attr is a plain struct; zeroed is a valid value for
        // every field, and the kernel reads `size` bytes of it.
        let mut a: libc::sched_attr = unsafe { std::mem::zeroed() };
        a.size = std::mem::size_of::<libc::sched_attr>() as u32;
        a.sched_policy = policy as u32;
        a.sched_priority = priority;
        a.sched_runtime = runtime;
        a.sched_flags = flags;
        // SAFETY: pid 0 is the calling thread; `a` lives across the call.
        unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const libc::sched_attr, 0) == 0 }
    }

    pub(super) fn raise(realtime: bool) -> Granted {
        if realtime && setattr(libc::SCHED_RR, 1, 0, RESET_ON_FORK) {
            Granted::Realtime
        } else if setattr(libc::SCHED_OTHER, 0, SHORT_SLICE_NS, 0) {
            Granted::ShortSlice
        } else {
            Granted::Normal
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Granted;

    pub(super) fn raise(_realtime: bool) -> Granted {
        Granted::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_gets_a_class_and_keeps_working() {
        // Whatever this machine allows, the call returns and the thread runs on.
        let got = std::thread::spawn(raise_current_thread).join().unwrap();
        assert!(!got.to_string().is_empty());
        #[cfg(target_os = "linux")]
        {
            // A thread started by a raised thread does not inherit real time.
            let child_policy = std::thread::spawn(|| {
                raise_current_thread();
                std::thread::spawn(|| {
                    #[allow(unsafe_code)]
                    // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
                    unsafe {
                        libc::sched_getscheduler(0)
                    }
                })
                .join()
                .unwrap()
            })
            .join()
            .unwrap();
            assert_ne!(child_policy, libc::SCHED_RR);
        }
    }
}

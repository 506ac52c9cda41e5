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
//! Real time is for a client that is light beside its server. A busy client
//! (thousands of requests or chunks a second) would take the cores from the
//! server it measures, and real-time threads pay for the kernel's balancing
//! of them: measured, 5,000 req/s against a local mock finished 89 % of its
//! requests in real time and 99.9 % in the fair class. So a watcher samples
//! the process's CPU time every 250 ms and, once it used more than
//! [`BUSY_CORES`] of a core over a second, moves every real-time thread to
//! the short slice for the rest of the process ([`demoted`] says when).
//!
//! A process that is itself the server under test (`llmload mock-server`)
//! asks only for the short slice ([`set_realtime`]): a real server runs in
//! the fair class, and two real-time processes on the same cores would only
//! queue behind each other. `LLMLOAD_PRIORITY=normal|slice|nice|realtime`
//! forces one class, never demoted (for comparisons).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

static REALTIME: AtomicBool = AtomicBool::new(true);

/// CPU use, in cores averaged over a second, above which real-time threads
/// are moved to the fair class.
pub const BUSY_CORES: f64 = 0.3;

/// Threads given real time (kernel thread ids), and the demotion if it came.
static RAISED: Mutex<Raised> = Mutex::new(Raised {
    tids: Vec::new(),
    watching: false,
    demoted: None,
});

struct Raised {
    tids: Vec<i32>,
    watching: bool,
    demoted: Option<Demoted>,
}

/// When the real-time threads were moved to the fair class, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Demoted {
    /// Seconds after the first thread got real time.
    pub after_s: f64,
    /// The process's CPU use over the second before, in cores.
    pub cores: f64,
}

/// Whether (and when) this process's real-time threads were demoted.
pub fn demoted() -> Option<Demoted> {
    RAISED.lock().unwrap_or_else(|e| e.into_inner()).demoted
}

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
    /// The fair class at nice -10.
    Nice,
    /// The ordinary fair share.
    Normal,
}

impl fmt::Display for Granted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Granted::Realtime => "real-time (SCHED_RR 1)",
            Granted::ShortSlice => "fair class, 100 us slice",
            Granted::Nice => "fair class, nice -10",
            Granted::Normal => "fair class",
        })
    }
}

/// The slice asked for in the fair class, in nanoseconds.
const SHORT_SLICE_NS: u64 = 100_000;

/// Give the calling thread the best timing class it may have.
pub fn raise_current_thread() -> Granted {
    match std::env::var("LLMLOAD_PRIORITY").as_deref() {
        Ok("normal") => Granted::Normal,
        Ok("slice") => imp::raise(false),
        Ok("nice") => imp::nice(),
        Ok("realtime") => imp::raise(true),
        _ => {
            let mut raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
            let realtime = REALTIME.load(Ordering::Relaxed) && raised.demoted.is_none();
            let granted = imp::raise(realtime);
            if granted == Granted::Realtime {
                raised.tids.push(imp::tid());
                if !raised.watching {
                    raised.watching = std::thread::Builder::new()
                        .name("llmload-cpu-watch".into())
                        .spawn(watch)
                        .is_ok();
                }
            }
            granted
        }
    }
}

/// Sample the process's CPU time; demote the real-time threads once the
/// process used more than [`BUSY_CORES`] over the last second.
fn watch() {
    const TICK: Duration = Duration::from_millis(250);
    const WINDOW: usize = 4;
    let start = std::time::Instant::now();
    let mut samples = std::collections::VecDeque::with_capacity(WINDOW + 1);
    loop {
        samples.push_back((start.elapsed().as_secs_f64(), imp::process_cpu_seconds()));
        if samples.len() > WINDOW + 1 {
            samples.pop_front();
        }
        if let (Some(&(t0, c0)), Some(&(t1, c1))) = (samples.front(), samples.back()) {
            let cores = if t1 > t0 { (c1 - c0) / (t1 - t0) } else { 0.0 };
            if samples.len() == WINDOW + 1 && cores > BUSY_CORES {
                let mut raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
                for &tid in &raised.tids {
                    imp::lower(tid);
                }
                raised.tids.clear();
                raised.demoted = Some(Demoted { after_s: t1, cores });
                return;
            }
        }
        std::thread::sleep(TICK);
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use super::{Granted, SHORT_SLICE_NS};

    /// `SCHED_FLAG_RESET_ON_FORK` (linux/sched.h).
    const RESET_ON_FORK: u64 = 0x01;

    fn setattr(policy: i32, priority: u32, runtime: u64, flags: u64) -> bool {
        setattr_nice(policy, priority, runtime, flags, 0)
    }

    fn setattr_nice(policy: i32, priority: u32, runtime: u64, flags: u64, nice: i32) -> bool {
        // SAFETY: sched_attr is a plain struct; zeroed is a valid value for
        // every field, and the kernel reads `size` bytes of it.
        let mut a: libc::sched_attr = unsafe { std::mem::zeroed() };
        a.size = std::mem::size_of::<libc::sched_attr>() as u32;
        a.sched_policy = policy as u32;
        a.sched_priority = priority;
        a.sched_runtime = runtime;
        a.sched_flags = flags;
        a.sched_nice = nice;
        // SAFETY: pid 0 is the calling thread; `a` lives across the call.
        unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const libc::sched_attr, 0) == 0 }
    }

    pub(super) fn tid() -> i32 {
        // SAFETY: gettid takes no arguments and cannot fail.
        unsafe { libc::gettid() }
    }

    /// CPU seconds used by every thread of the process so far.
    pub(super) fn process_cpu_seconds() -> f64 {
        // SAFETY: `ts` is a valid timespec for the kernel to fill.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        // SAFETY: the clock id is valid and `ts` lives across the call.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
            return 0.0;
        }
        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
    }

    /// Move thread `tid` to the fair class with the short slice (or plain).
    pub(super) fn lower(tid: i32) {
        for runtime in [SHORT_SLICE_NS, 0] {
            // SAFETY: as in `setattr_nice`, for another thread of this process.
            let mut a: libc::sched_attr = unsafe { std::mem::zeroed() };
            a.size = std::mem::size_of::<libc::sched_attr>() as u32;
            a.sched_policy = libc::SCHED_OTHER as u32;
            a.sched_runtime = runtime;
            // SAFETY: `a` lives across the call; a gone tid only fails.
            if unsafe {
                libc::syscall(
                    libc::SYS_sched_setattr,
                    tid,
                    &a as *const libc::sched_attr,
                    0,
                )
            } == 0
            {
                return;
            }
        }
    }

    pub(super) fn nice() -> Granted {
        if setattr_nice(libc::SCHED_OTHER, 0, 0, 0, -10) {
            Granted::Nice
        } else {
            Granted::Normal
        }
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

    pub(super) fn nice() -> Granted {
        Granted::Normal
    }

    pub(super) fn tid() -> i32 {
        0
    }

    pub(super) fn process_cpu_seconds() -> f64 {
        0.0
    }

    pub(super) fn lower(_tid: i32) {}
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_busy_process_gives_real_time_back() {
        if std::env::var_os("LLMLOAD_PRIORITY").is_some() {
            return;
        }
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let raised = std::thread::spawn(move || {
            let granted = raise_current_thread();
            wait.recv().unwrap();
            #[allow(unsafe_code)]
            // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
            let policy = unsafe { libc::sched_getscheduler(0) };
            (granted, policy)
        });
        // Busy: well over BUSY_CORES until the watcher acts (or 20 s).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while demoted().is_none() && start.elapsed() < Duration::from_secs(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        go.send(()).unwrap();
        let (granted, policy) = raised.join().unwrap();
        if granted != Granted::Realtime {
            return; // this machine allows no real time: nothing to give back
        }
        let d = demoted().expect("demoted after a busy second");
        assert!(d.cores > BUSY_CORES, "{d:?}");
        assert_ne!(policy, libc::SCHED_RR);
        // Threads raised afterwards no longer get real time.
        assert_ne!(
            std::thread::spawn(raise_current_thread).join().unwrap(),
            Granted::Realtime
        );
    }
}

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
//! the process's CPU time every 250 ms: once the process used more than
//! [`BUSY_CORES`] of a core over a second, every real-time thread moves to
//! the short slice; once it used less than [`LIGHT_CORES`] over two seconds,
//! they get real time back ([`given_back`] says how often and for how long).
//! A burst (loading a tokenizer, preparing a run's prompts) therefore costs
//! real time for the burst only, not for the rest of the run, and what the
//! process did before a benchmark starts sending does not count at all
//! ([`sending_starts`]).
//!
//! A process that is itself the server under test (`llmload mock-server`)
//! asks only for the short slice ([`set_realtime`]): a real server runs in
//! the fair class, and two real-time processes on the same cores would only
//! queue behind each other. `LLMLOAD_PRIORITY=normal|slice|nice|realtime`
//! forces one class, never demoted (for comparisons).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static REALTIME: AtomicBool = AtomicBool::new(true);

/// CPU use, in cores averaged over a second, above which real-time threads
/// are moved to the fair class.
pub const BUSY_CORES: f64 = 0.3;

/// CPU use, in cores averaged over two seconds, below which they get real
/// time back.
pub const LIGHT_CORES: f64 = 0.15;

/// Threads given real time (kernel thread ids), and what the watcher did.
static RAISED: Mutex<Raised> = Mutex::new(Raised {
    tids: Vec::new(),
    watching: None,
    demoted_since: None,
    back: None,
    fresh: false,
});

struct Raised {
    /// Threads that asked for real time while it was allowed.
    tids: Vec<i32>,
    /// When the watcher started (the first thread got real time).
    watching: Option<Instant>,
    /// Seconds after `watching` when the threads last moved to the fair class,
    /// while they are there.
    demoted_since: Option<f64>,
    /// Every move so far.
    back: Option<GivenBack>,
    /// A benchmark starts sending: forget the CPU used so far.
    fresh: bool,
}

/// A benchmark starts sending: what the process did before (loading a
/// tokenizer, preparing prompts, writing the last benchmark's results) no
/// longer counts, and threads moved to the fair class get real time back at
/// once, so the first requests are sent in real time. Cheap; call it at each
/// benchmark's start.
pub fn sending_starts() {
    let mut raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(start) = raised.watching else {
        return;
    };
    raised.fresh = true;
    if let Some(since) = raised.demoted_since.take() {
        for &tid in &raised.tids {
            imp::restore(tid);
        }
        let now = start.elapsed().as_secs_f64();
        if let Some(back) = raised.back.as_mut() {
            back.seconds += now - since;
        }
    }
}

/// How often, and for how long, this process's real-time threads were moved
/// to the fair class because the process itself was busy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GivenBack {
    /// Moves to the fair class.
    pub times: u32,
    /// Seconds spent in the fair class in all (up to now).
    pub seconds: f64,
    /// Seconds after the first thread got real time, of the first move.
    pub first_after_s: f64,
    /// The highest CPU use, in cores over a second, that caused a move.
    pub peak_cores: f64,
    /// Whether the threads are in the fair class now.
    pub now: bool,
}

/// Whether (and how often, for how long) this process's real-time threads
/// were moved to the fair class.
pub fn given_back() -> Option<GivenBack> {
    let raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
    let mut back = raised.back?;
    if let (Some(since), Some(start)) = (raised.demoted_since, raised.watching) {
        back.seconds += start.elapsed().as_secs_f64() - since;
        back.now = true;
    }
    Some(back)
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
            if !REALTIME.load(Ordering::Relaxed) {
                return imp::raise(false);
            }
            // While the threads are in the fair class a new one joins them
            // there, and gets real time back with them.
            let granted = imp::raise(raised.demoted_since.is_none());
            if granted == Granted::Realtime || raised.demoted_since.is_some() {
                raised.tids.push(imp::tid());
            }
            if granted == Granted::Realtime && raised.watching.is_none() {
                let spawned = std::thread::Builder::new()
                    .name("llmload-cpu-watch".into())
                    .spawn(watch)
                    .is_ok();
                if spawned {
                    raised.watching = Some(Instant::now());
                }
            }
            granted
        }
    }
}

/// Sample the process's CPU time; move the real-time threads to the fair
/// class while the process is busy ([`BUSY_CORES`] over a second) and back
/// once it is light ([`LIGHT_CORES`] over two seconds).
fn watch() {
    const TICK: Duration = Duration::from_millis(250);
    const BUSY_TICKS: usize = 4;
    const LIGHT_TICKS: usize = 8;
    let start = RAISED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .watching
        .unwrap_or_else(Instant::now);
    let mut samples = std::collections::VecDeque::with_capacity(LIGHT_TICKS + 1);
    loop {
        let now = start.elapsed().as_secs_f64();
        samples.push_back((now, imp::process_cpu_seconds()));
        if samples.len() > LIGHT_TICKS + 1 {
            samples.pop_front();
        }
        let mut raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
        // Threads that ended are forgotten (their ids may be reused).
        raised.tids.retain(|&tid| imp::alive(tid));
        if std::mem::take(&mut raised.fresh) {
            samples.clear();
            samples.push_back((now, imp::process_cpu_seconds()));
        }
        // Cores used over the last `ticks` samples, once there are as many.
        let cores = |ticks: usize| {
            let (t0, c0) = *samples.get(samples.len().checked_sub(ticks + 1)?)?;
            let (t1, c1) = *samples.back()?;
            (t1 > t0).then(|| (c1 - c0) / (t1 - t0))
        };
        match raised.demoted_since {
            None => {
                if let Some(busy) = cores(BUSY_TICKS).filter(|&c| c > BUSY_CORES) {
                    for &tid in &raised.tids {
                        imp::lower(tid);
                    }
                    raised.demoted_since = Some(now);
                    let back = raised.back.get_or_insert(GivenBack {
                        times: 0,
                        seconds: 0.0,
                        first_after_s: now,
                        peak_cores: 0.0,
                        now: false,
                    });
                    back.times += 1;
                    back.peak_cores = back.peak_cores.max(busy);
                }
            }
            Some(since) => {
                if cores(LIGHT_TICKS).is_some_and(|c| c < LIGHT_CORES) {
                    for &tid in &raised.tids {
                        imp::restore(tid);
                    }
                    raised.demoted_since = None;
                    if let Some(back) = raised.back.as_mut() {
                        back.seconds += now - since;
                    }
                }
            }
        }
        drop(raised);
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
        setattr_nice(0, policy, priority, runtime, flags, 0)
    }

    /// `sched_setattr` for thread `tid` of this process (0: the calling thread).
    fn setattr_nice(
        tid: i32,
        policy: i32,
        priority: u32,
        runtime: u64,
        flags: u64,
        nice: i32,
    ) -> bool {
        // SAFETY: sched_attr is a plain struct; zeroed is a valid value for
        // every field, and the kernel reads `size` bytes of it.
        let mut a: libc::sched_attr = unsafe { std::mem::zeroed() };
        a.size = std::mem::size_of::<libc::sched_attr>() as u32;
        a.sched_policy = policy as u32;
        a.sched_priority = priority;
        a.sched_runtime = runtime;
        a.sched_flags = flags;
        a.sched_nice = nice;
        // SAFETY: `a` lives across the call; a thread id that is gone only fails.
        unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                tid,
                &a as *const libc::sched_attr,
                0,
            ) == 0
        }
    }

    /// Whether thread `tid` is still one of this process's.
    pub(super) fn alive(tid: i32) -> bool {
        std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
    }

    /// Give thread `tid` real time again.
    pub(super) fn restore(tid: i32) {
        setattr_nice(tid, libc::SCHED_RR, 1, 0, RESET_ON_FORK, 0);
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
            if setattr_nice(tid, libc::SCHED_OTHER, 0, runtime, 0, 0) {
                return;
            }
        }
    }

    pub(super) fn nice() -> Granted {
        if setattr_nice(0, libc::SCHED_OTHER, 0, 0, 0, -10) {
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

    pub(super) fn restore(_tid: i32) {}

    pub(super) fn alive(_tid: i32) -> bool {
        false
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

    /// The calling thread's scheduling policy (without the reset-on-fork flag).
    #[cfg(target_os = "linux")]
    fn policy() -> i32 {
        #[allow(unsafe_code)]
        // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
        let p = unsafe { libc::sched_getscheduler(0) };
        p & !libc::SCHED_RESET_ON_FORK
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_busy_process_gives_real_time_back_and_gets_it_again_when_light() {
        if std::env::var_os("LLMLOAD_PRIORITY").is_some() {
            return;
        }
        // A raised thread that answers each question with its policy.
        let (ask, asked) = std::sync::mpsc::channel::<()>();
        let (tell, told) = std::sync::mpsc::channel::<(Granted, i32)>();
        let raised = std::thread::spawn(move || {
            let granted = raise_current_thread();
            while asked.recv().is_ok() {
                tell.send((granted, policy())).unwrap();
            }
        });
        let policy_now = || {
            ask.send(()).unwrap();
            told.recv().unwrap()
        };
        if policy_now().0 != Granted::Realtime {
            return; // this machine allows no real time: nothing to give back
        }
        assert_eq!(policy_now().1, libc::SCHED_RR);
        // Busy: well over BUSY_CORES until the watcher acts (or 20 s).
        let start = Instant::now();
        let mut x = 0u64;
        while given_back().is_none() && start.elapsed() < Duration::from_secs(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let back = given_back().expect("moved to the fair class after a busy second");
        assert!(back.now && back.times == 1, "{back:?}");
        assert!(back.peak_cores > BUSY_CORES, "{back:?}");
        assert_ne!(policy_now().1, libc::SCHED_RR);
        // A thread raised meanwhile joins the others in the fair class.
        let (granted, joined) = std::thread::spawn(|| (raise_current_thread(), policy()))
            .join()
            .unwrap();
        assert_ne!(granted, Granted::Realtime);
        assert_ne!(joined, libc::SCHED_RR);
        // Light: the watcher gives real time back within a few seconds.
        let light = Instant::now();
        while given_back().is_some_and(|b| b.now) && light.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let back = given_back().unwrap();
        assert!(!back.now, "still in the fair class after 20 light seconds");
        assert!(back.seconds > 0.0 && back.times == 1, "{back:?}");
        assert_eq!(policy_now().1, libc::SCHED_RR);
        // Busy again, then a benchmark starts sending: real time at once.
        let busy = Instant::now();
        while given_back().is_some_and(|b| !b.now) && busy.elapsed() < Duration::from_secs(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let back = given_back().unwrap();
        assert!(back.now && back.times == 2, "{back:?}");
        sending_starts();
        assert!(!given_back().unwrap().now);
        assert_eq!(policy_now().1, libc::SCHED_RR);
        drop(ask);
        raised.join().unwrap();
    }
}

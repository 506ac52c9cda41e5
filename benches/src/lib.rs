//! Shared helpers for the measurement harnesses in this directory.
//!
//! Each harness is a `harness = false` bench target: `cargo bench -p
//! llmload-benches --bench NAME` builds it in release mode and runs it; it
//! prints what it measured and how, for docs/performance.md.

use std::path::PathBuf;

/// `../shared` beside the repository (or `$LLMLOAD_SHARED`).
pub fn shared(rel: &str) -> PathBuf {
    let base =
        std::env::var("LLMLOAD_SHARED").unwrap_or_else(|_| env!("LLMLOAD_SHARED").to_string());
    PathBuf::from(base).join(rel)
}

/// Process CPU time (user + system) in seconds, from getrusage.
pub fn cpu_seconds() -> f64 {
    let r = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" of the command name: utime is 14th, stime 15th overall.
    let after = r.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let utime: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let stime: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    (utime + stime) / tick
}

/// What the kernel measured of a finished child process.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Wall-clock seconds from spawn to exit.
    pub wall: f64,
    /// User + system CPU seconds.
    pub cpu: f64,
    /// User-space CPU seconds.
    pub user: f64,
    /// Kernel CPU seconds.
    pub sys: f64,
    /// Peak resident set size, MiB.
    pub max_rss_mib: f64,
    /// Exit code.
    pub code: i32,
}

/// The release `llmload` binary, built if missing; `$LLMLOAD_BIN` measures
/// another build instead (an older commit, for a before/after in one sitting).
pub fn llmload_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("LLMLOAD_BIN") {
        return PathBuf::from(bin);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release/llmload");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "llmload", "--quiet"])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building llmload failed");
    bin
}

/// Run a command to completion and read its rusage with wait4.
#[allow(unsafe_code)]
pub fn run_measured(cmd: &mut std::process::Command) -> Usage {
    let t0 = std::time::Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain struct filled by the kernel; pid is our child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    std::mem::forget(child); // already reaped
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        wall: t0.elapsed().as_secs_f64(),
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        max_rss_mib: ru.ru_maxrss as f64 / 1024.0,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    }
}

/// A `llmload mock-server` child on a free loopback port.
#[derive(Debug)]
pub struct Mock {
    child: std::process::Child,
    /// Its URL.
    pub url: String,
}

impl Mock {
    /// Start one with extra flags.
    pub fn start(bin: &std::path::Path, args: &[&str]) -> Mock {
        use std::io::BufRead;
        let mut child = std::process::Command::new(bin)
            .args(["mock-server", "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("mock");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("url")
            .to_string();
        Mock { child, url }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

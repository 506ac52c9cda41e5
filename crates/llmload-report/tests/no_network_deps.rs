//! The report crate reads and writes results: neither the engine, the
//! client, nor an HTTP or TLS stack may reach it through its dependencies.

use std::process::Command;

/// Crates that must not appear in llmload-report's normal dependency tree.
const BANNED: [&str; 5] = [
    "hyper",
    "rustls",
    "tokio-rustls",
    "llmload-engine",
    "llmload-client",
];

#[test]
fn the_report_crate_pulls_in_no_network_stack() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "llmload-report",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The tree is the one asked for: the report and its own dependencies.
    let line_of = |name: &str| tree.lines().any(|l| l.starts_with(&format!("{name} v")));
    assert!(line_of("llmload-report"), "{tree}");
    assert!(
        line_of("llmload-core") && line_of("llmload-metrics"),
        "{tree}"
    );
    let found: Vec<&str> = tree
        .lines()
        .filter(|l| BANNED.iter().any(|b| l.starts_with(b)))
        .collect();
    assert!(
        found.is_empty(),
        "llmload-report depends on {found:?}; it must read and write results without the network stack"
    );
}

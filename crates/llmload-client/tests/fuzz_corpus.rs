//! The fuzz targets' saved inputs (`fuzz/corpus/TARGET`, seeded from the vLLM
//! wire captures, and `fuzz/regressions/TARGET`, every crash a fuzzer found)
//! replayed through the same checks as ordinary tests.

use std::path::{Path, PathBuf};

use llmload_client::fuzz_checks;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("seed-")),
        "no seed inputs for {target}"
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails the {target} check", f.display());
    }
}

#[test]
fn sse_corpus_replays() {
    replay("sse", fuzz_checks::sse_split_invariance);
}

#[test]
fn chunk_corpus_replays() {
    replay("chunk", fuzz_checks::chunk_parse);
}

#[test]
fn the_checks_catch_what_they_should() {
    // A stream whose events differ when cut would panic: sanity of the harness
    // on a real capture, plus a line end split across reads (CR | LF).
    let capture = std::fs::read(
        inputs("sse")
            .iter()
            .find(|f| f.ends_with("seed-chat_stream"))
            .unwrap(),
    )
    .unwrap();
    fuzz_checks::sse_split_invariance(&capture);
    fuzz_checks::sse_split_invariance(b"\x01data: x\r\ndata: y\r\n\r\n");
    // Invalid JSON is an error, not a panic.
    fuzz_checks::chunk_parse(b"{\"choices\": [{\"delta\": {\"content\": 3}}]");
}

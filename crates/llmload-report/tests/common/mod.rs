//! Paths to the shared ground-truth fixtures (../shared beside the repository).

use std::path::PathBuf;

/// `<repo>/../shared`, or `$LLMLOAD_SHARED` when set.
pub fn shared_dir() -> PathBuf {
    if let Ok(p) = std::env::var("LLMLOAD_SHARED") {
        return PathBuf::from(p);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = repo.join("../shared");
    assert!(
        shared.join("fixtures").is_dir(),
        "fixtures not found at {} (set LLMLOAD_SHARED)",
        shared.display()
    );
    shared
}

/// The GuideLLM 0.4.0 report fixtures.
#[allow(dead_code)]
pub fn guidellm_fixtures() -> Vec<PathBuf> {
    let dir = shared_dir().join("fixtures/guidellm-0.4.0");
    ["mock-constant5", "vllm-constant2", "vllm-sweep4"]
        .iter()
        .map(|n| dir.join(format!("{n}-benchmarks.json")))
        .collect()
}

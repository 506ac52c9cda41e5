//! Loading tokenizers offline: a tokenizer.json, a directory holding one, or
//! a Hugging Face model id found in the local cache. Never the network.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::DataError;

/// Where a `--processor` value resolves to, or why it does not.
pub fn resolve(processor: &str) -> Result<PathBuf, DataError> {
    let p = Path::new(processor);
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    if p.is_dir() {
        let f = p.join("tokenizer.json");
        if f.is_file() {
            return Ok(f);
        }
        return Err(DataError::new(format!(
            "--processor {processor}: the directory holds no tokenizer.json"
        )));
    }
    if let Some(f) = hf_cache_lookup(processor) {
        return Ok(f);
    }
    Err(DataError::new(format!(
        "--processor {processor}: no such file or directory, and no tokenizer.json for it in the Hugging Face cache \
         (pass a tokenizer.json path or a directory holding one)"
    )))
}

/// The Hugging Face hub cache directories to search, in order.
fn hf_cache_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("HF_HUB_CACHE") {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(d) = std::env::var("HF_HOME") {
        dirs.push(PathBuf::from(d).join("hub"));
    }
    if let Ok(home) = std::env::var("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/huggingface/hub"));
    }
    dirs
}

/// `models--ORG--NAME/snapshots/*/tokenizer.json` for `ORG/NAME`.
fn hf_cache_lookup(model_id: &str) -> Option<PathBuf> {
    if model_id.is_empty() || model_id.starts_with('/') || model_id.starts_with('.') {
        return None;
    }
    let folder = format!("models--{}", model_id.replace('/', "--"));
    for dir in hf_cache_dirs() {
        let snaps = dir.join(&folder).join("snapshots");
        let Ok(entries) = std::fs::read_dir(&snaps) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("tokenizer.json"))
            .filter(|f| f.is_file())
            .collect();
        found.sort();
        if let Some(f) = found.pop() {
            return Some(f);
        }
    }
    None
}

/// The GPT-2 tokenizer bundled for demos against the built-in mock server.
pub fn bundled_gpt2() -> Tokenizer {
    use std::io::Read;
    static GZ: &[u8] = include_bytes!("../tokenizers/gpt2-tokenizer.json.gz");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(GZ)
        .read_to_end(&mut json)
        .expect("the bundled tokenizer decompresses");
    Tokenizer::from_bytes(&json).expect("the bundled tokenizer loads")
}

/// Load a tokenizer from a `--processor` value.
pub fn load(processor: &str) -> Result<Tokenizer, DataError> {
    let path = resolve(processor)?;
    let mut tok = Tokenizer::from_file(&path).map_err(|e| {
        let why = e.to_string();
        let why = why.lines().next().unwrap_or("unreadable");
        DataError::new(format!(
            "--processor {}: not a tokenizer.json ({why})",
            path.display()
        ))
    })?;
    // Counts are of whole texts, as transformers' `encode(text)` gives them:
    // a truncation or padding the file configures would change them.
    tok.with_padding(None);
    tok.with_truncation(None)
        .map_err(|e| DataError::new(format!("--processor {}: {e}", path.display())))?;
    Ok(tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_truncation_or_padding_does_not_change_counts() {
        let shared = env!("LLMLOAD_SHARED");
        let mut t =
            Tokenizer::from_file(format!("{shared}/tokenizers/gpt2/tokenizer.json")).unwrap();
        t.with_truncation(Some(tokenizers::TruncationParams {
            max_length: 8,
            ..Default::default()
        }))
        .unwrap();
        t.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::Fixed(64),
            ..Default::default()
        }));
        let path = std::env::temp_dir().join(format!("llmload-trunc-{}.json", std::process::id()));
        t.save(&path, false).unwrap();
        let text = "It is a truth universally acknowledged, that a single man in possession";
        assert_eq!(t.encode(text, false).unwrap().len(), 64, "the file pads");
        let loaded = load(path.to_str().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        let plain =
            Tokenizer::from_file(format!("{shared}/tokenizers/gpt2/tokenizer.json")).unwrap();
        assert_eq!(
            loaded.encode(text, false).unwrap().len(),
            plain.encode(text, false).unwrap().len()
        );
    }

    #[test]
    fn resolves_files_dirs_and_the_hf_cache() {
        let shared = env!("LLMLOAD_SHARED");
        let dir = format!("{shared}/tokenizers/qwen2.5");
        assert_eq!(
            resolve(&dir).unwrap(),
            Path::new(&dir).join("tokenizer.json")
        );
        assert!(resolve(&format!("{dir}/tokenizer.json")).is_ok());
        let err = resolve("/no/such/place").unwrap_err().to_string();
        assert!(err.contains("--processor /no/such/place"), "{err}");

        let cache = std::env::temp_dir().join(format!("llmload-hf-{}", std::process::id()));
        let snap = cache.join("models--Org--Name/snapshots/abc123");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::copy(format!("{dir}/tokenizer.json"), snap.join("tokenizer.json")).unwrap();
        std::env::set_var("HF_HUB_CACHE", &cache);
        assert_eq!(resolve("Org/Name").unwrap(), snap.join("tokenizer.json"));
        assert!(resolve("Org/Other").is_err());
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn the_bundled_tokenizer_is_gpt2() {
        let t = bundled_gpt2();
        assert_eq!(
            t.encode("Hello world", false).unwrap().get_ids(),
            [15496, 995]
        );
    }

    #[test]
    fn a_file_that_is_not_a_tokenizer_is_named() {
        let f = std::env::temp_dir().join(format!(
            "llmload-not-a-tokenizer-{}.json",
            std::process::id()
        ));
        std::fs::write(&f, "{\"hello\": 1}").unwrap();
        let err = load(f.to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("not a tokenizer.json"), "{err}");
        std::fs::remove_file(&f).unwrap();
    }
}

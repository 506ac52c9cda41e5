//! The tokenizer prompts are built with, and the check of it against the
//! server.
//!
//! Without `--processor`: the model id in the Hugging Face cache, else the
//! model directory the server reports as the model's `root` in
//! `GET /v1/models` (vLLM: the path it loaded the model from), else (the
//! embedded mock) the bundled GPT-2 tokenizer. A server that offers
//! `POST /tokenize` is then asked to count a few of the run's own prompts:
//! a tokenizer other than the server's builds prompts of the wrong lengths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmload_client::{Client, ServedModel};
use llmload_data::{tokenizer, PromptBuilder, SyntheticSource, SyntheticSpec, Tokenizer};
use serde_json::{json, Value};

use crate::plan::Plan;
use crate::Error;

/// Prompts of the run checked against `POST /tokenize`.
const CHECKED_PROMPTS: usize = 3;

/// The longest wait for one `POST /tokenize` answer (connecting included).
const TOKENIZE_LIMIT: Duration = Duration::from_secs(2);

/// A tokenizer and what to call it in messages.
pub struct Chosen {
    /// The loaded tokenizer.
    pub tokenizer: Arc<Tokenizer>,
    /// `--processor`'s value, or the file or directory it was found in.
    pub name: String,
}

/// Whether `key` is seen for the first time in this process: the validation
/// flows measure many benchmarks against one server, and say each thing once.
fn first_time(key: String) -> bool {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    SEEN.lock().unwrap_or_else(|e| e.into_inner()).insert(key)
}

fn load(path_or_value: &str) -> Result<Arc<Tokenizer>, Error> {
    tokenizer::load(path_or_value)
        .map(Arc::new)
        .map_err(|e| Error::usage(e.to_string()))
}

/// The tokenizer found without asking the server: `--processor`, else
/// `model` in the Hugging Face cache (or as a local path), else, for the
/// embedded mock (no `--target`), the bundled GPT-2 tokenizer.
pub fn local(plan: &Plan, model: &str) -> Result<Option<Chosen>, Error> {
    if let Some(p) = &plan.processor {
        return Ok(Some(Chosen {
            tokenizer: load(p)?,
            name: p.clone(),
        }));
    }
    if let Ok(path) = tokenizer::resolve(model) {
        let name = path.display().to_string();
        return Ok(Some(Chosen {
            tokenizer: load(&name)?,
            name,
        }));
    }
    if plan.target.is_none() {
        return Ok(Some(Chosen {
            tokenizer: Arc::new(tokenizer::bundled_gpt2()),
            name: "gpt2 (bundled)".into(),
        }));
    }
    Ok(None)
}

/// The tokenizer for `model`: [`local`], else the model root the server
/// reports (`listed`: its `GET /v1/models`, when already fetched), else an
/// error (exit code 2) naming every place tried.
pub async fn find(
    plan: &Plan,
    client: &Client,
    model: &str,
    listed: Option<&[ServedModel]>,
) -> Result<Chosen, Error> {
    if let Some(chosen) = local(plan, model)? {
        return Ok(chosen);
    }
    let fetched;
    let listed = match listed {
        Some(l) => Ok(l),
        None => {
            fetched = client.models_with_roots().await;
            fetched.as_deref().map_err(|e| e.to_string())
        }
    };
    let nowhere = |why: String| {
        Error::usage(format!(
            "--processor: no tokenizer for model {model:?}: not in the Hugging Face cache, and {why}; \
             pass --processor PATH"
        ))
    };
    let listed = listed.map_err(|e| nowhere(format!("GET /v1/models failed ({e})")))?;
    let root = listed
        .iter()
        .find(|m| m.id == model)
        .and_then(|m| m.root.as_deref())
        .ok_or_else(|| nowhere("GET /v1/models reports no model root for it".into()))?;
    let Some(file) = root_tokenizer(root, model) else {
        return Err(nowhere(format!(
            "the server's model root {root:?} (GET /v1/models) is not a local directory with a tokenizer.json"
        )));
    };
    let name = file.display().to_string();
    let tokenizer = tokenizer::load(&name).map_err(|e| {
        nowhere(format!(
            "the server's model root {root:?} (GET /v1/models) holds {name}, which does not load ({e})"
        ))
    })?;
    if first_time(format!("root {root}")) {
        eprintln!(
            "llmload: tokenizer from the server's model directory {root} (GET /v1/models \"root\")"
        );
    }
    Ok(Chosen {
        tokenizer: Arc::new(tokenizer),
        name: root.to_string(),
    })
}

/// The tokenizer.json a model root names: the root itself when it is a
/// `.json` file, `ROOT/tokenizer.json` when it is a directory holding one,
/// or, for a hub id other than the model's (`--served-model-name`), the
/// Hugging Face cache's.
fn root_tokenizer(root: &str, model: &str) -> Option<PathBuf> {
    let p = Path::new(root);
    if p.is_dir() {
        let f = p.join("tokenizer.json");
        return f.is_file().then_some(f);
    }
    if p.is_file() {
        let json = p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        return json.then(|| p.to_path_buf());
    }
    if root != model && !p.is_absolute() {
        return tokenizer::resolve(root).ok();
    }
    None
}

/// Ask the server's `POST /tokenize` to count the first prompts of the run
/// (built from a separate source: the run's own prompts are untouched) as
/// llmload counts them (`add_special_tokens: true`), and warn on stderr
/// when its count differs. A server without `/tokenize` (an error, not
/// JSON, no answer within [`TOKENIZE_LIMIT`]) is left alone: the check
/// stops at the first failure and never sends more than three requests.
pub async fn check(
    client: &Client,
    model: &str,
    builder: &PromptBuilder,
    spec: &SyntheticSpec,
    seed: u64,
    name: &str,
) {
    if !first_time(format!("check {} {model} {name}", client.target().url())) {
        return;
    }
    let mut source = SyntheticSource::new(builder.clone(), spec.clone(), seed, 1);
    for _ in 0..CHECKED_PROMPTS {
        let Ok(request) = source.next_spec() else {
            return;
        };
        let Some(built) = request.prompt_tokens else {
            return;
        };
        let body = json!({
            "model": model,
            "prompt": request.prompt,
            "add_special_tokens": true,
        });
        let Ok(answer) = client.post_json("/tokenize", &body, TOKENIZE_LIMIT).await else {
            return;
        };
        let Some(counted) = server_count(&answer) else {
            return;
        };
        if counted != built {
            eprintln!(
                "llmload: warning: the server counts {counted} tokens in a prompt llmload built as {built} \
                 with tokenizer {name} (POST /tokenize); prompt lengths will be off: \
                 pass the server's tokenizer with --processor"
            );
            return;
        }
    }
}

/// The token count of a `/tokenize` answer: `count`, else its `tokens`.
fn server_count(answer: &Value) -> Option<u64> {
    answer.get("count").and_then(Value::as_u64).or_else(|| {
        answer
            .get("tokens")
            .and_then(Value::as_array)
            .map(|t| t.len() as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_count_else_tokens() {
        let fixture =
            Path::new(env!("LLMLOAD_SHARED")).join("fixtures/vllm-0.32-wire/tokenize.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        assert_eq!(server_count(&v), Some(8));
        assert_eq!(server_count(&json!({"tokens": [1, 2, 3]})), Some(3));
        assert_eq!(server_count(&json!({"detail": "Not Found"})), None);
    }

    #[test]
    fn a_root_is_a_directory_with_a_tokenizer_json_or_a_json_file() {
        let shared = Path::new(env!("LLMLOAD_SHARED"));
        let dir = shared.join("tokenizers/qwen2.5");
        let d = dir.to_str().unwrap();
        assert_eq!(root_tokenizer(d, "m"), Some(dir.join("tokenizer.json")));
        let f = dir.join("tokenizer.json");
        assert_eq!(root_tokenizer(f.to_str().unwrap(), "m"), Some(f.clone()));
        let no_json = shared.join("tokenizers");
        assert_eq!(root_tokenizer(no_json.to_str().unwrap(), "m"), None);
        assert_eq!(root_tokenizer("/no/such/dir", "m"), None);
        assert_eq!(root_tokenizer("tiny-qwen", "tiny-qwen"), None);
    }
}

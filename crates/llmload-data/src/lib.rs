//! What llmload sends: tokenizers, prompts and output lengths.
//!
//! # What this crate owns
//! - [`tokenizer`]: loading a tokenizer offline (file, directory, HF cache).
//! - [`SyntheticSpec`]: GuideLLM's `--data "prompt_tokens=…,…"` spec and its
//!   length distributions.
//! - [`PromptBuilder`] / [`SyntheticSource`]: prompts that encode to exactly
//!   the drawn number of tokens, each with a unique prefix, built from a
//!   pre-tokenized public-domain corpus in microseconds.
//! - [`RequestSpec`]: one request to send (prompt and lengths), or the
//!   first turn of a conversation with its [`FollowUps`].
//! - [`ConversationSpec`]: multi-turn conversations and shared prefixes.
//!
//! # What it does not own
//! HTTP bodies (the client encodes them), scheduling (the engine).

mod conversation;
mod corpus;
mod dataset;
mod spec;
mod synthetic;
pub mod tokenizer;

use std::fmt;

pub use conversation::{ConversationSpec, DelayDist, PrefixBucket};
pub use corpus::Corpus;
pub use dataset::{parse_csv, ColumnMapping, Dataset, DatasetSource, TEXT_COLUMNS};
pub use spec::{LengthDist, SyntheticSpec, SPEC_KEYS};
pub use synthetic::{PromptBuilder, SyntheticSource};
pub use tokenizers::Tokenizer;

/// The built-in prompt source: *Pride and Prejudice* (Jane Austen, public
/// domain, Project Gutenberg; the text GuideLLM 0.2–0.3 shipped).
pub const BUILTIN_CORPUS: &str = include_str!("../corpus/pride-and-prejudice.txt");

/// As much of [`BUILTIN_CORPUS`] as prompts of at most `max_tokens` need:
/// at least 32 prompts' worth (about 5 bytes a token) and 128 KB, cut at a
/// paragraph break. The corpus is tokenized once per run, so a run of short
/// prompts need not tokenize the whole book.
pub fn builtin_corpus_for(max_tokens: u64) -> &'static str {
    let want = (max_tokens.saturating_mul(32 * 5)).max(128 << 10);
    let Ok(want) = usize::try_from(want) else {
        return BUILTIN_CORPUS;
    };
    let Some(from) = (want..BUILTIN_CORPUS.len()).find(|&i| BUILTIN_CORPUS.is_char_boundary(i))
    else {
        return BUILTIN_CORPUS;
    };
    match BUILTIN_CORPUS[from..].find("\n\n") {
        Some(k) => &BUILTIN_CORPUS[..from + k + 1],
        None => BUILTIN_CORPUS,
    }
}

/// Where requests come from, one benchmark at a time.
pub trait RequestSource: Send {
    /// The next request, or `None` when the source is exhausted.
    fn next_request(&mut self) -> Result<Option<RequestSpec>, DataError>;
}

impl<S: RequestSource + ?Sized> RequestSource for Box<S> {
    fn next_request(&mut self) -> Result<Option<RequestSpec>, DataError> {
        (**self).next_request()
    }
}

/// One shard's requests of a source: of every `count` requests in the
/// source's order, the one at `index`. The source still makes every
/// request (so request i is the same whatever the shard layout: seeds
/// follow the source's order); only this shard's are handed on.
pub struct Sharded<S> {
    inner: S,
    index: u64,
    count: u64,
    next: u64,
}

impl<S> std::fmt::Debug for Sharded<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharded")
            .field("index", &self.index)
            .field("count", &self.count)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<S: RequestSource> Sharded<S> {
    /// Shard `index` of `count` (`index < count`).
    pub fn new(inner: S, index: u64, count: u64) -> Self {
        Sharded {
            inner,
            index,
            count: count.max(1),
            next: 0,
        }
    }
}

impl<S: RequestSource> RequestSource for Sharded<S> {
    fn next_request(&mut self) -> Result<Option<RequestSpec>, DataError> {
        loop {
            let i = self.next;
            let spec = self.inner.next_request()?;
            self.next += 1;
            match spec {
                None => return Ok(None),
                Some(s) if i % self.count == self.index => return Ok(Some(s)),
                Some(_) => {}
            }
        }
    }
}

impl RequestSource for SyntheticSource {
    fn next_request(&mut self) -> Result<Option<RequestSpec>, DataError> {
        self.next_spec().map(Some)
    }
}

/// The data of a run: how to make each benchmark's request source.
#[derive(Clone, Debug)]
pub enum DataPlan {
    /// Synthetic prompts of drawn lengths (`--data "prompt_tokens=…"`).
    Synthetic {
        /// Cuts exact-length prompts.
        builder: PromptBuilder,
        /// Length distributions.
        spec: SyntheticSpec,
        /// `--random-seed`.
        seed: u64,
    },
    /// Rows of a dataset file, cycled.
    Dataset {
        /// The loaded rows.
        dataset: Dataset,
        /// `--data-samples` (all when `None`).
        samples: Option<usize>,
        /// Seed of the shuffle (`--data-sampler shuffle`), in file order when `None`.
        shuffle_seed: Option<u64>,
    },
}

impl DataPlan {
    /// Whether requests come as multi-turn conversations.
    pub fn multi_turn(&self) -> bool {
        matches!(self, DataPlan::Synthetic { spec, .. } if spec.conversation.multi_turn())
    }

    /// The requests of benchmark `bench` (1-based) of the run.
    pub fn source(&self, bench: u64) -> Box<dyn RequestSource> {
        match self {
            DataPlan::Synthetic {
                builder,
                spec,
                seed,
            } => Box::new(SyntheticSource::new(
                builder.clone(),
                spec.clone(),
                *seed,
                bench,
            )),
            DataPlan::Dataset {
                dataset,
                samples,
                shuffle_seed,
            } => Box::new(dataset.source(*samples, *shuffle_seed)),
        }
    }
}

/// One request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    /// The prompt text.
    pub prompt: String,
    /// Tokens the prompt was built to (special tokens included), when known.
    pub prompt_tokens: Option<u64>,
    /// Output tokens to ask for (`max_tokens` with `ignore_eos`), if any.
    pub output_tokens: Option<u64>,
    /// Words in the prompt (Python's `len(text.split())`).
    pub prompt_words: u64,
    /// Characters in the prompt (Unicode scalar values).
    pub prompt_chars: u64,
    /// A system prompt (sent as a system message, or prepended for completions).
    pub system: Option<String>,
    /// Chat messages to send as they are (datasets with a `messages` column).
    pub messages: Option<serde_json::Value>,
    /// The later turns, when this is the first turn of a conversation.
    pub follow_ups: Option<Box<FollowUps>>,
}

/// The turns after the first of a multi-turn conversation. Each is sent
/// once the turn before it has been answered (and `delay` has passed),
/// with the conversation so far as its history: the system prompt, every
/// earlier user message and the server's actual reply to each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUps {
    /// Each later turn's new user message (`prompt_tokens`: its own tokens,
    /// not the history's).
    pub turns: Vec<RequestSpec>,
    /// Think time between a reply and the next turn.
    pub delay: std::time::Duration,
}

impl RequestSpec {
    /// A spec, with the prompt's words and characters counted.
    pub fn new(prompt: String, prompt_tokens: Option<u64>, output_tokens: Option<u64>) -> Self {
        let (prompt_words, prompt_chars) = count_words_chars(&prompt);
        RequestSpec {
            prompt,
            prompt_tokens,
            output_tokens,
            prompt_words,
            prompt_chars,
            system: None,
            messages: None,
            follow_ups: None,
        }
    }
}

/// A file's extension in lower case (`""` when it has none).
fn extension(path: &std::path::Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Python's `str.isspace`, which `str.split()` splits on.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Words (runs of non-whitespace, as Python's `str.split()`) and characters.
pub fn count_words_chars(s: &str) -> (u64, u64) {
    let (mut words, mut chars, mut in_word) = (0u64, 0u64, false);
    for c in s.chars() {
        chars += 1;
        let space = is_py_space(c);
        if !space && !in_word {
            words += 1;
        }
        in_word = !space;
    }
    (words, chars)
}

/// A data problem, with the flag, key or file it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError(String);

impl DataError {
    /// An error with a one-line message.
    pub fn new(msg: impl Into<String>) -> Self {
        DataError(msg.into())
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod corpus_size_tests {
    use super::*;

    #[test]
    fn short_prompts_take_a_paragraph_cut_prefix_long_ones_the_whole_book() {
        let short = builtin_corpus_for(128);
        assert!(short.len() >= 128 << 10 && short.len() < BUILTIN_CORPUS.len());
        assert!(BUILTIN_CORPUS.starts_with(short));
        assert!(BUILTIN_CORPUS[short.len()..].starts_with('\n'));
        let mid = builtin_corpus_for(2048);
        assert!(mid.len() >= 2048 * 160 && mid.len() > short.len());
        assert_eq!(builtin_corpus_for(10_240), BUILTIN_CORPUS);
        assert_eq!(builtin_corpus_for(u64::MAX), BUILTIN_CORPUS);
    }
}

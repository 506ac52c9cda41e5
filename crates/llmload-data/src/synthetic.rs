//! Synthetic requests: prompts of exact token counts cut from a corpus, each
//! opening with a unique prefix, lengths drawn from the spec.

use std::collections::HashMap;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokenizers::{Model, OffsetReferential, OffsetType, PreTokenizer, Tokenizer};

use crate::conversation::ConversationSpec;
use crate::corpus::Corpus;
use crate::spec::SyntheticSpec;
use crate::{DataError, FollowUps, RequestSpec};

/// Attempts at a random start before giving up on a length.
const TRIES: usize = 256;

/// Builds prompts of exactly N tokens (special tokens included, as GuideLLM
/// counts them) from a pre-tokenized corpus.
#[derive(Clone)]
pub struct PromptBuilder {
    tokenizer: Arc<Tokenizer>,
    corpus: Arc<Corpus>,
    specials: u64,
}

impl std::fmt::Debug for PromptBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptBuilder")
            .field("corpus_tokens", &self.corpus.tokens())
            .field("specials", &self.specials)
            .finish()
    }
}

impl PromptBuilder {
    /// Tokenize `corpus_text` once with `tokenizer`.
    pub fn new(tokenizer: Arc<Tokenizer>, corpus_text: String) -> Result<Self, DataError> {
        let corpus = Corpus::build(corpus_text, &tokenizer)?;
        if corpus.tokens() < 64 {
            return Err(DataError::new(
                "the prompt source holds fewer than 64 tokens",
            ));
        }
        let specials = tokenizer
            .encode("", true)
            .map_err(|e| DataError::new(format!("tokenizer: {e}")))?
            .len() as u64;
        Ok(PromptBuilder {
            tokenizer,
            corpus: Arc::new(corpus),
            specials,
        })
    }

    /// Special tokens the tokenizer adds to every encoding (BOS: 1 for Llama 3).
    pub fn special_tokens(&self) -> u64 {
        self.specials
    }

    /// Tokens in the corpus.
    pub fn corpus_tokens(&self) -> u64 {
        self.corpus.tokens()
    }

    /// Tokens in `s` without special tokens: `encode(s, false).len()`, taken
    /// through the same pipeline (added tokens, normalizer, pre-tokenizer,
    /// model) without building an `Encoding` (ids, offsets, masks) from it.
    fn tokens(&self, s: &str) -> u64 {
        let t = &*self.tokenizer;
        let mut pre = t
            .get_added_vocabulary()
            .extract_and_normalize(t.get_normalizer(), s);
        if let Some(p) = t.get_pre_tokenizer() {
            if p.pre_tokenize(&mut pre).is_err() {
                return u64::MAX;
            }
        }
        if pre.tokenize(|n| t.get_model().tokenize(n.get())).is_err() {
            return u64::MAX;
        }
        pre.get_splits(OffsetReferential::Original, OffsetType::Byte)
            .iter()
            .map(|(_, _, toks)| toks.as_ref().map_or(0, Vec::len) as u64)
            .sum()
    }

    /// A prompt that encodes to exactly `n` tokens, starting with `prefix`
    /// when it fits, its body cut at a position drawn from `rng`.
    pub fn build(&self, n: u64, prefix: &str, rng: &mut ChaCha8Rng) -> Result<String, DataError> {
        self.build_counted(n, prefix, rng).map(|p| p.prompt)
    }

    /// As [`PromptBuilder::build`], with the prompt's words and characters
    /// counted from the corpus tables (no scan of the prompt).
    pub fn build_counted(
        &self,
        n: u64,
        prefix: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<RequestSpec, DataError> {
        self.build_hinted(n, prefix, rng, &mut Memo::default())
    }

    /// As [`PromptBuilder::build_counted`], with what earlier prompts of the
    /// same source learnt (`memo`, updated here): a guess of the prefix's token
    /// count (the previous prefix's) and the verdicts of earlier tail checks.
    /// A guess is never trusted: the junction encode proves `prefix + first
    /// unit` is worth `guess + its corpus count`, so the prompt is exact either
    /// way; a wrong guess costs one standalone encode of the prefix and a retry.
    /// A tail verdict is a pure function of the tail's text, so it is reused.
    fn build_hinted(
        &self,
        n: u64,
        prefix: &str,
        rng: &mut ChaCha8Rng,
        memo: &mut Memo,
    ) -> Result<RequestSpec, DataError> {
        let k = n.saturating_sub(self.specials);
        if k == 0 {
            return Ok(RequestSpec::new(String::new(), Some(n), None));
        }
        let mut guess = match memo.prefix_tokens {
            Some(p) => p,
            None => self.tokens(prefix),
        };
        let mut measured = memo.prefix_tokens.is_none();
        let c = &self.corpus;
        let mut junction = String::with_capacity(64);
        for _ in 0..TRIES {
            let (used, p, body) = if k > guess {
                (prefix, guess, k - guess)
            } else {
                ("", 0, k)
            };
            let last = c.last_start_for(body).ok_or_else(|| {
                DataError::new(format!(
                    "prompt_tokens={n} is more than the prompt source holds ({} tokens); use a larger source",
                    c.tokens()
                ))
            })?;
            let mut u = rng.random_range(0..=last);
            while u <= last && !c.is_start(u) {
                u += 1;
            }
            if u > last {
                continue;
            }
            let Some(e) = c.exact_end(u, body) else {
                continue;
            };
            // Junctions: the prefix followed by the first unit, and the last
            // units at the end of the string, must encode as in the corpus.
            let head = (u + 1).min(e);
            junction.clear();
            junction.push_str(used);
            junction.push_str(c.slice(u, head));
            if self.tokens(&junction) != p + c.count(u, head) {
                if !used.is_empty() && !measured {
                    measured = true;
                    guess = self.tokens(prefix);
                }
                continue;
            }
            let tail = e.saturating_sub(2).max(head);
            if tail < e {
                let text = c.slice(tail, e);
                let ok = match memo.tails.get(text) {
                    Some(&ok) => ok,
                    None => {
                        let ok = self.tokens(text) == c.count(tail, e);
                        memo.tails.insert(text.into(), ok);
                        ok
                    }
                };
                if !ok {
                    continue;
                }
            }
            memo.prefix_tokens = Some(guess);
            let mut prompt = String::with_capacity(used.len() + c.slice(u, e).len());
            prompt.push_str(used);
            prompt.push_str(c.slice(u, e));
            let (pw, pc) = crate::count_words_chars(used);
            return Ok(RequestSpec {
                prompt,
                prompt_tokens: Some(n),
                output_tokens: None,
                prompt_words: pw + c.words(u, e),
                prompt_chars: pc + c.chars(u, e),
                system: None,
                messages: None,
                follow_ups: None,
            });
        }
        Err(DataError::new(format!(
            "could not cut a prompt of exactly {n} tokens from the prompt source"
        )))
    }
}

/// An endless sequence of synthetic requests. Benchmark `b` of a run (1-based)
/// gets prefixes `"b-0:"`, `"b-1:"`, ... and its own seeded lengths, so every
/// prompt of a run is unique and the same seed gives the same prompts.
#[derive(Debug)]
pub struct SyntheticSource {
    builder: PromptBuilder,
    spec: SyntheticSpec,
    bench: u64,
    index: u64,
    prompt_rng: ChaCha8Rng,
    output_rng: ChaCha8Rng,
    offset_rng: ChaCha8Rng,
    memo: Memo,
    /// Conversations: their own draws, apart from the single-turn ones so
    /// that a spec without conversation keys draws exactly as before.
    turns: Option<Box<TurnDraws>>,
}

/// The draws of multi-turn conversations and shared prefixes.
#[derive(Debug)]
struct TurnDraws {
    first_prompt_rng: ChaCha8Rng,
    first_output_rng: ChaCha8Rng,
    delay_rng: ChaCha8Rng,
    prefix_rng: ChaCha8Rng,
    /// Each bucket's prefixes, built on first use.
    prefixes: Option<Vec<Vec<String>>>,
}

/// What a source's earlier prompts learnt about the tokenizer.
#[derive(Debug, Default)]
struct Memo {
    /// The last prefix's token count, a guess for the next one.
    prefix_tokens: Option<u64>,
    /// Tail texts already checked, and whether each encodes to its corpus
    /// count. English repeats its word pairs, so most tails are met again.
    tails: HashMap<Box<str>, bool>,
}

impl SyntheticSource {
    /// Requests for benchmark `bench` (1-based) of a run seeded with `seed`.
    pub fn new(builder: PromptBuilder, spec: SyntheticSpec, seed: u64, bench: u64) -> Self {
        let s = seed.wrapping_add(bench);
        SyntheticSource {
            builder,
            bench,
            index: 0,
            prompt_rng: ChaCha8Rng::seed_from_u64(s),
            output_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(1)),
            offset_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(3)),
            memo: Memo::default(),
            turns: {
                let c = &spec.conversation;
                (c.multi_turn() || !c.prefixes.is_empty()).then(|| {
                    Box::new(TurnDraws {
                        delay_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(2)),
                        first_prompt_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(4)),
                        first_output_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(5)),
                        prefix_rng: ChaCha8Rng::seed_from_u64(s.wrapping_add(6)),
                        prefixes: None,
                    })
                })
            },
            spec,
        }
    }

    /// The next request (the first turn of a conversation, with its later
    /// turns, when the spec asks for several).
    pub fn next_spec(&mut self) -> Result<RequestSpec, DataError> {
        let Some(mut draws) = self.turns.take() else {
            return self.next_turn(None);
        };
        let result = self.next_conversation(&mut draws);
        self.turns = Some(draws);
        result
    }

    /// One turn's new user message: its length from `first` (turn 0's
    /// distributions and draws) or the plain ones, its text opening with the
    /// source's unique marker.
    fn next_turn(&mut self, first: Option<&mut TurnDraws>) -> Result<RequestSpec, DataError> {
        let c = &self.spec.conversation;
        let (n, output_tokens) = match first {
            Some(d) => (
                match c.first_prompt {
                    Some(p) => p.sample(&mut d.first_prompt_rng),
                    None => self.spec.prompt.sample(&mut self.prompt_rng),
                },
                match (c.first_output, self.spec.output) {
                    (Some(o), _) => Some(o.sample(&mut d.first_output_rng)),
                    (None, o) => o.map(|o| o.sample(&mut self.output_rng)),
                },
            ),
            None => (
                self.spec.prompt.sample(&mut self.prompt_rng),
                self.spec.output.map(|o| o.sample(&mut self.output_rng)),
            ),
        };
        let prefix = format!("{}-{}:", self.bench, self.index);
        self.index += 1;
        let mut spec =
            self.builder
                .build_hinted(n, &prefix, &mut self.offset_rng, &mut self.memo)?;
        spec.output_tokens = output_tokens;
        Ok(spec)
    }

    fn next_conversation(&mut self, d: &mut TurnDraws) -> Result<RequestSpec, DataError> {
        let c = (*self.spec.conversation).clone();
        let system = self.prefix(d, &c)?;
        let mut first = self.next_turn(Some(d))?;
        first.system = system;
        if c.multi_turn() {
            let delay = c.delay.map_or(0.0, |x| x.sample(&mut d.delay_rng));
            let turns = (1..c.turns)
                .map(|_| self.next_turn(None))
                .collect::<Result<Vec<_>, _>>()?;
            first.follow_ups = Some(Box::new(FollowUps {
                turns,
                delay: std::time::Duration::from_secs_f64(delay),
            }));
        }
        Ok(first)
    }

    /// A conversation's shared prefix: one of the buckets' prefixes, the
    /// bucket drawn by weight, the prefix uniformly in it (`None` without
    /// buckets).
    fn prefix(
        &mut self,
        d: &mut TurnDraws,
        c: &ConversationSpec,
    ) -> Result<Option<String>, DataError> {
        if c.prefixes.is_empty() {
            return Ok(None);
        }
        if d.prefixes.is_none() {
            let mut built = Vec::with_capacity(c.prefixes.len());
            for b in &c.prefixes {
                let texts = (0..b.count)
                    .map(|_| match b.tokens {
                        0 => Ok(String::new()),
                        n => self.builder.build(n, "", &mut d.prefix_rng),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                built.push(texts);
            }
            d.prefixes = Some(built);
        }
        let (u, v) = (d.prefix_rng.random::<f64>(), d.prefix_rng.random::<f64>());
        let Some((bucket, k)) = c.pick_prefix(u, v) else {
            return Ok(None);
        };
        let text = &d.prefixes.as_ref().expect("built")[bucket][k as usize];
        Ok((!text.is_empty()).then(|| text.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_count_equals_a_full_encode() {
        for name in ["qwen2.5", "llama-3", "gpt2"] {
            let dir = format!("{}/tokenizers/{name}", env!("LLMLOAD_SHARED"));
            let tok = Arc::new(crate::tokenizer::load(&dir).unwrap());
            let b = PromptBuilder::new(Arc::clone(&tok), crate::BUILTIN_CORPUS[..20_000].into())
                .unwrap();
            for s in [
                "",
                "1-0: It",
                "12-123456: is a truth",
                "  spaces\n\nand\ttabs  ",
                "<|endoftext|> <|im_start|>user<|im_end|> <|begin_of_text|>",
                "naïve café 東京 ต้ม 🙂 don't 12345678",
            ] {
                let full = tok.encode(s, false).unwrap().len() as u64;
                assert_eq!(b.tokens(s), full, "{name}: {s:?}");
            }
        }
    }
}

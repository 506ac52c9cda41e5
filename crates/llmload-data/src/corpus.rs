//! A corpus cut into the tokenizer's own pre-tokens, for prompts of exact
//! token counts without re-encoding them.
//!
//! Byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2.5) first split text into
//! pre-tokens with a regex that looks only forward, then merge bytes inside
//! each pre-token. So a contiguous run of the corpus's pre-tokens, starting
//! at a pre-token boundary and not ending in whitespace, encodes to exactly
//! the sum of those pre-tokens' token counts. The corpus is encoded once;
//! every prompt is then a binary search over cumulative counts plus two tiny
//! encodes that check the junctions (prompt prefix + first pre-tokens, and
//! the last pre-tokens at the end of the string).

use tokenizers::Tokenizer;

use crate::DataError;

/// The corpus text and its pre-token table.
#[derive(Debug)]
pub struct Corpus {
    text: String,
    /// Byte offset where each unit (pre-token) starts; one extra entry: `text.len()`.
    starts: Vec<u32>,
    /// `cum[i]` = tokens in units `0..i`.
    cum: Vec<u32>,
    /// Unit `i` may begin a prompt body: a space then a letter.
    ok_start: Vec<bool>,
    /// Unit `i` may end a prompt: its last character is not whitespace.
    ok_end: Vec<bool>,
    /// `chars[i]` = characters in units `0..i`.
    chars: Vec<u32>,
    /// `words[i]` = word starts (a non-space character after a space or the
    /// start of the text) in units `0..i`.
    words: Vec<u32>,
}

impl Corpus {
    /// Encode `text` once with `tokenizer` and record its pre-tokens.
    pub fn build(text: String, tokenizer: &Tokenizer) -> Result<Corpus, DataError> {
        if text.len() >= u32::MAX as usize {
            return Err(DataError::new("the prompt source is larger than 4 GiB"));
        }
        let enc = tokenizer
            .encode(text.as_str(), false)
            .map_err(|e| DataError::new(format!("tokenizing the prompt source: {e}")))?;
        let words = enc.get_word_ids();
        let offsets = enc.get_offsets();
        let mut starts = Vec::with_capacity(words.len());
        let mut cum = vec![0u32];
        let mut prev: Option<u32> = None;
        for (i, w) in words.iter().enumerate() {
            if i == 0 || *w != prev || w.is_none() {
                starts.push(offsets[i].0 as u32);
                cum.push(*cum.last().expect("non-empty") + 1);
            } else {
                *cum.last_mut().expect("non-empty") += 1;
            }
            prev = *w;
        }
        if starts.first() != Some(&0) && !starts.is_empty() {
            starts[0] = 0;
        }
        starts.push(text.len() as u32);
        // Offsets of tokens inside a multi-byte character can repeat; keep
        // units non-empty and on character boundaries.
        for i in 1..starts.len() {
            if starts[i] < starts[i - 1] {
                starts[i] = starts[i - 1];
            }
            while !text.is_char_boundary(starts[i] as usize) {
                starts[i] += 1;
            }
        }
        let n = starts.len() - 1;
        let mut ok_start = Vec::with_capacity(n);
        let mut ok_end = Vec::with_capacity(n);
        let (mut chars, mut words) = (vec![0u32], vec![0u32]);
        let mut prev_space = true;
        for i in 0..n {
            let unit = &text[starts[i] as usize..starts[i + 1] as usize];
            let (mut c, mut w) = (0u32, 0u32);
            for ch in unit.chars() {
                c += 1;
                let space = crate::is_py_space(ch);
                w += (!space && prev_space) as u32;
                prev_space = space;
            }
            chars.push(chars[i] + c);
            words.push(words[i] + w);
            let mut chars = unit.chars();
            let first = chars.next();
            let second = chars.next();
            ok_start.push(first == Some(' ') && second.is_some_and(char::is_alphabetic));
            ok_end
                .push(unit.chars().last().is_some_and(|c| !c.is_whitespace()) && !unit.is_empty());
        }
        Ok(Corpus {
            text,
            starts,
            cum,
            ok_start,
            ok_end,
            chars,
            words,
        })
    }

    /// Units (pre-tokens) in the corpus.
    pub fn units(&self) -> usize {
        self.starts.len() - 1
    }

    /// Tokens in the whole corpus.
    pub fn tokens(&self) -> u64 {
        *self.cum.last().unwrap_or(&0) as u64
    }

    /// Text of units `u..e`.
    pub fn slice(&self, u: usize, e: usize) -> &str {
        &self.text[self.starts[u] as usize..self.starts[e] as usize]
    }

    /// Tokens in units `u..e`.
    pub fn count(&self, u: usize, e: usize) -> u64 {
        (self.cum[e] - self.cum[u]) as u64
    }

    /// Characters in units `u..e`.
    pub fn chars(&self, u: usize, e: usize) -> u64 {
        (self.chars[e] - self.chars[u]) as u64
    }

    /// Words (Python's `len(text.split())`) in units `u..e`, when unit `u`
    /// starts with whitespace (as every prompt body does).
    pub fn words(&self, u: usize, e: usize) -> u64 {
        (self.words[e] - self.words[u]) as u64
    }

    /// Whether unit `u` can start a body that follows a prefix.
    pub fn is_start(&self, u: usize) -> bool {
        self.ok_start[u]
    }

    /// The unit `e` such that units `u..e` hold exactly `k` tokens and end
    /// cleanly, if there is one.
    pub fn exact_end(&self, u: usize, k: u64) -> Option<usize> {
        let target = self.cum[u] as u64 + k;
        if target > self.tokens() {
            return None;
        }
        let e = self.cum.partition_point(|&c| (c as u64) < target);
        (e < self.cum.len() && self.cum[e] as u64 == target && e > u && self.ok_end[e - 1])
            .then_some(e)
    }

    /// The last unit a body of `k` tokens may start at.
    pub fn last_start_for(&self, k: u64) -> Option<usize> {
        let total = self.tokens();
        if k > total {
            return None;
        }
        let limit = total - k;
        Some(
            self.cum
                .partition_point(|&c| c as u64 <= limit)
                .saturating_sub(1)
                .min(self.units() - 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_cover_the_text_and_counts_add_up() {
        let tok = Tokenizer::from_file(concat!(
            env!("LLMLOAD_SHARED"),
            "/tokenizers/gpt2/tokenizer.json"
        ))
        .unwrap();
        let text = "It is a truth universally acknowledged.\n\n“My dear Mr. Bennet,” said his lady. 12345 apples!".to_string();
        let c = Corpus::build(text.clone(), &tok).unwrap();
        assert_eq!(c.slice(0, c.units()), text);
        assert_eq!(
            c.tokens() as usize,
            tok.encode(text.as_str(), false).unwrap().len()
        );
        // Counts of characters and words per run match a direct count.
        for u in (0..c.units()).filter(|&u| c.is_start(u)) {
            let e = c.units();
            let (w, ch) = crate::count_words_chars(c.slice(u, e));
            assert_eq!(
                (c.words(u, e), c.chars(u, e)),
                (w, ch),
                "{:?}",
                c.slice(u, e)
            );
        }
        // Every clean run re-encodes to its count.
        for u in 0..c.units() {
            for k in 1..=8 {
                if let Some(e) = c.exact_end(u, k) {
                    let n = tok.encode(c.slice(u, e), false).unwrap().len() as u64;
                    assert_eq!(n, k, "{:?}", c.slice(u, e));
                }
            }
        }
    }
}

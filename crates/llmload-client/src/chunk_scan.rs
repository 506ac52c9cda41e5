//! The fast path of [`crate::openai::parse_chunk`]: one validating pass over
//! a chunk's JSON that picks out what a [`Chunk`] holds, with no generic
//! deserializer machinery and no copies of unescaped strings.
//!
//! It answers only when it understood the whole input; anything unusual (an
//! error payload, a duplicated or escaped key, a number out of range, invalid
//! UTF-8, deep nesting) gives `None` and the caller parses with serde. The
//! fuzz target `chunk` checks that whenever this answers, serde accepts the
//! same bytes and reports the same chunk.

use std::borrow::Cow;

use crate::openai::{Chunk, PromptTokensDetails, RawChoice as Choice, RawDelta as Delta, Usage};

/// Nesting depth beyond which skipping gives up (serde_json allows 128).
const MAX_DEPTH: u32 = 64;

/// The chunk in `data`, or `None` to let serde decide.
pub(crate) fn scan(data: &[u8]) -> Option<Chunk<'_>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut p = Scanner {
        s: data,
        t: text,
        i: 0,
    };
    let mut chunk = Chunk::default();
    let mut choice: Option<Choice<'_>> = None;
    let mut seen = Seen::default();
    p.object(|p, key| {
        match key {
            b"id" => {
                seen.once(0)?;
                chunk.id = p.opt_str()?;
            }
            b"choices" => {
                seen.once(1)?;
                choice = p.choices()?;
            }
            b"usage" => {
                seen.once(2)?;
                chunk.usage = p.usage()?;
            }
            // Error payloads take serde's path.
            b"error" => {
                seen.once(3)?;
                p.null()?;
            }
            b"object" => {
                seen.once(4)?;
                if p.opt_str()?.as_deref() == Some("error") {
                    return None;
                }
            }
            b"message" => {
                seen.once(5)?;
                p.opt_str()?;
            }
            _ => p.skip(0)?,
        }
        Some(())
    })?;
    p.ws();
    if p.i != data.len() {
        return None;
    }
    if let Some(c) = choice {
        chunk.take_choice(c);
    }
    Some(chunk)
}

/// Keys already met in one object (a repeated key goes to serde, which rejects it).
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn once(&mut self, bit: u8) -> Option<()> {
        let mask = 1u8 << bit;
        if self.0 & mask != 0 {
            return None;
        }
        self.0 |= mask;
        Some(())
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    /// The same bytes, known to be UTF-8.
    t: &'a str,
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        self.s[self.i..].starts_with(w).then(|| self.i += w.len())
    }

    fn null(&mut self) -> Option<()> {
        self.ws();
        self.word(b"null")
    }

    /// An object, calling `field` with each (unescaped) key once the parser
    /// stands on its value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let (key, escaped) = self.raw_str()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string's raw bytes (between the quotes) and whether it has escapes;
    /// escapes are checked, control characters refused.
    fn raw_str(&mut self) -> Option<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Strings here are short (a token, an id): a plain scan beats memchr.
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            match self.s.get(self.i)? {
                b'"' | b'\\' => {}
                _ => return None,
            }
            if self.s[self.i] == b'"' {
                let raw = &self.s[start..self.i];
                self.i += 1;
                return Some((raw, escaped));
            }
            escaped = true;
            match self.s.get(self.i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                b'u' => {
                    let hex = self.s.get(self.i + 2..self.i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.i += 6;
                }
                _ => return None,
            }
        }
    }

    /// A string value, borrowed when it has no escapes.
    fn str_val(&mut self) -> Option<Cow<'a, str>> {
        let (raw, escaped) = self.raw_str()?;
        let start = raw.as_ptr() as usize - self.s.as_ptr() as usize;
        // Quotes are ASCII, so both ends are character boundaries.
        let text = &self.t[start..start + raw.len()];
        if escaped {
            unescape(text).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(text))
        }
    }

    /// `null` or a string. The outer `None` means "not understood".
    fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'n' => self.null().map(|_| None),
            b'"' => self.str_val().map(Some),
            _ => None,
        }
    }

    /// `null` or a whole number that fits a `u64`.
    fn opt_u64(&mut self) -> Option<Option<u64>> {
        match self.peek()? {
            b'n' => self.null().map(|_| None),
            b'0'..=b'9' => {
                let digits = self.number()?;
                if digits.len() > 1 && digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                digits
                    .iter()
                    .try_fold(0u64, |n, &d| {
                        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                    })
                    .map(Some)
            }
            _ => None,
        }
    }

    /// A JSON number, by its grammar; returns its text.
    fn number(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            (p.i > from).then_some(())
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(&self.s[start..self.i])
    }

    /// Any value, checked and skipped.
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.raw_str().map(|_| ()),
            b'{' => self.object(|p, _| p.skip(depth + 1)),
            b'[' => self.array(|p| p.skip(depth + 1)),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => None,
        }
    }

    /// An array, calling `element` for each element.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `null` or a list whose first element is a choice object (the rest skipped).
    fn choices(&mut self) -> Option<Option<Choice<'a>>> {
        if self.peek()? == b'n' {
            return self.null().map(|_| None);
        }
        let mut first = None;
        self.array(|p| {
            if first.is_some() {
                return p.skip(1);
            }
            let mut c = Choice::default();
            let mut seen = Seen::default();
            p.object(|p, key| {
                match key {
                    b"text" => {
                        seen.once(0)?;
                        c.text = p.opt_str()?;
                    }
                    b"delta" => {
                        seen.once(1)?;
                        c.delta = p.delta()?;
                    }
                    b"message" => {
                        seen.once(2)?;
                        c.message = p.delta()?;
                    }
                    _ => p.skip(2)?,
                }
                Some(())
            })?;
            first = Some(c);
            Some(())
        })?;
        Some(first)
    }

    /// `null` or a delta/message object.
    fn delta(&mut self) -> Option<Option<Delta<'a>>> {
        if self.peek()? == b'n' {
            return self.null().map(|_| None);
        }
        let mut d = Delta::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key {
                b"content" => {
                    seen.once(0)?;
                    d.content = p.opt_str()?;
                }
                b"reasoning_content" => {
                    seen.once(1)?;
                    d.reasoning_content = p.opt_str()?;
                }
                b"reasoning" => {
                    seen.once(2)?;
                    d.reasoning = p.opt_str()?;
                }
                _ => p.skip(3)?,
            }
            Some(())
        })?;
        Some(Some(d))
    }

    /// `null` or a usage object.
    fn usage(&mut self) -> Option<Option<Usage>> {
        if self.peek()? == b'n' {
            return self.null().map(|_| None);
        }
        let mut u = Usage::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key {
                b"prompt_tokens" => {
                    seen.once(0)?;
                    u.prompt_tokens = p.opt_u64()?;
                }
                b"completion_tokens" => {
                    seen.once(1)?;
                    u.completion_tokens = p.opt_u64()?;
                }
                b"prompt_tokens_details" => {
                    seen.once(2)?;
                    u.prompt_tokens_details = p.prompt_tokens_details()?;
                }
                _ => p.skip(2)?,
            }
            Some(())
        })?;
        Some(Some(u))
    }

    /// `null` or `{"cached_tokens": N, ...}`.
    fn prompt_tokens_details(&mut self) -> Option<Option<PromptTokensDetails>> {
        if self.peek()? == b'n' {
            return self.null().map(|_| None);
        }
        let mut d = PromptTokensDetails::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key {
                b"cached_tokens" => {
                    seen.once(0)?;
                    d.cached_tokens = p.opt_u64()?;
                }
                _ => p.skip(3)?,
            }
            Some(())
        })?;
        Some(Some(d))
    }
}

/// The text of a JSON string body with escapes; `None` for a lone surrogate.
fn unescape(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        out.push_str(&raw[i..i + k]);
        i += k;
        let c = match b[i + 1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                let hi = hex4(&raw[i + 2..i + 6])?;
                i += 6;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        if b.get(i..i + 2) != Some(b"\\u") {
                            return None;
                        }
                        let lo = hex4(raw.get(i + 2..i + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => hi,
                };
                out.push(char::from_u32(code)?);
                continue;
            }
        };
        out.push(c);
        i += 2;
    }
    out.push_str(&raw[i..]);
    Some(out)
}

fn hex4(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_chunk_serde;

    fn same(data: &str) {
        let fast = scan(data.as_bytes()).unwrap_or_else(|| panic!("fast path refused {data}"));
        let slow = parse_chunk_serde(data.as_bytes()).expect("serde parses it");
        assert_eq!(fast, slow, "{data}");
    }

    #[test]
    fn vllm_captures_take_the_fast_path_and_agree_with_serde() {
        let dir = concat!(env!("LLMLOAD_SHARED"), "/fixtures/vllm-0.32-wire");
        let mut n = 0;
        for name in [
            "chat_stream.sse",
            "completions_stream.sse",
            "chat_stream_continuous_usage.sse",
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("fixture");
            for data in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
                if data != "[DONE]" {
                    same(data);
                    n += 1;
                }
            }
        }
        for name in ["chat_nonstream.json", "completions_nonstream.json"] {
            same(&std::fs::read_to_string(format!("{dir}/{name}")).expect("fixture"));
            n += 1;
        }
        assert!(n > 20, "only {n} chunks in the captures");
    }

    #[test]
    fn escapes_are_decoded_like_serde() {
        same(r#"{"choices":[{"delta":{"content":"a\tb\n\"q\" \\ \/ \u00e9 \ud83d\ude00"}}]}"#);
        same(r#" { "id" : "x" , "choices" : [ { "text" : "t" } , {"text": 5} ] } "#);
        same(
            r#"{"choices":null,"usage":{"prompt_tokens":0,"completion_tokens":18446744073709551615}}"#,
        );
        same(r#"{"choices":[],"usage":null,"x":{"a":[1,-2.5e+3,true,false,null,{}]}}"#);
        same(
            r#"{"choices":[],"usage":{"prompt_tokens":64,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":48,"audio_tokens":null}}}"#,
        );
        same(r#"{"choices":[],"usage":{"prompt_tokens":64,"prompt_tokens_details":null}}"#);
    }

    #[test]
    fn unusual_input_goes_to_serde() {
        for data in [
            r#"{"error":{"message":"boom"}}"#,
            r#"{"object":"error","message":"boom"}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"i\u0064":"a"}"#,
            r#"{"choices":[{"delta":{"content":"\ud800"}}]}"#,
            r#"{"usage":{"prompt_tokens":1.0}}"#,
            r#"{"usage":{"prompt_tokens":-1}}"#,
            r#"{"usage":{"prompt_tokens":18446744073709551616}}"#,
            r#"{"created":01}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":"tab	inside"}"#,
            r#"{} x"#,
            r#"["id"]"#,
        ] {
            assert!(scan(data.as_bytes()).is_none(), "{data}");
        }
        assert!(scan(b"{\"a\":\"\xff\"}").is_none());
    }
}

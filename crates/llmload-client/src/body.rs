//! Response bodies: whole bodies read to a limit, the message of an error
//! body, and word/character counts of text that arrives in pieces.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::openai;

/// Python's `str.isspace` for the word count of `len(text.split())`.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Counts words and characters of a text that arrives in pieces.
#[derive(Default)]
pub(crate) struct TextCounter {
    in_word: bool,
    pub(crate) words: u64,
    pub(crate) chars: u64,
}

impl TextCounter {
    pub(crate) fn add(&mut self, s: &str) {
        for c in s.chars() {
            self.chars += 1;
            let space = is_py_space(c);
            if !space && !self.in_word {
                self.words += 1;
            }
            self.in_word = !space;
        }
    }
}

/// The message of an error response body: the JSON error's message, else
/// the start of the text.
pub(crate) fn body_message(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => openai::error_message(&v),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let cut: String = text.chars().take(200).collect();
            if cut.is_empty() {
                "(empty body)".into()
            } else {
                cut
            }
        }
    }
}

/// Read a whole body, up to `limit` bytes.
pub(crate) async fn read_all(
    mut body: Incoming,
    timeout: Option<Duration>,
    limit: usize,
) -> Result<Bytes, String> {
    let mut buf = bytes::BytesMut::new();
    loop {
        let frame = match timeout {
            Some(d) => tokio::time::timeout(d, body.frame())
                .await
                .map_err(|_| "timed out".to_string())?,
            None => body.frame().await,
        };
        match frame {
            None => return Ok(buf.freeze()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    if buf.len() + d.len() > limit {
                        return Err(format!("body larger than {limit} bytes"));
                    }
                    buf.extend_from_slice(&d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_and_char_counts_match_python_split_across_pieces() {
        let mut c = TextCounter::default();
        for piece in [" tok", " to", "k\n", "\u{e9}t\u{e9}  ", "x"] {
            c.add(piece);
        }
        // " tok tok\nété  x" -> split() = ["tok", "tok", "été", "x"]
        assert_eq!(c.words, 4);
        assert_eq!(c.chars, " tok tok\n\u{e9}t\u{e9}  x".chars().count() as u64);
    }

    #[test]
    fn error_bodies_give_the_server_message() {
        let vllm = br#"{"error":{"message":"max_tokens must be at least 1, got -3.","type":"BadRequestError","param":"max_tokens","code":400}}"#;
        assert_eq!(body_message(vllm), "max_tokens must be at least 1, got -3.");
        assert_eq!(
            body_message(b"  Internal Server Error \n"),
            "Internal Server Error"
        );
        assert_eq!(body_message(b""), "(empty body)");
    }
}

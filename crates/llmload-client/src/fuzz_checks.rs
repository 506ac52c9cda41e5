//! Properties of the parsers that see server bytes, checked by the fuzz
//! targets in `fuzz/` and, on their saved corpus, by ordinary tests.
//! Each function panics when its property fails.

use llmload_clock::Timestamp;
use serde_json::Value;

use crate::openai;
use crate::sse::SseParser;

/// The events' data and the line count of a stream fed in `pieces` (one read each).
pub fn sse_events(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, u64) {
    let mut p = SseParser::new();
    let mut events = Vec::new();
    let mut on = |d: &[u8], _| events.push(d.to_vec());
    for piece in pieces {
        p.push(piece, Timestamp::default(), &mut on);
    }
    p.finish(Timestamp::default(), &mut on);
    (events, p.lines())
}

/// However a stream is cut into reads, the SSE parser yields the same
/// events and counts the same lines. The first byte of `input` chooses the
/// cut sizes; the rest is the stream.
pub fn sse_split_invariance(input: &[u8]) {
    let Some((&seed, stream)) = input.split_first() else {
        return;
    };
    let whole = sse_events(&[stream]);
    let mut pieces = Vec::new();
    let mut rest = stream;
    let mut i = 0usize;
    while !rest.is_empty() {
        let size = (usize::from(seed.rotate_left(i as u32 % 8)) % 13 + 1).min(rest.len());
        let (a, b) = rest.split_at(size);
        pieces.push(a);
        rest = b;
        i += 1;
    }
    assert_eq!(
        sse_events(&pieces),
        whole,
        "cut into {} reads",
        pieces.len()
    );
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(sse_events(&bytewise), whole, "read byte by byte");
}

/// The chunk parser never panics, its fast path agrees with serde whenever
/// it answers, and when the bytes are a chunk whose first
/// choice has a string `delta.content`, that is the content it reports.
pub fn chunk_parse(input: &[u8]) {
    let parsed = openai::parse_chunk(input);
    // The fast path answers only for what serde reads the same way.
    if let Some(fast) = crate::chunk_scan::scan(input) {
        let slow = openai::parse_chunk_serde(input)
            .unwrap_or_else(|e| panic!("the fast path accepted what serde rejects: {e}"));
        assert_eq!(fast, slow, "fast path and serde disagree");
    }
    if let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(input) {
        let _ = openai::error_message(&Value::Object(v.clone()));
        let content = v
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("delta"))
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str);
        if let (Some(want), Ok(chunk)) = (content, &parsed) {
            if v.get("error").is_none() {
                assert_eq!(chunk.content.as_deref(), Some(want));
            }
        }
    }
}

//! The SSE and chunk parsers against real vLLM 0.32 responses, byte for byte.
//! Every capture is cut at every byte boundary (and fed byte by byte): the
//! events, their data and the line count must not change.

use std::path::{Path, PathBuf};

use llmload_client::openai::{error_message, parse_chunk};

fn wire(name: &str) -> PathBuf {
    Path::new(env!("LLMLOAD_SHARED"))
        .join("fixtures/vllm-0.32-wire")
        .join(name)
}

fn parse(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, u64) {
    llmload_client::fuzz_checks::sse_events(pieces)
}

const CAPTURES: [&str; 3] = [
    "completions_stream.sse",
    "chat_stream.sse",
    "chat_stream_continuous_usage.sse",
];

#[test]
fn every_cut_gives_the_same_events() {
    for name in CAPTURES {
        let bytes = std::fs::read(wire(name)).unwrap();
        let whole = parse(&[&bytes]);
        assert!(whole.0.len() >= 10, "{name}: {} events", whole.0.len());
        assert_eq!(whole.0.last().unwrap().as_slice(), b"[DONE]");
        // Every event is followed by a blank line: 2 lines each.
        assert_eq!(whole.1, 2 * whole.0.len() as u64, "{name}");
        for cut in 0..=bytes.len() {
            let split = parse(&[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(split, whole, "{name} cut at {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse(&singles), whole, "{name} byte by byte");
        // CRLF line ends give the same events too.
        let crlf = String::from_utf8(bytes.clone())
            .unwrap()
            .replace('\n', "\r\n");
        assert_eq!(parse(&[crlf.as_bytes()]), whole, "{name} with CRLF");
    }
}

struct Summary {
    content_chunks: u64,
    text: String,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    id: Option<String>,
}

fn summarize(name: &str) -> Summary {
    let bytes = std::fs::read(wire(name)).unwrap();
    let (events, _) = parse(&[&bytes]);
    let mut s = Summary {
        content_chunks: 0,
        text: String::new(),
        prompt_tokens: None,
        completion_tokens: None,
        id: None,
    };
    for data in events.iter().filter(|d| d.as_slice() != b"[DONE]") {
        let c = parse_chunk(data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(c.error.is_none());
        if s.id.is_none() {
            s.id = c.id.as_deref().map(String::from);
        }
        if c.has_output() {
            s.content_chunks += 1;
            s.text.push_str(c.content.as_deref().unwrap_or(""));
        }
        if let Some(u) = c.usage {
            s.prompt_tokens = u.prompt_tokens;
            s.completion_tokens = u.completion_tokens;
        }
    }
    s
}

#[test]
fn chunks_give_text_tokens_and_usage() {
    // max_tokens 8 on every capture: 8 content chunks, usage says 8.
    let completions = summarize("completions_stream.sse");
    assert_eq!(completions.content_chunks, 8);
    assert_eq!(
        (completions.prompt_tokens, completions.completion_tokens),
        (Some(4), Some(8))
    );
    assert!(completions.text.starts_with("副市长 gerektiğini"));
    assert!(completions.id.unwrap().starts_with("cmpl-"));

    // The chat stream opens with a role-only chunk whose content is "": not a token.
    let chat = summarize("chat_stream.sse");
    assert_eq!(chat.content_chunks, 8);
    assert_eq!(
        (chat.prompt_tokens, chat.completion_tokens),
        (Some(31), Some(8))
    );
    assert!(chat.id.unwrap().starts_with("chatcmpl-"));

    // With continuous usage every chunk carries cumulative usage: the last wins.
    let cont = summarize("chat_stream_continuous_usage.sse");
    assert_eq!(cont.content_chunks, 8);
    assert_eq!(
        (cont.prompt_tokens, cont.completion_tokens),
        (Some(31), Some(8))
    );
}

#[test]
fn non_streamed_bodies_and_error_bodies() {
    let chat = std::fs::read(wire("chat_nonstream.json")).unwrap();
    let c = parse_chunk(&chat).unwrap();
    assert_eq!(c.usage.unwrap().completion_tokens, Some(8));
    assert!(c.content.unwrap().contains("generator"));
    let comp = std::fs::read(wire("completions_nonstream.json")).unwrap();
    let c = parse_chunk(&comp).unwrap();
    assert_eq!(c.usage.unwrap().prompt_tokens, Some(4));
    assert!(c.content.unwrap().contains("Semiconductor"));
    for (file, needle) in [
        ("error_unknown_model.json", "does not exist"),
        (
            "error_prompt_too_long.json",
            "maximum context length is 16384",
        ),
        ("error_bad_param.json", "max_tokens must be at least 1"),
        ("error_bad_json.json", "JSON decode error"),
    ] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(wire(file)).unwrap()).unwrap();
        assert!(
            error_message(&v).contains(needle),
            "{file}: {}",
            error_message(&v)
        );
    }
}

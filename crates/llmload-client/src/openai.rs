//! The OpenAI protocol as vLLM speaks it: request bodies and stream chunks.
//!
//! Bodies are byte-for-byte what GuideLLM 0.4 sends (same keys, same order):
//! `model`, `stream`, `stream_options.include_usage`, then, when an output
//! length is asked, `max_completion_tokens` (chat) or `max_tokens`
//! (completions) with `stop: null` and `ignore_eos: true`, then `messages`
//! or `prompt`. Chunks are parsed with borrowed strings, so token text is
//! not copied unless the caller keeps it.

use std::borrow::Cow;

use bytes::Bytes;
use llmload_metrics::RequestType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Token usage as the server reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    /// Prompt tokens (chat template included).
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    /// Generated tokens.
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    /// `prompt_tokens_details` (vLLM with `--enable-prompt-tokens-details`).
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// `usage.prompt_tokens_details`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PromptTokensDetails {
    /// Prompt tokens served from the server's prefix cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// What one stream chunk (or a whole non-streamed body) carried.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Response id (`chatcmpl-…` / `cmpl-…`).
    pub id: Option<Cow<'a, str>>,
    /// Output text of the first choice (`delta.content` or `text`).
    pub content: Option<Cow<'a, str>>,
    /// Whether the first choice carried reasoning text (counted as output).
    pub reasoning: bool,
    /// Usage, when this chunk carried it.
    pub usage: Option<Usage>,
    /// An error payload's message, when the chunk is an error.
    pub error: Option<String>,
}

impl Chunk<'_> {
    /// Whether this chunk carried output (text or reasoning): one "token
    /// iteration" in GuideLLM's terms.
    pub fn has_output(&self) -> bool {
        self.reasoning || self.content.as_deref().is_some_and(|c| !c.is_empty())
    }
}

#[derive(Deserialize)]
struct RawChunk<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: FirstChoice<'a>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    message: Option<Cow<'a, str>>,
}

#[derive(Default, Deserialize)]
pub(crate) struct RawChoice<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub(crate) text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) delta: Option<RawDelta<'a>>,
    #[serde(borrow, default)]
    pub(crate) message: Option<RawDelta<'a>>,
}

#[derive(Default, Deserialize)]
pub(crate) struct RawDelta<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub(crate) content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub(crate) reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub(crate) reasoning: Option<Cow<'a, str>>,
}

/// The first element of `choices`, without allocating a vector for them.
#[derive(Default)]
struct FirstChoice<'a>(Option<RawChoice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = FirstChoice<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of choices")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(FirstChoice(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<RawChoice<'a>>()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `Option<Cow<str>>` that borrows from the input when the string has no
/// escapes (serde's own impl always allocates inside an `Option`).
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrow<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrow<'a>>::deserialize(d)?.map(|b| b.0))
}

/// Parse one chunk's JSON (a stream event's data, or a non-streamed body).
/// The common shapes take a single validating scan; anything else, serde.
pub fn parse_chunk(data: &[u8]) -> Result<Chunk<'_>, serde_json::Error> {
    match crate::chunk_scan::scan(data) {
        Some(chunk) => Ok(chunk),
        None => parse_chunk_serde(data),
    }
}

/// [`parse_chunk`] by serde alone: the reference the fast path is checked against.
pub(crate) fn parse_chunk_serde(data: &[u8]) -> Result<Chunk<'_>, serde_json::Error> {
    let raw: RawChunk<'_> = serde_json::from_slice(data)?;
    let error = match (raw.error, raw.object.as_deref()) {
        (Some(e), _) => Some(error_message(&e)),
        (None, Some("error")) => Some(raw.message.map(Cow::into_owned).unwrap_or_default()),
        _ => None,
    };
    let mut chunk = Chunk {
        id: raw.id,
        usage: raw.usage,
        error,
        ..Default::default()
    };
    if let Some(choice) = raw.choices.0 {
        chunk.take_choice(choice);
    }
    Ok(chunk)
}

impl<'a> Chunk<'a> {
    /// The first choice's output: its delta (or message) content and whether
    /// it reasoned, else its completion text.
    pub(crate) fn take_choice(&mut self, choice: RawChoice<'a>) {
        match choice.delta.or(choice.message) {
            Some(d) => {
                self.reasoning = d
                    .reasoning_content
                    .as_deref()
                    .is_some_and(|r| !r.is_empty())
                    || d.reasoning.as_deref().is_some_and(|r| !r.is_empty());
                self.content = d.content;
            }
            None => self.content = choice.text,
        }
    }
}

/// The message of an OpenAI/vLLM error object (`{"error": {"message": …}}`
/// or `{"message": …}`), else its JSON text.
pub fn error_message(v: &Value) -> String {
    let inner = v.get("error").unwrap_or(v);
    match inner.get("message").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => match inner {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct TextPart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Message<'a> {
    /// GuideLLM sends a prefix as a plain-string system message.
    System {
        role: &'static str,
        content: &'a str,
    },
    /// The user turn, as a list of parts.
    User {
        role: &'static str,
        content: [TextPart<'a>; 1],
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Messages<'a> {
    Built(Vec<Message<'a>>),
    Raw(&'a Value),
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    /// Serialized as `"stop": null` when set.
    #[serde(skip_serializing_if = "is_false", serialize_with = "as_null")]
    stop: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_eos: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Messages<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<Cow<'a, str>>,
}

/// What goes into one request body.
#[derive(Clone, Copy, Debug)]
pub struct BodySpec<'a> {
    /// Route (decides `messages` vs `prompt`, `max_completion_tokens` vs `max_tokens`).
    pub request_type: RequestType,
    /// Model name.
    pub model: Option<&'a str>,
    /// The prompt text.
    pub prompt: &'a str,
    /// Output tokens asked for: sets the limit, `stop: null` and `ignore_eos: true`.
    pub output_tokens: Option<u64>,
    /// A limit without forcing the length (used when no output length is asked).
    pub max_tokens: Option<u64>,
    /// Stream the response (with usage in the last chunk).
    pub stream: bool,
    /// A system prompt: a system message for chat, prepended (and a
    /// space) for completions.
    pub system: Option<&'a str>,
    /// Chat messages sent as they are, instead of `system` + `prompt`.
    pub messages: Option<&'a Value>,
}

/// Encode a request body. `extra` (from `--backend-args extra_body`) is merged
/// over the top-level keys.
pub fn encode_body(spec: &BodySpec<'_>, extra: Option<&Map<String, Value>>) -> Bytes {
    let chat = spec.request_type == RequestType::ChatCompletions;
    let limit = spec.output_tokens.or(spec.max_tokens);
    let forced = spec.output_tokens.is_some();
    let body = Body {
        model: spec.model,
        stream: spec.stream.then_some(true),
        stream_options: spec.stream.then_some(StreamOptions {
            include_usage: true,
        }),
        max_completion_tokens: if chat { limit } else { None },
        max_tokens: if chat { None } else { limit },
        stop: forced,
        ignore_eos: forced.then_some(true),
        messages: chat.then(|| match spec.messages {
            Some(raw) => Messages::Raw(raw),
            None => {
                let mut m = Vec::with_capacity(2);
                if let Some(system) = spec.system {
                    m.push(Message::System {
                        role: "system",
                        content: system,
                    });
                }
                m.push(Message::User {
                    role: "user",
                    content: [TextPart {
                        kind: "text",
                        text: spec.prompt,
                    }],
                });
                Messages::Built(m)
            }
        }),
        prompt: (!chat).then(|| match spec.system {
            // GuideLLM joins the prefix and the text with a space.
            Some(system) => Cow::Owned(format!("{system} {}", spec.prompt)),
            None => Cow::Borrowed(spec.prompt),
        }),
    };
    match extra {
        Some(extra) if !extra.is_empty() => {
            let mut v = serde_json::to_value(&body).expect("body serializes");
            if let Value::Object(map) = &mut v {
                for (k, val) in extra {
                    map.insert(k.clone(), val.clone());
                }
            }
            Bytes::from(serde_json::to_vec(&v).expect("body serializes"))
        }
        _ => Bytes::from(serde_json::to_vec(&body).expect("body serializes")),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn as_null<S: serde::Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_unit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_body_matches_guidellm_04() {
        let b = encode_body(
            &BodySpec {
                request_type: RequestType::ChatCompletions,
                model: Some("m"),
                prompt: "hi \"there\"",
                output_tokens: Some(36),
                max_tokens: None,
                stream: true,
                system: None,
                messages: None,
            },
            None,
        );
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":36,"stop":null,"ignore_eos":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi \"there\""}]}]}"#
        );
    }

    #[test]
    fn completions_body_without_output_target() {
        let mut extra = Map::new();
        extra.insert("temperature".into(), Value::from(0.0));
        let b = encode_body(
            &BodySpec {
                request_type: RequestType::TextCompletions,
                model: Some("m"),
                prompt: "p",
                output_tokens: None,
                max_tokens: Some(16),
                stream: true,
                system: Some("sys"),
                messages: None,
            },
            Some(&extra),
        );
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":16,"prompt":"sys p","temperature":0.0}"#
        );
    }

    #[test]
    fn system_prompts_and_raw_messages() {
        let base = BodySpec {
            request_type: RequestType::ChatCompletions,
            model: None,
            prompt: "q",
            output_tokens: None,
            max_tokens: None,
            stream: false,
            system: Some("be brief"),
            messages: None,
        };
        let b = encode_body(&base, None);
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"q"}]}]}"#
        );
        let raw = serde_json::json!([{"role": "user", "content": "hey"}]);
        let b = encode_body(
            &BodySpec {
                messages: Some(&raw),
                ..base
            },
            None,
        );
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"{"messages":[{"role":"user","content":"hey"}]}"#
        );
    }

    #[test]
    fn chunks_borrow_their_text() {
        let data =
            br#"{"id":"x","choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}"#;
        let c = parse_chunk(data).unwrap();
        assert!(matches!(c.content, Some(Cow::Borrowed("tok"))));
        assert!(c.has_output());
        let escaped = br#"{"choices":[{"delta":{"content":"a\nb"}}]}"#;
        assert_eq!(
            parse_chunk(escaped).unwrap().content.as_deref(),
            Some("a\nb")
        );
    }

    #[test]
    fn role_chunk_usage_chunk_and_errors() {
        let role = br#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#;
        assert!(!parse_chunk(role).unwrap().has_output());
        let usage = br#"{"choices":[],"usage":{"prompt_tokens":31,"total_tokens":39,"completion_tokens":8}}"#;
        let u = parse_chunk(usage).unwrap();
        assert_eq!(
            u.usage,
            Some(Usage {
                prompt_tokens: Some(31),
                completion_tokens: Some(8),
                prompt_tokens_details: None,
            })
        );
        let err = br#"{"error":{"message":"boom","type":"BadRequestError","code":400}}"#;
        assert_eq!(parse_chunk(err).unwrap().error.as_deref(), Some("boom"));
        let vllm =
            br#"{"object":"error","message":"too long","type":"BadRequestError","code":400}"#;
        assert_eq!(
            parse_chunk(vllm).unwrap().error.as_deref(),
            Some("too long")
        );
        assert!(parse_chunk(b"{not json").is_err());
    }

    #[test]
    fn reasoning_counts_as_output() {
        let c = parse_chunk(br#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#).unwrap();
        assert!(c.has_output());
        assert!(c.content.is_none());
    }
}

//! Response bodies in the exact shape vLLM 0.32 sends them
//! (see shared/fixtures/vllm-0.32-wire).

use std::fmt::Write;

/// The JSON-escaped pieces every chunk of one response repeats.
pub(crate) struct ChunkPrefix {
    id: String,
    created: u64,
    model: String,
}

impl ChunkPrefix {
    pub(crate) fn new(chat: bool, serial: u64, created: u64, model: &str) -> Self {
        let id = format!("{}-{:016x}", if chat { "chatcmpl" } else { "cmpl" }, serial);
        ChunkPrefix {
            id,
            created,
            model: escape(model),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn head(&self, out: &mut String, object: &str) {
        let _ = write!(
            out,
            r#"data: {{"id":"{}","object":"{}","created":{},"model":"{}","#,
            self.id, object, self.created, self.model
        );
    }

    /// The chat stream's opening chunk: role only, empty content.
    pub(crate) fn chat_role(&self, out: &mut String) {
        self.head(out, "chat.completion.chunk");
        out.push_str(r#""choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}"#);
        out.push_str("\n\n");
    }

    /// One token. `last` sets `finish_reason: "length"` as vLLM does.
    pub(crate) fn token(&self, out: &mut String, chat: bool, text: &str, last: bool) {
        let finish = if last {
            r#""finish_reason":"length","stop_reason":null"#
        } else if chat {
            r#""finish_reason":null"#
        } else {
            r#""finish_reason":null,"stop_reason":null"#
        };
        if chat {
            self.head(out, "chat.completion.chunk");
            let _ = write!(
                out,
                r#""choices":[{{"index":0,"delta":{{"content":"{text}"}},"logprobs":null,{finish},"token_ids":null}}]}}"#
            );
        } else {
            self.head(out, "text_completion");
            let _ = write!(
                out,
                r#""choices":[{{"index":0,"text":"{text}","logprobs":null,{finish},"prompt_token_ids":null,"token_ids":null}}]}}"#
            );
        }
        out.push_str("\n\n");
    }

    /// The usage-only chunk that `include_usage` asks for.
    pub(crate) fn usage(
        &self,
        out: &mut String,
        chat: bool,
        prompt: u64,
        completion: u64,
        cached: Option<u64>,
    ) {
        self.head(
            out,
            if chat {
                "chat.completion.chunk"
            } else {
                "text_completion"
            },
        );
        let _ = write!(
            out,
            r#""choices":[],"usage":{{"prompt_tokens":{prompt},"total_tokens":{},"completion_tokens":{completion}{}}},"system_fingerprint":"llmload-mock"}}"#,
            prompt + completion,
            cached_details(cached, false),
        );
        out.push_str("\n\n");
    }

    /// A whole non-streamed response.
    pub(crate) fn full(
        &self,
        chat: bool,
        text: &str,
        prompt: u64,
        completion: u64,
        cached: Option<u64>,
    ) -> String {
        let usage = format!(
            r#""usage":{{"prompt_tokens":{prompt},"total_tokens":{},"completion_tokens":{completion}{},"completion_tokens_details":null}}"#,
            prompt + completion,
            cached_details(cached, true),
        );
        if chat {
            format!(
                r#"{{"id":"{}","object":"chat.completion","created":{},"model":"{}","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}","refusal":null,"annotations":null,"audio":null,"function_call":null,"reasoning":null}},"logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null}}],"service_tier":null,"system_fingerprint":"llmload-mock",{usage},"prompt_logprobs":null,"prompt_token_ids":null,"kv_transfer_params":null}}"#,
                self.id, self.created, self.model
            )
        } else {
            format!(
                r#"{{"id":"{}","object":"text_completion","created":{},"model":"{}","choices":[{{"index":0,"text":"{text}","logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null,"prompt_logprobs":null,"prompt_token_ids":null}}],"service_tier":null,"system_fingerprint":"llmload-mock",{usage},"kv_transfer_params":null}}"#,
                self.id, self.created, self.model
            )
        }
    }
}

/// `prompt_tokens_details` (vLLM writes it with `--enable-prompt-tokens-details`;
/// a whole response writes `null` without it, a usage chunk omits it).
fn cached_details(cached: Option<u64>, null_when_off: bool) -> String {
    match cached {
        Some(n) => format!(r#","prompt_tokens_details":{{"cached_tokens":{n}}}"#),
        None if null_when_off => r#","prompt_tokens_details":null"#.to_string(),
        None => String::new(),
    }
}

/// `GET /v1/models`.
pub(crate) fn models(model: &str, root: &str, max_model_len: u64, created: u64) -> String {
    let (m, r) = (escape(model), escape(root));
    format!(
        r#"{{"object":"list","data":[{{"id":"{m}","object":"model","created":{created},"owned_by":"vllm","root":"{r}","parent":null,"max_model_len":{max_model_len},"permission":[]}}]}}"#
    )
}

/// `POST /tokenize`'s answer.
pub(crate) fn tokenize(ids: &[u32], max_model_len: u64) -> String {
    let mut out = format!(
        r#"{{"count":{},"max_model_len":{max_model_len},"tokens":["#,
        ids.len()
    );
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
    out.push_str(r#"],"token_strs":null}"#);
    out
}

/// vLLM's answer to a prompt of `prompt` tokens over a `max_len` context.
pub(crate) fn prompt_too_long(max_len: u64, prompt: u64) -> String {
    let message = format!(
        "This model's maximum context length is {max_len} tokens. However, your prompt contains at least {prompt} input tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value={prompt})"
    );
    format!(
        r#"{{"error":{{"message":"{}","type":"BadRequestError","param":"input_tokens","code":400}}}}"#,
        escape(&message)
    )
}

/// vLLM's error body.
pub(crate) fn error(message: &str, kind: &str, code: u16) -> String {
    format!(
        r#"{{"error":{{"message":"{}","type":"{}","param":null,"code":{code}}}}}"#,
        escape(message),
        escape(kind)
    )
}

/// JSON string escaping (without the quotes).
pub(crate) fn escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_have_vllm_keys_in_vllm_order() {
        let p = ChunkPrefix::new(true, 7, 1_795_379_421, "m\"x");
        let mut s = String::new();
        p.chat_role(&mut s);
        p.token(&mut s, true, " tok", false);
        p.token(&mut s, true, " tok", true);
        p.usage(&mut s, true, 31, 2, None);
        for line in s.lines().filter(|l| !l.is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line.strip_prefix("data: ").unwrap()).unwrap();
            let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
            assert_eq!(&keys[..4], ["id", "object", "created", "model"]);
            assert_eq!(v["model"], "m\"x");
        }
        assert!(s.contains(r#""finish_reason":"length","stop_reason":null"#));
        assert!(
            s.contains(r#""usage":{"prompt_tokens":31,"total_tokens":33,"completion_tokens":2}"#)
        );
        let full: serde_json::Value =
            serde_json::from_str(&p.full(false, "a b", 3, 2, None)).unwrap();
        assert_eq!(full["choices"][0]["text"], "a b");
        assert_eq!(full["usage"]["completion_tokens"], 2);
        assert!(full["usage"]["prompt_tokens_details"].is_null());
        let cached: serde_json::Value =
            serde_json::from_str(&p.full(true, "a", 40, 1, Some(32))).unwrap();
        assert_eq!(
            cached["usage"]["prompt_tokens_details"]["cached_tokens"],
            32
        );
    }

    #[test]
    fn the_bad_request_body_is_vllms_own() {
        let path = std::path::Path::new(env!("LLMLOAD_SHARED"))
            .join("fixtures/vllm-0.32-wire/error_prompt_too_long.json");
        let captured = std::fs::read_to_string(path).unwrap();
        assert_eq!(prompt_too_long(16384, 16385), captured.trim_end());
    }

    #[test]
    fn tokenize_and_models_have_vllms_shape() {
        let dir = std::path::Path::new(env!("LLMLOAD_SHARED")).join("fixtures/vllm-0.32-wire");
        let real: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("tokenize.json")).unwrap())
                .unwrap();
        let ids: Vec<u32> = serde_json::from_value(real["tokens"].clone()).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&tokenize(&ids, 16384)).unwrap();
        assert_eq!(ours, real);
        let real: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("models.json")).unwrap())
                .unwrap();
        let ours: serde_json::Value =
            serde_json::from_str(&models("tiny-qwen", "/models/q", 16384, 1)).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v["data"][0].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&ours), keys(&real));
        assert_eq!(ours["data"][0]["root"], "/models/q");
    }
}

//! `--backend-args`: GuideLLM's backend options as JSON.

use serde_json::{Map, Value};

use crate::Error;

/// Backend settings from `--backend-args`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackendArgs {
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Bearer token.
    pub api_key: Option<String>,
    /// Read timeout, seconds (`None`: no limit).
    pub timeout: Option<f64>,
    /// Longest silence between chunks, seconds (default: `timeout`).
    pub stall_timeout: Option<f64>,
    /// TLS verification.
    pub verify: bool,
    /// Extra CA certificates (PEM).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Merged into every body.
    pub extra_body: Option<Map<String, Value>>,
    /// Limit for requests without an output length.
    pub max_output_tokens: Option<u64>,
    /// Streamed responses.
    pub stream: bool,
}

/// Keys `--backend-args` accepts.
const BACKEND_KEYS: [&str; 11] = [
    "headers",
    "api_key",
    "timeout",
    "stall_timeout",
    "verify",
    "ca_bundle",
    "extra_body",
    "max_output_tokens",
    "stream",
    "http2",
    "follow_redirects",
];

/// GuideLLM 0.4's request timeout (`backend.timeout` in its reports).
pub const DEFAULT_TIMEOUT_SECS: f64 = 60.0;

impl BackendArgs {
    pub(crate) fn parse(raw: Option<&str>) -> Result<BackendArgs, Error> {
        let mut b = BackendArgs {
            timeout: Some(DEFAULT_TIMEOUT_SECS),
            verify: true,
            stream: true,
            ..Default::default()
        };
        let Some(raw) = raw else { return Ok(b) };
        let v: Value = serde_json::from_str(raw).map_err(|e| {
            Error::usage(format!(
                "--backend-args: not JSON ({e}); expected an object like '{{\"timeout\": 120}}'"
            ))
        })?;
        let Value::Object(map) = v else {
            return Err(Error::usage("--backend-args: expected a JSON object"));
        };
        for (k, v) in &map {
            let bad =
                |what: &str| Error::usage(format!("--backend-args {k}: expected {what}, got {v}"));
            match k.as_str() {
                "headers" => {
                    let Value::Object(h) = v else {
                        return Err(bad("an object of header names to strings"));
                    };
                    for (name, value) in h {
                        let Value::String(s) = value else {
                            return Err(bad("string header values"));
                        };
                        b.headers.push((name.clone(), s.clone()));
                    }
                }
                "api_key" => {
                    b.api_key = Some(v.as_str().ok_or_else(|| bad("a string"))?.to_string())
                }
                "timeout" => {
                    b.timeout = match v {
                        Value::Null => None,
                        _ => Some(
                            v.as_f64()
                                .filter(|t| *t > 0.0)
                                .ok_or_else(|| bad("a number of seconds > 0, or null"))?,
                        ),
                    }
                }
                "stall_timeout" => {
                    b.stall_timeout = Some(
                        v.as_f64()
                            .filter(|t| *t > 0.0)
                            .ok_or_else(|| bad("a number of seconds > 0"))?,
                    )
                }
                "ca_bundle" => {
                    b.ca_bundle = Some(v.as_str().ok_or_else(|| bad("a file path"))?.into())
                }
                "verify" => b.verify = v.as_bool().ok_or_else(|| bad("true or false"))?,
                "stream" => b.stream = v.as_bool().ok_or_else(|| bad("true or false"))?,
                "extra_body" => {
                    let Value::Object(m) = v else {
                        return Err(bad("a JSON object"));
                    };
                    b.extra_body = Some(m.clone());
                }
                "max_output_tokens" => {
                    b.max_output_tokens = Some(
                        v.as_u64()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| bad("a positive integer"))?,
                    )
                }
                "http2" | "follow_redirects" => {} // httpx options; llmload speaks HTTP/1.1 and does not follow redirects
                _ => {
                    return Err(Error::usage(format!(
                        "--backend-args: unknown key {k:?} (expected one of {})",
                        BACKEND_KEYS.join(", ")
                    )))
                }
            }
        }
        Ok(b)
    }

    /// The arguments as written to reports: secrets replaced.
    pub fn redacted(raw: Option<&str>) -> Value {
        let Some(Ok(Value::Object(mut m))) = raw.map(serde_json::from_str::<Value>) else {
            return Value::Null;
        };
        if m.contains_key("api_key") {
            m.insert("api_key".into(), Value::from("***"));
        }
        if let Some(Value::Object(h)) = m.get_mut("headers") {
            for (k, v) in h.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if lower == "authorization"
                    || lower.contains("key")
                    || lower.contains("token")
                    || lower.contains("secret")
                {
                    *v = Value::from("***");
                }
            }
        }
        Value::Object(m)
    }
}

impl BackendArgs {
    /// The client settings for `target`; the API key falls back to
    /// `OPENAI_API_KEY`.
    pub fn client_config(&self, target: &str) -> llmload_client::ClientConfig {
        let secs = std::time::Duration::from_secs_f64;
        let mut cfg = llmload_client::ClientConfig::new(target);
        cfg.headers = self.headers.clone();
        cfg.api_key = self.api_key.clone().or_else(|| {
            std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty())
        });
        cfg.timeout = self.timeout.map(secs);
        cfg.stall_timeout = self.stall_timeout.map(secs);
        cfg.verify_tls = self.verify;
        cfg.ca_bundle = self.ca_bundle.clone();
        cfg.stream = self.stream;
        cfg
    }
}

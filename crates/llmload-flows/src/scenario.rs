//! `--scenario NAME|PATH`: benchmark options from a file, GuideLLM 0.4's
//! flat format (the keys are `benchmark`'s options; a saved report's `args`
//! works too). Options given on the command line win.

use serde_json::{Map, Value};

use crate::BenchmarkArgs;
use crate::Error;

/// The built-in scenarios (the files in `scenarios/`).
pub const BUILTIN: [(&str, &str); 4] = [
    ("chat", include_str!("../../../scenarios/chat.json")),
    (
        "code-fixing",
        include_str!("../../../scenarios/code-fixing.json"),
    ),
    ("rag", include_str!("../../../scenarios/rag.json")),
    ("long-rag", include_str!("../../../scenarios/long-rag.json")),
];

/// GuideLLM options that have no effect in llmload (accepted, ignored).
const IGNORED: [&str; 11] = [
    "backend",
    "backend_type",
    "data_args",
    "data_column_mapper",
    "data_request_formatter",
    "data_collator",
    "data_sampler",
    "data_num_workers",
    "dataloader_kwargs",
    "prefer_response_metrics",
    "processor_args",
];

/// A scenario's options, by built-in name or file path (JSON or YAML).
pub fn load(spec: &str) -> Result<Map<String, Value>, Error> {
    let bad = |why: String| Error::usage(format!("--scenario {spec}: {why}"));
    let text = match BUILTIN.iter().find(|(n, _)| *n == spec) {
        Some((_, text)) => text.to_string(),
        None => std::fs::read_to_string(spec).map_err(|e| {
            let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
            bad(format!(
                "not a built-in scenario ({}) and cannot be read ({e})",
                names.join(", ")
            ))
        })?,
    };
    let value: Value = if spec.ends_with(".yaml") || spec.ends_with(".yml") {
        serde_yaml::from_str(&text).map_err(|e| bad(format!("not YAML ({e})")))?
    } else {
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON ({e})")))?
    };
    // A saved report: its arguments.
    let value = match value {
        Value::Object(mut m) if m.get("args").is_some_and(Value::is_object) => {
            m.remove("args").unwrap_or_default()
        }
        v => v,
    };
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(bad("expected an object of benchmark options".into())),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

/// Fill the options not given on the command line from the scenario.
pub fn apply(
    args: &mut BenchmarkArgs,
    spec: &str,
    scenario: &Map<String, Value>,
) -> Result<(), Error> {
    let bad = |key: &str, why: &str| Error::usage(format!("--scenario {spec}: {key}: {why}"));
    for (key, v) in scenario {
        if v.is_null() || IGNORED.contains(&key.as_str()) {
            continue;
        }
        let num = || v.as_f64().ok_or_else(|| bad(key, "expected a number"));
        let int = || {
            v.as_u64()
                .ok_or_else(|| bad(key, "expected a whole number"))
        };
        macro_rules! fill {
            ($field:ident, $value:expr) => {
                if args.$field.is_none() {
                    args.$field = Some($value);
                }
            };
        }
        match key.replace('-', "_").as_str() {
            "target" => fill!(target, text(v)),
            "model" => fill!(model, text(v)),
            "processor" => fill!(processor, text(v)),
            "request_type" | "request_format" => fill!(request_type, text(v)),
            "backend_args" | "backend_kwargs" => fill!(backend_args, v.to_string()),
            "profile" | "rate_type" => fill!(rate_type, text(v)),
            "rate" if args.rate.is_empty() => args.rate = list(v),
            "data" if args.data.is_empty() => {
                args.data = match v {
                    Value::Object(_) => vec![v.to_string()],
                    other => list(other),
                }
            }
            "data_samples" if args.data_samples == -1 => {
                args.data_samples = v
                    .as_i64()
                    .ok_or_else(|| bad(key, "expected a whole number"))?
            }
            "max_seconds" => fill!(max_seconds, num()?),
            "max_requests" => fill!(max_requests, int()?),
            "max_errors" => fill!(max_errors, int()?),
            "max_error_rate" => fill!(max_error_rate, num()?),
            "max_global_error_rate" => fill!(max_global_error_rate, num()?),
            "max_concurrency" => fill!(max_concurrency, int()? as u32),
            "warmup" | "warmup_percent" => fill!(warmup, text(v)),
            "cooldown" | "cooldown_percent" => fill!(cooldown, text(v)),
            "rampup" => fill!(rampup, num()?),
            "random_seed" => fill!(random_seed, int()?),
            "sample_requests" | "output_sampling" => fill!(sample_requests, int()?),
            "output_dir" => fill!(output_dir, text(v).into()),
            "outputs" if args.outputs.is_empty() => args.outputs = list(v),
            "rate" | "data" | "data_samples" | "outputs" => {}
            _ => return Err(bad(key, "unknown option")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> BenchmarkArgs {
        crate::args::parse(argv).unwrap()
    }

    #[test]
    fn builtins_follow_the_red_hat_guide() {
        let chat = load("chat").unwrap();
        assert_eq!(chat["profile"], "constant");
        assert_eq!(chat["rate"], serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8, 9]));
        assert_eq!(chat["max_error_rate"], 0.5);
        assert!(chat["data"][0].as_str().unwrap().starts_with(
            "prompt_tokens=512,prompt_tokens_stdev=51.2,output_tokens=256,output_tokens_stdev=25.6"
        ));
        let long = load("long-rag").unwrap();
        assert!(long["data"][0]
            .as_str()
            .unwrap()
            .contains("prompt_tokens=10240,prompt_tokens_stdev=1024,"));
    }

    #[test]
    fn the_command_line_wins() {
        let mut a = args(&["--rate", "5", "--max-seconds", "60"]);
        apply(&mut a, "chat", &load("chat").unwrap()).unwrap();
        assert_eq!(a.rate, ["5"]);
        assert_eq!(a.max_seconds, Some(60.0));
        assert_eq!(a.rate_type.as_deref(), Some("constant"));
        assert_eq!(a.max_error_rate, Some(0.5));
        assert_eq!(a.data.len(), 1);
    }

    #[test]
    fn unknown_keys_and_files_are_named() {
        let mut a = args(&[]);
        let m: Map<String, Value> = serde_json::from_str(r#"{"rates": [1]}"#).unwrap();
        let e = apply(&mut a, "x.json", &m).unwrap_err().to_string();
        assert!(
            e.contains("--scenario x.json: rates: unknown option"),
            "{e}"
        );
        let e = load("/no/such.json").unwrap_err().to_string();
        assert!(e.contains("--scenario /no/such.json: not a built-in scenario (chat, code-fixing, rag, long-rag)"), "{e}");
    }
}

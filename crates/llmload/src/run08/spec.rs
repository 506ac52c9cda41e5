//! GuideLLM 0.8's option values and scenarios as JSON: `kind=x,key=value`
//! arg strings (dotted keys nest, `key[i]` indexes a list, values typed as
//! YAML), JSON/YAML objects, scenario files (a saved report's `config`
//! too), the built-in `rhaiis/*` scenarios, and `--override` lists.

use serde_json::{Map, Value};

use crate::CliError;

/// The built-in scenarios, GuideLLM 0.8.1's own files (Apache-2.0).
pub const BUILTIN: [(&str, &str); 7] = [
    (
        "rhaiis/concurrent-100k-1k-equal",
        include_str!("../../scenarios/rhaiis/concurrent-100k-1k-equal.json"),
    ),
    (
        "rhaiis/concurrent-1k-1k-equal",
        include_str!("../../scenarios/rhaiis/concurrent-1k-1k-equal.json"),
    ),
    (
        "rhaiis/concurrent-1k-1k-multiturn",
        include_str!("../../scenarios/rhaiis/concurrent-1k-1k-multiturn.json"),
    ),
    (
        "rhaiis/concurrent-2ki-128-equal",
        include_str!("../../scenarios/rhaiis/concurrent-2ki-128-equal.json"),
    ),
    (
        "rhaiis/concurrent-512-2ki-norm",
        include_str!("../../scenarios/rhaiis/concurrent-512-2ki-norm.json"),
    ),
    (
        "rhaiis/concurrent-8k-1k-equal",
        include_str!("../../scenarios/rhaiis/concurrent-8k-1k-equal.json"),
    ),
    (
        "rhaiis/concurrent-8k-800-norm",
        include_str!("../../scenarios/rhaiis/concurrent-8k-800-norm.json"),
    ),
];

/// A scalar typed as YAML types it (`10` int, `0.5` float, `true` bool,
/// `null`, else a string).
fn typed(raw: &str) -> Value {
    let raw = raw.trim();
    match serde_yaml::from_str::<Value>(raw) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) if !raw.is_empty() => v,
        Ok(Value::Array(a)) if raw.starts_with('[') => Value::Array(a),
        _ => Value::String(raw.to_string()),
    }
}

/// Split on `sep` outside brackets, braces and quotes.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, c) if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The largest list index `key[i]` may name (a list is filled up to it).
const MAX_INDEX: usize = 1024;

/// Set `path` (dotted, with `[i]` indexes) in `root` to `value`.
pub fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut at = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (n, part) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => {
                let i: usize = rest
                    .trim_end_matches(']')
                    .parse()
                    .ok()
                    .filter(|i| *i < MAX_INDEX)
                    .ok_or_else(|| format!("{path}: expected key[N] with N < {MAX_INDEX}"))?;
                (k, Some(i))
            }
            None => (*part, None),
        };
        let key = key.replace('-', "_");
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let slot = at
            .as_object_mut()
            .expect("an object")
            .entry(key)
            .or_insert(Value::Null);
        at = match index {
            None => slot,
            Some(i) => {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let a = slot.as_array_mut().expect("a list");
                while a.len() <= i {
                    a.push(Value::Null);
                }
                &mut a[i]
            }
        };
        if last {
            *at = value;
            return Ok(());
        }
    }
    Ok(())
}

/// One option value: a JSON/YAML object, or an arg string. Must name a `kind`.
pub fn option_value(flag: &str, raw: &str) -> Result<Value, CliError> {
    let bad = |why: String| CliError::usage(format!("{flag} {raw:?}: {why}"));
    let trimmed = raw.trim();
    let v = if trimmed.starts_with('{') {
        serde_yaml::from_str::<Value>(trimmed).map_err(|e| bad(format!("not JSON/YAML ({e})")))?
    } else {
        let mut v = Value::Object(Map::new());
        for pair in split_top(trimmed, ',') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (k, val) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("expected key=value, got {pair:?}")))?;
            set_path(&mut v, k.trim(), typed(val)).map_err(bad)?;
        }
        v
    };
    if !v.is_object() {
        return Err(bad("expected kind=...,key=value or a JSON object".into()));
    }
    if v.get("kind").and_then(Value::as_str).is_none() {
        return Err(bad("missing required key 'kind'".into()));
    }
    Ok(v)
}

/// A scenario: a built-in name, or a JSON/YAML file (a saved report's
/// `config` is taken from it).
pub fn scenario(raw: &str) -> Result<Value, CliError> {
    let text = match BUILTIN.iter().find(|(name, _)| *name == raw) {
        Some((_, text)) => text.to_string(),
        None => std::fs::read_to_string(raw).map_err(|e| {
            let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
            CliError::usage(format!(
                "--scenario {raw:?}: not a file ({e}) nor a built-in scenario ({})",
                names.join(", ")
            ))
        })?,
    };
    let v: Value = serde_yaml::from_str(&text)
        .map_err(|e| CliError::usage(format!("--scenario {raw}: not JSON/YAML ({e})")))?;
    let v = match v.get("config") {
        Some(c) if v.get("benchmarks").is_some() => c.clone(),
        _ => v,
    };
    if !v.is_object() || (v.get("spec").is_none() && v.get("metadata").is_none()) {
        return Err(CliError::usage(format!(
            "--scenario {raw}: expected a GuideLLM 0.8 scenario ({{\"spec\": {{...}}}}) or a saved report"
        )));
    }
    Ok(v)
}

/// Merge `over` into `base`: objects key by key, anything else replaced.
pub fn deep_update(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                deep_update(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// `--override KEY V1,V2,...`: the per-benchmark list `[{KEY: V1}, ...]`.
pub fn overrides(pairs: &[String]) -> Result<Vec<Map<String, Value>>, CliError> {
    let mut out: Vec<Map<String, Value>> = Vec::new();
    for pair in pairs.chunks(2) {
        let [key, values] = pair else {
            return Err(CliError::usage("--override: expected KEY VALUES"));
        };
        for (i, v) in split_top(values, ',').into_iter().enumerate() {
            if out.len() <= i {
                out.push(Map::new());
            }
            out[i].insert(key.clone(), typed(v));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arg_strings_nest_index_and_type_their_values() {
        let v = option_value(
            "--data",
            "kind=synthetic_text,prompt_tokens=64,output_tokens=16,load_kwargs.split=train,x[1]=true",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"kind": "synthetic_text", "prompt_tokens": 64, "output_tokens": 16,
                   "load_kwargs": {"split": "train"}, "x": [null, true]})
        );
        let v = option_value("--profile", r#"{"kind": "constant", "rate": [1.5, 3]}"#).unwrap();
        assert_eq!(v["rate"], json!([1.5, 3]));
        let v = option_value("--profile", "kind=constant,rate=[1,2]").unwrap();
        assert_eq!(v["rate"], json!([1, 2]));
        let e = option_value("--data", "kind=x,a[99999999999]=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a[99999999999]"), "{e}");
        let e = option_value("--profile", "rate=5").unwrap_err().to_string();
        assert!(e.contains("--profile") && e.contains("'kind'"), "{e}");
    }

    #[test]
    fn overrides_give_one_entry_per_value_and_scenarios_load() {
        let o = overrides(&["profile.streams".into(), "1,2,4".into()]).unwrap();
        assert_eq!(o.len(), 3);
        assert_eq!(o[2]["profile.streams"], json!(4));
        for (name, _) in BUILTIN {
            let s = scenario(name).unwrap();
            assert_eq!(s["spec"]["profile"]["kind"], "concurrent", "{name}");
        }
        let mut a = json!({"spec": {"backend": {"kind": "openai_http", "request_format": "/v1/chat/completions"}}});
        deep_update(&mut a, json!({"spec": {"backend": {"target": "http://h"}}}));
        assert_eq!(
            a["spec"]["backend"]["request_format"],
            "/v1/chat/completions"
        );
        assert_eq!(a["spec"]["backend"]["target"], "http://h");
    }
}

//! Dataset files: `.jsonl`, `.json`, `.csv` and `.txt`, with GuideLLM's
//! column mapping, ShareGPT conversations, a seeded shuffle, and cycling.

use std::path::Path;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use tokenizers::Tokenizer;

use crate::{DataError, RequestSource, RequestSpec};

/// Column names GuideLLM 0.4's `GenerativeColumnMapper` looks for, in order
/// (each also as plural `s`/`es`, lower, UPPER and Capitalized).
pub const TEXT_COLUMNS: [&str; 9] = [
    "prompt",
    "instruction",
    "question",
    "input",
    "context",
    "content",
    "conversation",
    "turn",
    "text",
];
const PREFIX_COLUMNS: [&str; 3] = ["system_prompt", "system", "prefix"];
const PROMPT_COUNT_COLUMNS: [&str; 2] = ["prompt_tokens_count", "input_tokens_count"];
const OUTPUT_COUNT_COLUMNS: [&str; 2] = ["output_tokens_count", "completion_tokens_count"];
const MESSAGES_COLUMNS: [&str; 2] = ["messages", "chat_messages"];

/// Which column holds what (`--data-column-mapper`); unset roles use the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    /// Prompt text.
    pub text: Option<String>,
    /// System prompt / prefix.
    pub prefix: Option<String>,
    /// Prompt token count.
    pub prompt_tokens: Option<String>,
    /// Output token count (sent as the output length).
    pub output_tokens: Option<String>,
    /// Chat messages sent as they are.
    pub messages: Option<String>,
}

impl ColumnMapping {
    /// Parse `--data-column-mapper` JSON (`{"text_column": "article", ...}`).
    pub fn parse(raw: Option<&str>) -> Result<ColumnMapping, DataError> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty() && *r != "generative_column_mapper")
        else {
            return Ok(ColumnMapping::default());
        };
        let bad = |why: String| DataError::new(format!("--data-column-mapper: {why}"));
        let v: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not JSON ({e})")))?;
        let Value::Object(m) = v else {
            return Err(bad("expected a JSON object".into()));
        };
        let mut out = ColumnMapping::default();
        for (k, v) in m {
            let name = match v {
                Value::String(s) => s,
                Value::Array(a) if a.len() == 1 && a[0].is_string() => {
                    a[0].as_str().unwrap_or_default().to_string()
                }
                other => return Err(bad(format!("{k}: expected a column name, got {other}"))),
            };
            let slot = match k.as_str() {
                "text_column" => &mut out.text,
                "prefix_column" => &mut out.prefix,
                "prompt_tokens_count_column" => &mut out.prompt_tokens,
                "output_tokens_count_column" => &mut out.output_tokens,
                "messages_column" => &mut out.messages,
                _ => {
                    return Err(bad(format!(
                        "unknown key {k:?} (expected text_column, prefix_column, prompt_tokens_count_column, \
                         output_tokens_count_column or messages_column)"
                    )))
                }
            };
            *slot = Some(name);
        }
        Ok(out)
    }
}

/// The first column of `names` present in `row` (GuideLLM's name variants).
fn find<'a>(row: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a String, &'a Value)> {
    for name in names {
        for plural in [name.to_string(), format!("{name}s"), format!("{name}es")] {
            let cap = {
                let mut c = plural.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            };
            for variant in [
                plural.clone(),
                plural.to_lowercase(),
                plural.to_uppercase(),
                cap,
            ] {
                if let Some((k, v)) = row.get_key_value(&variant) {
                    return Some((k, v));
                }
            }
        }
    }
    None
}

fn column<'a>(
    row: &'a Map<String, Value>,
    explicit: &Option<String>,
    defaults: &[&str],
) -> Option<&'a Value> {
    match explicit {
        Some(name) => row.get(name),
        None => find(row, defaults).map(|(_, v)| v),
    }
}

fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `(role, text)` of a ShareGPT or OpenAI-style turn.
fn turn(v: &Value) -> Option<(&str, &str)> {
    let role = v.get("from").or_else(|| v.get("role"))?.as_str()?;
    let text = v.get("value").or_else(|| v.get("content"))?.as_str()?;
    Some((role, text))
}

/// ShareGPT-style conversations: the first human turn is the prompt, the
/// reply that follows gives the output length.
fn conversation(v: &Value) -> Option<(String, Option<String>)> {
    let turns = v.as_array()?;
    let mut it = turns.iter().filter_map(turn);
    let (_, prompt) = it.by_ref().find(|(r, _)| matches!(*r, "human" | "user"))?;
    let reply = it
        .next()
        .filter(|(r, _)| matches!(*r, "gpt" | "assistant" | "bot" | "model"))
        .map(|t| t.1.to_string());
    Some((prompt.to_string(), reply))
}

/// Turn one row into a request; `None` when it has no usable prompt.
fn row_spec(
    row: &Map<String, Value>,
    m: &ColumnMapping,
    tok: Option<&Tokenizer>,
) -> Option<RequestSpec> {
    let count = |s: &str| {
        tok.and_then(|t| t.encode(s, true).ok())
            .map(|e| e.len() as u64)
    };
    let mut output_tokens = column(row, &m.output_tokens, &OUTPUT_COUNT_COLUMNS).and_then(as_count);
    let prompt_tokens = column(row, &m.prompt_tokens, &PROMPT_COUNT_COLUMNS).and_then(as_count);
    if let Some(Value::Array(msgs)) = column(row, &m.messages, &MESSAGES_COLUMNS) {
        if msgs.iter().any(|t| t.get("role").is_some()) {
            let text: Vec<&str> = msgs.iter().filter_map(turn).map(|t| t.1).collect();
            let mut spec = RequestSpec::new(text.join("\n"), prompt_tokens, output_tokens);
            spec.messages = Some(Value::Array(msgs.clone()));
            return Some(spec);
        }
    }
    let text = column(row, &m.text, &TEXT_COLUMNS)?;
    let prompt = match text {
        Value::String(s) => s.clone(),
        Value::Array(_) => {
            let (p, reply) = conversation(text)?;
            if output_tokens.is_none() {
                output_tokens = reply
                    .as_deref()
                    .and_then(|r| tok.and_then(|t| t.encode(r, false).ok()))
                    .map(|e| e.len() as u64);
            }
            p
        }
        Value::Number(_) | Value::Bool(_) => text.to_string(),
        _ => return None,
    };
    if prompt.trim().is_empty() {
        return None;
    }
    let system = column(row, &m.prefix, &PREFIX_COLUMNS)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let tokens = prompt_tokens.or_else(|| count(&prompt));
    let mut spec = RequestSpec::new(prompt, tokens, output_tokens.filter(|&o| o > 0));
    spec.system = system.map(String::from);
    Some(spec)
}

/// Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF; blank
/// lines dropped.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].is_empty()));
    rows
}

/// The rows of a file as JSON objects (strings become `{"text": ...}`).
fn read_rows(path: &Path, text: &str) -> Result<Vec<Map<String, Value>>, DataError> {
    let name = path.display();
    let ext = crate::extension(path);
    let obj = |v: Value| -> Option<Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            Value::String(s) => Some(Map::from_iter([("text".to_string(), Value::String(s))])),
            _ => None,
        }
    };
    match ext.as_str() {
        "jsonl" | "ndjson" => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let v: Value = serde_json::from_str(l).map_err(|e| {
                    DataError::new(format!("--data {name}: line {}: not JSON ({e})", i + 1))
                })?;
                obj(v).ok_or_else(|| {
                    DataError::new(format!(
                        "--data {name}: line {}: expected an object or a string",
                        i + 1
                    ))
                })
            })
            .collect(),
        "json" => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| DataError::new(format!("--data {name}: not JSON ({e})")))?;
            let list = match v {
                Value::Array(a) => a,
                Value::Object(m) => match m.into_iter().find(|(_, v)| v.is_array()) {
                    Some((_, Value::Array(a))) => a,
                    _ => {
                        return Err(DataError::new(format!(
                            "--data {name}: expected a list of rows"
                        )))
                    }
                },
                _ => {
                    return Err(DataError::new(format!(
                        "--data {name}: expected a list of rows"
                    )))
                }
            };
            Ok(list.into_iter().filter_map(obj).collect())
        }
        "csv" => {
            let mut rows = parse_csv(text).into_iter();
            let header = rows
                .next()
                .ok_or_else(|| DataError::new(format!("--data {name}: empty CSV")))?;
            Ok(rows
                .map(|r| {
                    header
                        .iter()
                        .cloned()
                        .zip(r.into_iter().map(Value::String))
                        .collect()
                })
                .collect())
        }
        "txt" | "text" => Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Map::from_iter([("text".to_string(), Value::String(l.to_string()))]))
            .collect()),
        other => Err(DataError::new(format!(
            "--data {name}: unsupported file type {other:?} (expected .jsonl, .json, .csv or .txt)"
        ))),
    }
}

/// A loaded dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    rows: Arc<Vec<RequestSpec>>,
}

impl Dataset {
    /// Load `path`. Prompt token counts come from a count column, else from
    /// `tokenizer` when given; a ShareGPT reply's length becomes the output length.
    pub fn load(
        path: &Path,
        mapping: &ColumnMapping,
        tokenizer: Option<&Tokenizer>,
    ) -> Result<Dataset, DataError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DataError::new(format!("--data {}: cannot read ({e})", path.display())))?;
        let rows = read_rows(path, &text)?;
        if rows.is_empty() {
            return Err(DataError::new(format!(
                "--data {}: no rows",
                path.display()
            )));
        }
        let specs: Vec<RequestSpec> = rows
            .iter()
            .filter_map(|r| row_spec(r, mapping, tokenizer))
            .collect();
        if specs.is_empty() {
            let cols: Vec<&String> = rows[0].keys().collect();
            return Err(DataError::new(format!(
                "--data {}: no usable prompt column (found {cols:?}; expected one of {}, messages, \
                 or conversations; or set --data-column-mapper '{{\"text_column\": \"NAME\"}}')",
                path.display(),
                TEXT_COLUMNS.join(", ")
            )));
        }
        Ok(Dataset {
            rows: Arc::new(specs),
        })
    }

    /// Requests in the dataset.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no request (never true for a loaded dataset).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A source over the first `samples` rows (all when `None`), shuffled with
    /// `shuffle_seed` when given, cycled when the run needs more.
    pub fn source(&self, samples: Option<usize>, shuffle_seed: Option<u64>) -> DatasetSource {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        if let Some(seed) = shuffle_seed {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        }
        if let Some(n) = samples {
            order.truncate(n.max(1));
        }
        DatasetSource {
            rows: Arc::clone(&self.rows),
            order,
            next: 0,
        }
    }
}

/// Requests from a dataset, cycling.
#[derive(Debug)]
pub struct DatasetSource {
    rows: Arc<Vec<RequestSpec>>,
    order: Vec<usize>,
    next: usize,
}

impl RequestSource for DatasetSource {
    fn next_request(&mut self) -> Result<Option<RequestSpec>, DataError> {
        let row = self.rows[self.order[self.next % self.order.len()]].clone();
        self.next += 1;
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, body: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("llmload-ds-{}-{name}", std::process::id()));
        std::fs::write(&p, body).unwrap();
        p
    }

    fn load(name: &str, body: &str, mapping: &ColumnMapping) -> Result<Dataset, DataError> {
        let p = write(name, body);
        let r = Dataset::load(&p, mapping, None);
        std::fs::remove_file(p).unwrap();
        r
    }

    fn all(d: &Dataset) -> Vec<RequestSpec> {
        let mut s = d.source(None, None);
        (0..d.len())
            .map(|_| s.next_request().unwrap().unwrap())
            .collect()
    }

    #[test]
    fn formats_and_default_columns() {
        let m = ColumnMapping::default();
        let d = load(
            "a.jsonl",
            "{\"Prompts\": \"hi there\", \"output_tokens_count\": 7}\n\n{\"question\": \"why?\"}\n",
            &m,
        )
        .unwrap();
        let rows = all(&d);
        assert_eq!(
            (rows[0].prompt.as_str(), rows[0].output_tokens),
            ("hi there", Some(7))
        );
        assert_eq!(rows[1].prompt, "why?");
        let d = load(
            "b.csv",
            "id,instruction,completion_tokens_count\n1,\"say \"\"x\"\", please\",5\n2,go,\n",
            &m,
        )
        .unwrap();
        let rows = all(&d);
        assert_eq!(
            (rows[0].prompt.as_str(), rows[0].output_tokens),
            ("say \"x\", please", Some(5))
        );
        assert_eq!(
            (rows[1].prompt.as_str(), rows[1].output_tokens),
            ("go", None)
        );
        let d = load("c.txt", "first line\n\nsecond line\n", &m).unwrap();
        assert_eq!(
            all(&d)
                .iter()
                .map(|r| r.prompt.as_str())
                .collect::<Vec<_>>(),
            ["first line", "second line"]
        );
        let d = load(
            "d.json",
            r#"{"data": [{"text": "a", "system": "be brief"}, "b"]}"#,
            &m,
        )
        .unwrap();
        let rows = all(&d);
        assert_eq!(
            (rows[0].prompt.as_str(), rows[0].system.as_deref()),
            ("a", Some("be brief"))
        );
        assert_eq!(rows[1].prompt, "b");
    }

    #[test]
    fn sharegpt_and_messages() {
        let tok = crate::tokenizer::bundled_gpt2();
        let body = r#"[{"id": "x", "conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "Hello there"}, {"from": "gpt", "value": "General Kenobi, you are a bold one"}]},
                       {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hey"}]}]"#;
        let p = write("e.json", body);
        let d = Dataset::load(&p, &ColumnMapping::default(), Some(&tok)).unwrap();
        std::fs::remove_file(p).unwrap();
        let rows = all(&d);
        assert_eq!(rows[0].prompt, "Hello there");
        assert_eq!(rows[0].prompt_tokens, Some(2));
        assert_eq!(
            rows[0].output_tokens,
            Some(
                tok.encode("General Kenobi, you are a bold one", false)
                    .unwrap()
                    .len() as u64
            )
        );
        assert!(rows[1].messages.as_ref().unwrap().is_array());
    }

    #[test]
    fn mapping_shuffle_samples_and_cycling() {
        let m = ColumnMapping::parse(Some(r#"{"text_column": "article"}"#)).unwrap();
        let body: String = (0..10)
            .map(|i| format!("{{\"article\": \"a{i}\", \"prompt\": \"ignored\"}}\n"))
            .collect();
        let d = load("f.jsonl", &body, &m).unwrap();
        let take = |mut s: DatasetSource, n| {
            (0..n)
                .map(|_| s.next_request().unwrap().unwrap().prompt)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            take(d.source(Some(3), None), 7),
            ["a0", "a1", "a2", "a0", "a1", "a2", "a0"]
        );
        let a = take(d.source(None, Some(42)), 10);
        assert_eq!(a, take(d.source(None, Some(42)), 10));
        assert_ne!(a, take(d.source(None, Some(43)), 10));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn bad_files_are_named() {
        let m = ColumnMapping::default();
        let err = load("g.jsonl", "{\"colour\": \"blue\"}\n", &m)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no usable prompt column") && err.contains("colour"),
            "{err}"
        );
        let err = load("h.jsonl", "{nope\n", &m).unwrap_err().to_string();
        assert!(err.contains("line 1: not JSON"), "{err}");
        let err = load("i.parquet", "x", &m).unwrap_err().to_string();
        assert!(err.contains("unsupported file type"), "{err}");
        let err = Dataset::load(Path::new("/no/such.jsonl"), &m, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--data /no/such.jsonl: cannot read"), "{err}");
        assert!(ColumnMapping::parse(Some(r#"{"bogus": "x"}"#))
            .unwrap_err()
            .to_string()
            .contains("unknown key"));
    }
}

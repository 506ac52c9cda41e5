//! Reports whose request lists are written as they are read: the rest of
//! the report is rendered as one document with a marker where each
//! streamed list goes, and each entry is rendered on its own and spliced in
//! where the marker is. The text is the one the whole document would give
//! (`tests/` compare the two), with one entry in memory at a time.
//!
//! - JSON (compact, as `serde_json::to_string` writes it): the marker's
//!   string becomes `[entry,entry,...]`.
//! - YAML (keys sorted, as serde_yaml lays out a list under a key): `- ` at
//!   the key's column, the entry's lines two further in.

use std::io::Write;

use serde_json::Value;

const MARKER: &str = "llmload-streamed-list-5f0c2e";

/// What stands in for list `k` (completed, errored, incomplete) of
/// benchmark `i` until it is spliced in.
pub(crate) fn marker(i: usize, k: usize) -> Value {
    Value::String(format!("{MARKER}-{i}-{k}"))
}

/// Hands each entry of list `k` of benchmark `i`, in order, to the sink.
pub(crate) type Lists<'a> =
    dyn Fn(usize, usize, &mut dyn FnMut(Value) -> std::io::Result<()>) -> std::io::Result<()> + 'a;

/// `skeleton` as compact JSON, each marker replaced by its list.
pub(crate) fn json(
    skeleton: &Value,
    lists: &Lists<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let text = serde_json::to_string(skeleton).map_err(std::io::Error::other)?;
    let quoted = format!("\"{MARKER}-");
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&quoted) {
        out.write_all(&rest.as_bytes()[..at])?;
        let after = &rest[at + quoted.len()..];
        let end = after
            .find('"')
            .ok_or_else(|| std::io::Error::other("a streamed list's marker unterminated"))?;
        let (i, k) = numbers(&after[..end])
            .ok_or_else(|| std::io::Error::other("a streamed list's marker out of place"))?;
        out.write_all(b"[")?;
        let mut first = true;
        lists(i, k, &mut |entry| {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, &entry).map_err(std::io::Error::other)
        })?;
        out.write_all(b"]")?;
        rest = &after[end + 1..];
    }
    out.write_all(rest.as_bytes())
}

/// `skeleton` as YAML with its keys sorted, each marker replaced by its list.
pub(crate) fn yaml(
    skeleton: Value,
    lists: &Lists<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let text = serde_yaml::to_string(&crate::sort_keys(skeleton)).map_err(std::io::Error::other)?;
    for line in text.lines() {
        let Some((head, (i, k))) = marker_of(line) else {
            writeln!(out, "{line}")?;
            continue;
        };
        let indent = head.len() - head.trim_start().len();
        let pad = " ".repeat(indent);
        let mut any = false;
        lists(i, k, &mut |entry| {
            if !any {
                writeln!(out, "{head}")?;
                any = true;
            }
            let yaml =
                serde_yaml::to_string(&crate::sort_keys(entry)).map_err(std::io::Error::other)?;
            for (n, l) in yaml.lines().enumerate() {
                match n {
                    0 => writeln!(out, "{pad}- {l}")?,
                    // A block scalar's empty line stays empty, as serde_yaml writes it.
                    _ if l.is_empty() => writeln!(out)?,
                    _ => writeln!(out, "{pad}  {l}")?,
                }
            }
            Ok(())
        })?;
        if !any {
            writeln!(out, "{head} []")?;
        }
    }
    Ok(())
}

/// `(benchmark, list)` of a marker's `I-K` (`K` one of the three lists).
fn numbers(s: &str) -> Option<(usize, usize)> {
    let (i, k) = s.split_once('-')?;
    let k: usize = k.parse().ok()?;
    (k < 3).then_some((i.parse().ok()?, k))
}

/// `(the line up to and with its key's colon, (benchmark, list))` of a
/// marker line.
fn marker_of(line: &str) -> Option<(&str, (usize, usize))> {
    let (head, value) = line.split_once(": ")?;
    let rest = value.strip_prefix(MARKER)?.strip_prefix('-')?;
    Some((&line[..head.len() + 1], numbers(rest)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spliced_lists_give_the_whole_documents_text() {
        let entry = |i: usize, k: usize, n: usize| json!({"b": i, "list": k, "n": n, "text": "two\nlines", "a": [1.5, null]});
        let lists = |i: usize, k: usize, f: &mut dyn FnMut(Value) -> std::io::Result<()>| {
            // List 1 of each benchmark is empty.
            for n in 0..[3, 0, 2][k] {
                f(entry(i, k, n))?;
            }
            Ok(())
        };
        let doc = |whole: bool| {
            let requests = |i: usize| {
                let list = |k: usize| {
                    if whole {
                        Value::Array((0..[3, 0, 2][k]).map(|n| entry(i, k, n)).collect())
                    } else {
                        marker(i, k)
                    }
                };
                json!({"successful": list(0), "errored": list(1), "incomplete": list(2), "total": null})
            };
            json!({"z": 1, "benchmarks": [{"requests": requests(0)}, {"x": {"requests": requests(1)}}]})
        };
        let mut spliced = Vec::new();
        json(&doc(false), &lists, &mut spliced).unwrap();
        assert_eq!(
            String::from_utf8(spliced).unwrap(),
            serde_json::to_string(&doc(true)).unwrap()
        );
        let mut spliced = Vec::new();
        yaml(doc(false), &lists, &mut spliced).unwrap();
        assert_eq!(
            String::from_utf8(spliced).unwrap(),
            serde_yaml::to_string(&crate::sort_keys(doc(true))).unwrap()
        );
        // A report's own text that looks like a marker of no list is an
        // error, never a list read out of bounds.
        let odd = json!({"note": format!("{MARKER}-0-7")});
        assert!(json(&odd, &lists, &mut Vec::new()).is_err());
    }
}

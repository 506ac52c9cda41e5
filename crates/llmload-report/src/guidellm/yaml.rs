//! The YAML of a report whose requests are streamed: the rest of the
//! report is rendered as one document with a marker where each streamed
//! list goes, and each entry is rendered on its own and spliced in at the
//! marker's indentation, as serde_yaml lays out a list under a key (`- `
//! at the key's column, the entry's lines two further in). So the text is
//! the one the whole document would give, with one entry in memory at a
//! time (`tests/` compare the two).

use std::io::Write;

use serde_json::Value;

use super::wire::Report;

const MARKER: &str = "llmload-streamed-list-5f0c2e";

/// Whether any benchmark of `report` lists its requests as it is written.
pub(crate) fn has_streamed(report: &Report) -> bool {
    report
        .benchmarks
        .iter()
        .any(|b| b.requests.streamed.0.is_some())
}

/// Write `report` as YAML with keys sorted (see [`Report::to_yaml`]).
pub(crate) fn write(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    // The report without its streamed lists, each replaced by a marker.
    let mut skeleton = report.clone();
    let mut streamed = Vec::new();
    for (i, b) in skeleton.benchmarks.iter_mut().enumerate() {
        if let Some(lazy) = b.requests.streamed.0.take() {
            streamed.push((i, lazy));
        }
    }
    let mut v = serde_json::to_value(&skeleton).map_err(std::io::Error::other)?;
    for (i, _) in &streamed {
        let requests = &mut v["benchmarks"][*i]["requests"];
        for (k, key) in ["successful", "errored", "incomplete"].iter().enumerate() {
            requests[*key] = Value::String(format!("{MARKER}-{i}-{k}"));
        }
    }
    let text = serde_yaml::to_string(&crate::sort_keys(v)).map_err(std::io::Error::other)?;
    for line in text.lines() {
        let Some((head, at)) = marker_of(line) else {
            writeln!(out, "{line}")?;
            continue;
        };
        let (i, k) = at;
        let lazy = &streamed
            .iter()
            .find(|s| s.0 == i)
            .ok_or_else(|| std::io::Error::other("a streamed list's marker out of place"))?
            .1;
        let indent = head.len() - head.trim_start().len();
        let pad = " ".repeat(indent);
        let mut any = false;
        lazy.each(k, |entry| {
            if !any {
                writeln!(out, "{head}")?;
                any = true;
            }
            let v = serde_json::to_value(entry).map_err(std::io::Error::other)?;
            let yaml =
                serde_yaml::to_string(&crate::sort_keys(v)).map_err(std::io::Error::other)?;
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

/// `(the line up to and with its key's colon, (benchmark, list))` of a
/// marker line.
fn marker_of(line: &str) -> Option<(&str, (usize, usize))> {
    let (head, value) = line.split_once(": ")?;
    let rest = value.strip_prefix(MARKER)?.strip_prefix('-')?;
    let (i, k) = rest.split_once('-')?;
    let at = (i.parse().ok()?, k.parse().ok()?);
    Some((&line[..head.len() + 1], at))
}

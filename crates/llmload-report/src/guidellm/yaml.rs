//! The YAML of a report whose requests are streamed: each streamed list
//! spliced into the rest of the report (`crate::splice`).

use std::io::Write;

use serde_json::Value;

use super::wire::Report;

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
            requests[*key] = crate::splice::marker(*i, k);
        }
    }
    let lists = |i: usize, k: usize, f: &mut dyn FnMut(Value) -> std::io::Result<()>| {
        let lazy = &streamed
            .iter()
            .find(|s| s.0 == i)
            .ok_or_else(|| std::io::Error::other("a streamed list's marker out of place"))?
            .1;
        lazy.each(k, |entry| {
            f(serde_json::to_value(entry).map_err(std::io::Error::other)?)
        })
    };
    crate::splice::yaml(v, &lists, out)
}

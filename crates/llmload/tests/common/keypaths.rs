//! Every key path of a GuideLLM 0.4.0 fixture report, with its JSON types,
//! must be in ours with a compatible type.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// JSON type names, with int and float told apart.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

pub fn paths(v: &Value, at: String, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    out.entry(at.clone()).or_default().insert(kind(v));
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| paths(x, format!("{at}.{k}"), out)),
        Value::Array(a) => a.iter().for_each(|x| paths(x, format!("{at}[]"), out)),
        _ => {}
    }
}

/// Panics unless `ours` has every key path of the fixture
/// `fixtures/guidellm-0.4.0/{name}-benchmarks.json`, with a compatible type.
pub fn assert_covers(ours_report: &Value, name: &str) {
    let text = std::fs::read_to_string(super::shared(&format!(
        "fixtures/guidellm-0.4.0/{name}-benchmarks.json"
    )))
    .unwrap();
    covers(
        ours_report,
        &serde_json::from_str(&text).unwrap(),
        name,
        &[],
    );
}

/// Panics unless `ours` has every key path of GuideLLM 0.8.1's report
/// `fixtures/guidellm-0.8.1/{rel}` (JSON or YAML), with a compatible type.
/// `optional`: paths where GuideLLM's value depends on what happened in
/// its run and ours may be null or an empty list (nothing beneath them is
/// then missing).
#[allow(dead_code)]
pub fn assert_covers_08(ours_report: &Value, rel: &str, optional: &[&str]) {
    let text =
        std::fs::read_to_string(super::shared(&format!("fixtures/guidellm-0.8.1/{rel}"))).unwrap();
    let theirs: Value = if rel.ends_with(".yaml") {
        serde_yaml::from_str(&text).unwrap()
    } else {
        serde_json::from_str(&text).unwrap()
    };
    covers(ours_report, &theirs, rel, optional);
}

fn covers(ours_report: &Value, theirs_report: &Value, name: &str, optional: &[&str]) {
    let mut ours = BTreeMap::new();
    paths(ours_report, String::new(), &mut ours);
    let mut theirs = BTreeMap::new();
    paths(theirs_report, String::new(), &mut theirs);
    // Beneath an optional path (null or an empty list in ours) nothing is missing.
    let excused = |p: &str| optional.iter().any(|o| p.starts_with(o));
    let missing: Vec<_> = theirs
        .keys()
        .filter(|p| !ours.contains_key(*p) && !excused(p))
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: {} paths missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(400)]
    );
    // Types: ours must be among GuideLLM's, except a value where GuideLLM had null
    // (an optional field), an int where GuideLLM had a float, and null in the
    // fields GuideLLM 0.4's schema declares optional (the fixtures were written
    // with --sample-requests 10 and a --processor; without them GuideLLM writes
    // null too).
    const OPTIONAL: [&str; 3] = [
        ".args.processor",
        ".args.sample_requests",
        ".benchmarks[].config.sample_requests",
    ];
    let mut mismatched = Vec::new();
    for (p, t) in &theirs {
        let Some(kinds) = ours.get(p) else { continue };
        for k in kinds {
            let ok = t.contains(k)
                || t.contains("null")
                || (*k == "int" && t.contains("float"))
                || (*k == "null" && OPTIONAL.contains(&p.as_str()))
                || (*k == "null" && optional.contains(&p.as_str()))
                // An interval is null where the sample cannot support one
                // (under two observations, or too few for that percentile).
                || (*k == "null" && (p.contains(".percentile_cis") || p.contains(".mean_ci")));
            if !ok {
                mismatched.push(format!("{p}: ours {k}, GuideLLM {t:?}"));
            }
        }
    }
    assert!(mismatched.is_empty(), "{name}: {mismatched:#?}");
}

/// Panics unless the CSV at `ours` has every column of GuideLLM 0.8.1's
/// `fixtures/guidellm-0.8.1/{rel}` for successful requests (a status's
/// columns appear only when its values do not sum to 0, so the fixture
/// run's incomplete and errored columns depend on what happened in it),
/// and a number wherever GuideLLM wrote one.
#[allow(dead_code)]
pub fn assert_csv_covers_08(ours: &std::path::Path, rel: &str) {
    let read = |text: &str| llmload_data::parse_csv(text);
    let ours = read(&std::fs::read_to_string(ours).unwrap());
    let theirs = read(
        &std::fs::read_to_string(super::shared(&format!("fixtures/guidellm-0.8.1/{rel}"))).unwrap(),
    );
    let columns = |rows: &Vec<Vec<String>>| -> BTreeMap<(String, String, String), String> {
        (0..rows[0].len())
            .map(|c| {
                (
                    (rows[0][c].clone(), rows[1][c].clone(), rows[2][c].clone()),
                    rows[3][c].clone(),
                )
            })
            .collect()
    };
    let (ours, theirs) = (columns(&ours), columns(&theirs));
    let mut missing = Vec::new();
    for (h, v) in &theirs {
        if h.1.starts_with("Incomplete") || h.1.starts_with("Errored") {
            continue;
        }
        match ours.get(h) {
            None => missing.push(format!("{h:?}")),
            Some(x) if v.parse::<f64>().is_ok() && x.parse::<f64>().is_err() => {
                missing.push(format!("{h:?}: {x:?} is not a number"))
            }
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "{rel}: {}", missing.join("\n"));
}

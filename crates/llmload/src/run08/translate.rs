//! A GuideLLM 0.8 scenario as `llmload benchmark` arguments, checked kind
//! by kind and key by key: every key GuideLLM 0.8.1 accepts is either
//! acted on, accepted because it changes nothing llmload does, or refused
//! with the option, the key and why.

use serde_json::{Map, Value};

use super::RunArgs;
use crate::CliError;

fn refuse(flag: &str, what: &str) -> CliError {
    CliError::usage(format!("{flag}: {what}"))
}

/// A number as a flag value (`5`, `0.5`).
fn num(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.parse::<f64>().is_ok() => Some(s.clone()),
        _ => None,
    }
}

/// A number or a list of numbers, comma-joined.
fn nums(flag: &str, key: &str, v: &Value) -> Result<String, CliError> {
    let list = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let out: Option<Vec<String>> = list.iter().map(num).collect();
    match out {
        Some(o) if !o.is_empty() => Ok(o.join(",")),
        _ => Err(refuse(
            flag,
            &format!("{key}: expected a number or a list of numbers, got {v}"),
        )),
    }
}

/// The keys of `obj` must be among `known` (hyphens read as underscores).
fn check_keys(
    flag: &str,
    kind: &str,
    obj: &Map<String, Value>,
    known: &[&str],
) -> Result<(), CliError> {
    for k in obj.keys() {
        if k != "kind" && !known.contains(&k.replace('-', "_").as_str()) {
            return Err(refuse(
                flag,
                &format!(
                    "unknown key {k:?} for kind={kind} (expected {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn obj<'a>(flag: &str, v: &'a Value) -> Result<(&'a Map<String, Value>, &'a str), CliError> {
    let m = v
        .as_object()
        .ok_or_else(|| refuse(flag, &format!("expected kind=...,key=value, got {v}")))?;
    let kind = m
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(flag, "missing required key 'kind'"))?;
    Ok((m, kind))
}

/// Fold the per-benchmark overrides (`benchmarks: [{"profile.streams": 1}, ...]`)
/// into the spec, as GuideLLM 0.8.1 does: `profile.rate` and
/// `profile.streams` become lists; other keys must agree across benchmarks.
fn fold_benchmarks(doc: &Value) -> Result<Value, CliError> {
    let mut spec = doc
        .get("spec")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let Some(list) = doc.get("benchmarks").and_then(Value::as_array) else {
        return Ok(spec);
    };
    let mut keys: Vec<(String, Vec<Value>)> = Vec::new();
    for b in list.iter().filter_map(Value::as_object) {
        for (k, v) in b {
            match keys.iter_mut().find(|(key, _)| key == k) {
                Some((_, vs)) => vs.push(v.clone()),
                None => keys.push((k.clone(), vec![v.clone()])),
            }
        }
    }
    for (k, vs) in keys {
        let value = if k == "profile.rate" || k == "profile.streams" {
            Value::Array(vs)
        } else if vs.windows(2).all(|w| w[0] == w[1]) {
            vs[0].clone()
        } else {
            return Err(refuse(
                "--override",
                &format!("{k}: values differ between benchmarks ({}); llmload varies only profile.rate and profile.streams", Value::Array(vs)),
            ));
        };
        super::spec::set_path(&mut spec, &k, value).map_err(|e| refuse("--override", &e))?;
    }
    Ok(spec)
}

/// The `llmload benchmark` argv for a scenario.
pub fn to_benchmark_argv(doc: &Value, a: &RunArgs) -> Result<Vec<String>, CliError> {
    let spec = fold_benchmarks(doc)?;
    let mut argv: Vec<String> = vec![
        "llmload".into(),
        "benchmark".into(),
        "--schema".into(),
        "0.8".into(),
    ];
    let mut push = |k: &str, v: String| {
        argv.push(k.into());
        argv.push(v);
    };
    let mut backend_args = Map::new();

    // --backend
    let b = spec
        .get("backend")
        .ok_or_else(|| refuse("--backend", "required (kind=openai_http,target=URL)"))?;
    let (b, kind) = obj("--backend", b)?;
    if kind != "openai_http" {
        return Err(refuse("--backend", &format!("kind={kind}: llmload drives OpenAI-compatible HTTP servers only (kind=openai_http)")));
    }
    check_keys(
        "--backend",
        kind,
        b,
        &[
            "target",
            "model",
            "request_format",
            "api_key",
            "api_routes",
            "timeout",
            "timeout_connect",
            "http2",
            "follow_redirects",
            "verify",
            "validate_backend",
            "stream",
            "extras",
            "max_tokens",
            "max_completion_tokens",
            "server_history",
            "tool_call_missing_behavior",
            "multiturn_reasoning",
        ],
    )?;
    let target = b
        .get("target")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse("--backend", "target: required (the server's URL, or mock)"))?;
    push("--target", target.to_string());
    if let Some(m) = b
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    {
        push("--model", m.to_string());
    }
    match b.get("request_format").and_then(Value::as_str) {
        None | Some("/v1/chat/completions") => push("--request-type", "chat_completions".into()),
        Some("/v1/completions") => push("--request-type", "text_completions".into()),
        Some(other) => {
            return Err(refuse(
                "--backend",
                &format!(
                    "request_format={other}: llmload sends /v1/chat/completions or /v1/completions"
                ),
            ))
        }
    }
    for key in [
        "api_key",
        "timeout",
        "verify",
        "stream",
        "http2",
        "follow_redirects",
    ] {
        if let Some(v) = b.get(key).filter(|v| !v.is_null()) {
            backend_args.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = b
        .get("max_tokens")
        .or(b.get("max_completion_tokens"))
        .filter(|v| !v.is_null())
    {
        backend_args.insert("max_output_tokens".into(), v.clone());
    }
    if let Some(e) = b.get("extras").filter(|v| !v.is_null()) {
        if let Some(body) = e.get("body") {
            backend_args.insert("extra_body".into(), body.clone());
        }
        if let Some(h) = e.get("headers") {
            backend_args.insert("headers".into(), h.clone());
        }
    }
    if b.get("server_history").and_then(Value::as_bool) == Some(true) {
        return Err(refuse(
            "--backend",
            "server_history=true: only for /v1/responses, which llmload does not send",
        ));
    }

    // --profile
    let p = spec.get("profile").ok_or_else(|| {
        refuse(
            "--profile",
            "required (kind=constant,rate=N, kind=concurrent,streams=N, kind=sweep, ...)",
        )
    })?;
    let (p, kind) = obj("--profile", p)?;
    let common = ["rampup_duration", "warmup", "cooldown"];
    let with =
        |own: &[&'static str]| -> Vec<&'static str> { common.iter().chain(own).copied().collect() };
    match kind {
        "synchronous" => {
            check_keys("--profile", kind, p, &with(&[]))?;
            push("--rate-type", "synchronous".into());
        }
        "concurrent" => {
            check_keys("--profile", kind, p, &with(&["streams"]))?;
            let s = p.get("streams").ok_or_else(|| refuse("--profile", "kind=concurrent: streams required (a number or a list)"))?;
            push("--rate-type", "concurrent".into());
            push("--rate", nums("--profile", "streams", s)?);
        }
        "throughput" => {
            check_keys("--profile", kind, p, &with(&["max_concurrency"]))?;
            push("--rate-type", "throughput".into());
            if let Some(n) = p.get("max_concurrency").and_then(num) {
                push("--max-concurrency", n);
            }
        }
        "async" | "constant" | "poisson" => {
            check_keys("--profile", kind, p, &with(&["rate", "max_concurrency", "strategy_type"]))?;
            let r = p.get("rate").ok_or_else(|| refuse("--profile", &format!("kind={kind}: rate required (requests/s, a number or a list)")))?;
            push("--rate-type", if kind == "poisson" { "poisson" } else { "constant" }.into());
            push("--rate", nums("--profile", "rate", r)?);
            if let Some(n) = p.get("max_concurrency").and_then(num) {
                push("--max-concurrency", n);
            }
        }
        "sweep" => {
            check_keys("--profile", kind, p, &with(&["sweep_size", "strategy_type", "max_concurrency"]))?;
            if let Some(t) = p.get("strategy_type").and_then(Value::as_str).filter(|t| *t != "constant") {
                return Err(refuse("--profile", &format!("kind=sweep,strategy_type={t}: llmload sweeps constant rates only")));
            }
            push("--rate-type", "sweep".into());
            push("--rate", p.get("sweep_size").and_then(num).unwrap_or_else(|| "10".into()));
        }
        "replay" | "knee" | "goodput" => {
            return Err(refuse("--profile", &format!("kind={kind} is not supported by llmload (supported: synchronous, concurrent, throughput, async, constant, poisson, sweep)")));
        }
        other => return Err(refuse("--profile", &format!("kind={other}: expected synchronous, concurrent, throughput, async, constant, poisson or sweep"))),
    }
    if let Some(r) = p.get("rampup_duration").and_then(num) {
        push("--rampup", r);
    }
    for (key, flag) in [("warmup", "--warmup"), ("cooldown", "--cooldown")] {
        match p.get(key) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Number(_)) => push(flag, v.to_string()),
            Some(v @ Value::Object(_)) => push(flag, v.to_string()),
            Some(v) => {
                return Err(refuse(
                    "--profile",
                    &format!("{key}: expected a number or {{percent, value, mode}}, got {v}"),
                ))
            }
        }
    }

    // --constraint
    let empty = Vec::new();
    for c in spec
        .get("constraints")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let (c, kind) = obj("--constraint", c)?;
        if let Some(s) = c
            .get("stopping_scope")
            .and_then(Value::as_str)
            .filter(|s| *s != "current")
        {
            return Err(refuse(
                "--constraint",
                &format!(
                    "kind={kind},stopping_scope={s}: llmload stops the current benchmark only"
                ),
            ));
        }
        let value = |key: &str| -> Result<String, CliError> {
            let v = c
                .get(key)
                .ok_or_else(|| refuse("--constraint", &format!("kind={kind}: {key} required")))?;
            let s = nums("--constraint", key, v)?;
            if s.contains(',') {
                return Err(refuse(
                    "--constraint",
                    &format!("kind={kind}: {key}={v}: one value for every benchmark"),
                ));
            }
            Ok(s)
        };
        match kind {
            "max_duration" => {
                check_keys("--constraint", kind, c, &["stopping_scope", "seconds"])?;
                push("--max-seconds", value("seconds")?);
            }
            "max_requests" | "max_errors" => {
                check_keys("--constraint", kind, c, &["stopping_scope", "count"])?;
                push(&format!("--{}", kind.replace('_', "-")), value("count")?);
            }
            "max_error_rate" | "max_global_error_rate" => {
                let extra = if kind == "max_error_rate" { "window" } else { "minimum" };
                check_keys("--constraint", kind, c, &["stopping_scope", "rate", extra])?;
                if let Some(w) = c.get(extra).and_then(Value::as_u64).filter(|w| *w != 30) {
                    return Err(refuse("--constraint", &format!("kind={kind},{extra}={w}: llmload uses GuideLLM's default of 30 requests")));
                }
                push(&format!("--{}", kind.replace('_', "-")), value("rate")?);
            }
            "over_saturation" => {
                check_keys("--constraint", kind, c, &["stopping_scope", "mode", "min_seconds", "max_window_seconds", "moe_threshold", "minimum_ttft", "maximum_window_ratio", "minimum_window_size", "confidence"])?;
                if c.get("mode").and_then(Value::as_str).is_some_and(|m| m != "enforce") {
                    return Err(refuse("--constraint", "kind=over_saturation: mode=monitor is not supported (llmload enforces)"));
                }
                let mut o = Map::new();
                o.insert("enabled".into(), Value::Bool(true));
                for k in ["min_seconds", "max_window_seconds", "moe_threshold", "minimum_ttft", "minimum_window_size"] {
                    if let Some(v) = c.get(k) {
                        o.insert(k.into(), v.clone());
                    }
                }
                push("--over-saturation", Value::Object(o).to_string());
            }
            "min_requests" => return Err(refuse("--constraint", "kind=min_requests is not supported by llmload yet")),
            other => return Err(refuse("--constraint", &format!("kind={other}: expected max_duration, max_requests, max_errors, max_error_rate, max_global_error_rate or over_saturation"))),
        }
    }

    // --data
    let data = spec
        .get("data")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            refuse(
                "--data",
                "required (kind=synthetic_text,prompt_tokens=N,output_tokens=N, or a file)",
            )
        })?;
    for d in data {
        let (d, kind) = obj("--data", d)?;
        match kind {
            "synthetic_text" => {
                let keys = llmload_data::SyntheticSpec::keys();
                let mut known: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| !matches!(*k, "samples" | "source"))
                    .collect();
                known.push("load_kwargs");
                // Tool calling and sub-agent branches: accepted only empty
                // (as 0.8.1 writes them in a full config).
                for k in ["tool_call_turns", "tools", "tool_response_tokens", "tool_response_tokens_stdev",
                          "tool_response_tokens_min", "tool_response_tokens_max", "server_tool_call_turns", "branches"] {
                    match d.get(k) {
                        None | Some(Value::Null) => {}
                        Some(Value::Array(a)) if a.is_empty() => {}
                        Some(_) => return Err(refuse("--data", &format!("kind=synthetic_text: {k} (tool calling, branches) is not supported by llmload"))),
                    }
                    known.push(k);
                }
                check_keys("--data", kind, d, &known)?;
                if d.get("prompt_tokens").and_then(Value::as_u64).is_none() {
                    return Err(refuse("--data", "kind=synthetic_text: prompt_tokens required (an integer > 0)"));
                }
                // Passed on as a JSON spec: --data reads the same keys.
                let spec: Map<String, Value> = d
                    .iter()
                    .filter(|(k, v)| {
                        *k != "load_kwargs" && !v.is_null() && keys.contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                push("--data", Value::Object(spec).to_string());
            }
            "text_file" | "csv_file" | "json_file" | "parquet_file" => {
                let path = d.get("path").and_then(Value::as_str).ok_or_else(|| refuse("--data", &format!("kind={kind}: path required")))?;
                push("--data", path.to_string());
            }
            "huggingface" | "hf" => {
                let src = d.get("source").and_then(Value::as_str).ok_or_else(|| refuse("--data", &format!("kind={kind}: source required")))?;
                push("--data", src.to_string());
            }
            other => return Err(refuse("--data", &format!("kind={other} is not supported by llmload (synthetic_text, text_file, csv_file, json_file, parquet_file, huggingface)"))),
        }
    }
    if let Some(l) = spec.get("data_loader") {
        let (l, kind) = obj("--data-loader", l)?;
        check_keys(
            "--data-loader",
            kind,
            l,
            &["samples", "shuffle", "num_workers", "prefetch_factor"],
        )?;
        if let Some(n) = l.get("samples").and_then(num) {
            push("--data-samples", n);
        }
    }
    if let Some(t) = spec.get("tokenizer") {
        let (t, kind) = obj("--tokenizer", t)?;
        check_keys("--tokenizer", kind, t, &["model", "load_kwargs"])?;
        if let Some(m) = t.get("model").and_then(Value::as_str) {
            push("--processor", m.to_string());
        }
    }
    if let Some(s) = spec.get("seed") {
        let (s, kind) = obj("--seed", s)?;
        check_keys("--seed", kind, s, &["value"])?;
        if let Some(v) = s.get("value").and_then(num) {
            push("--random-seed", v);
        }
    }
    if let Some(m) = spec.get("metrics") {
        let (m, kind) = obj("--metrics", m)?;
        check_keys(
            "--metrics",
            kind,
            m,
            &[
                "sample_size",
                "prefer_response_metrics",
                "confidence",
                "slo",
                "warnings",
            ],
        )?;
        if let Some(n) = m.get("sample_size").and_then(num) {
            push("--sample-requests", n);
        }
        if m.get("confidence")
            .and_then(Value::as_f64)
            .is_some_and(|c| c != llmload_metrics::CONFIDENCE)
        {
            return Err(refuse(
                "--metrics",
                "confidence: llmload reports 95 % intervals only",
            ));
        }
        if m.get("slo").is_some_and(|s| !s.is_null()) {
            return Err(refuse(
                "--metrics",
                "slo: not supported by llmload yet (see --slo of llmload benchmark)",
            ));
        }
    }
    let mut outputs = Vec::new();
    for o in spec
        .get("outputs")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let (o, kind) = obj("--output", o)?;
        check_keys("--output", kind, o, &["path", "dpi"])?;
        match (kind, o.get("path").and_then(Value::as_str)) {
            ("plot", _) => {
                return Err(refuse(
                    "--output",
                    "kind=plot is not supported by llmload (html has the charts)",
                ))
            }
            ("json" | "yaml" | "csv" | "html", Some(path)) => outputs.push(path.to_string()),
            ("json" | "yaml" | "csv" | "html" | "console", None) => outputs.push(kind.to_string()),
            (other, _) => {
                return Err(refuse(
                    "--output",
                    &format!("kind={other}: expected json, yaml, csv, html or console"),
                ))
            }
        }
    }
    if !outputs.is_empty() {
        push("--outputs", outputs.join(","));
    }
    if !backend_args.is_empty() {
        push("--backend-args", Value::Object(backend_args).to_string());
    }
    if let Some(list) = doc.get("benchmarks").and_then(Value::as_array) {
        if list.iter().all(Value::is_object) && !list.is_empty() {
            push("--overrides-record", Value::Array(list.clone()).to_string());
        }
    }
    for (k, v) in doc["metadata"]["labels"].as_object().into_iter().flatten() {
        push(
            "--label",
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| v.to_string(), String::from)
            ),
        );
    }
    if a.disable_console_outputs {
        argv.push("--disable-console-outputs".into());
    }
    if a.disable_progress {
        argv.push("--disable-progress".into());
    }
    Ok(argv)
}

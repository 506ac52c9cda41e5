//! `llmload mock-server`: the mock as a standalone server.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmload_mock::{EngineModel, Jitter, MockConfig, MockServer, Pause, TokenCount};

use crate::cli::{EngineArgs, MockArgs};
use crate::CliError;

/// The simulated engine the flags ask for, if any.
pub fn engine_model(a: &EngineArgs) -> Result<Option<EngineModel>, CliError> {
    let any = a.simulate
        || a.max_num_seqs.is_some()
        || a.max_num_batched_tokens.is_some()
        || a.step_ms.is_some()
        || a.step_per_seq_ms.is_some()
        || a.prefill_ms_per_token.is_some()
        || a.kv_cache_tokens.is_some()
        || a.block_size.is_some()
        || a.no_preemption
        || a.enable_prefix_caching
        || a.pause_at_ms.is_some();
    if !any {
        return Ok(None);
    }
    let d = EngineModel::default();
    let ms = |flag: &str, v: Option<f64>, default: Duration| match v {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Duration::from_secs_f64(v / 1000.0)),
        Some(_) => Err(CliError::usage(format!(
            "{flag}: expected milliseconds >= 0"
        ))),
    };
    let m = EngineModel {
        max_num_seqs: a.max_num_seqs.unwrap_or(d.max_num_seqs),
        max_num_batched_tokens: a.max_num_batched_tokens.unwrap_or(d.max_num_batched_tokens),
        step_base: ms("--step-ms", a.step_ms, d.step_base)?,
        step_per_seq: ms("--step-per-seq-ms", a.step_per_seq_ms, d.step_per_seq)?,
        prefill_per_token: ms(
            "--prefill-ms-per-token",
            a.prefill_ms_per_token,
            d.prefill_per_token,
        )?,
        kv_cache_tokens: a.kv_cache_tokens.unwrap_or(d.kv_cache_tokens),
        block_size: a.block_size.unwrap_or(d.block_size),
        preemption: !a.no_preemption,
        prefix_caching: a.enable_prefix_caching,
        pause: match (a.pause_at_ms, a.pause_ms) {
            (Some(at), Some(len)) => Some(Pause {
                after: ms("--pause-at-ms", Some(at), Duration::ZERO)?,
                length: ms("--pause-ms", Some(len), Duration::ZERO)?,
            }),
            _ => None,
        },
    };
    m.check().map_err(|flag| {
        CliError::usage(format!(
            "{flag}: expected a positive value (the engine could serve nothing)"
        ))
    })?;
    Ok(Some(m))
}

fn jitter(flag: &str, mean_ms: f64, std_ms: f64) -> Result<Jitter, CliError> {
    if !(mean_ms.is_finite() && mean_ms >= 0.0 && std_ms.is_finite() && std_ms >= 0.0) {
        return Err(CliError::usage(format!(
            "{flag}: expected milliseconds >= 0"
        )));
    }
    Ok(Jitter {
        mean: Duration::from_secs_f64(mean_ms / 1000.0),
        std: Duration::from_secs_f64(std_ms / 1000.0),
    })
}

/// Serve until Ctrl-C.
pub async fn run(a: MockArgs) -> Result<ExitCode, CliError> {
    let mut cfg = MockConfig {
        model: a.model.clone(),
        ttft: jitter("--ttft-ms", a.ttft_ms, a.ttft_ms_std)?,
        itl: jitter("--itl-ms", a.itl_ms, a.itl_ms_std)?,
        output_tokens: TokenCount {
            mean: a.output_tokens.max(1),
            std: a.output_tokens_std.max(0.0),
        },
        seed: a.seed,
        api_key: a.api_key.clone(),
        engine: engine_model(&a.engine)?,
        chat_template_tokens: a.chat_template_tokens,
        max_model_len: a.max_model_len,
        root: a.root.clone(),
        faults: llmload_mock::Faults {
            fail_rate: a.fail_rate,
            fail_after_requests: a.fail_after_requests,
            rate_limit_rate: a.rate_limit_rate,
            bad_request_rate: a.bad_request_rate,
            reset_rate: a.reset_rate,
            malformed_rate: a.malformed_rate,
            stall_rate: a.stall_rate,
            huge_chunk_rate: a.huge_chunk_rate,
            slow_headers: match a.slow_headers_ms {
                None => None,
                Some(ms) => Some(jitter("--slow-headers-ms", ms, 0.0)?.mean),
            },
            slow_headers_rate: a.slow_headers_rate,
            close_after_requests: a.close_after_requests,
            max_concurrent_requests: a.max_concurrent_requests,
        },
        ..MockConfig::default()
    };
    cfg.faults.check().map_err(|flag| {
        CliError::usage(format!(
            "{flag}: expected probabilities from 0 to 1 that sum to at most 1"
        ))
    })?;
    if a.max_concurrent_requests == Some(0) {
        return Err(CliError::usage(
            "--max-concurrent-requests: expected at least 1",
        ));
    }
    if let Some(p) = &a.processor {
        let tok =
            Arc::new(llmload_data::tokenizer::load(p).map_err(|e| CliError::usage(e.to_string()))?);
        cfg.tokenizer = Arc::new(move |s: &str| {
            tok.encode(s, true)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default()
        });
        cfg.serves_tokenize = true;
    }
    let addr: SocketAddr = format!("{}:{}", a.host, a.port)
        .parse()
        .or_else(|_| format!("[{}]:{}", a.host, a.port).parse())
        .map_err(|_| CliError::usage(format!("--host {}: expected an IP address", a.host)))?;
    let sink = match &a.log_file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    CliError::usage(format!("--log-file {}: cannot open ({e})", path.display()))
                })?;
            let f = Arc::new(Mutex::new(std::io::BufWriter::new(f)));
            let sink: llmload_mock::LogSink = Arc::new(move |entry: &llmload_mock::RequestLog| {
                if let Ok(line) = serde_json::to_string(entry) {
                    let mut w = f.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = writeln!(w, "{line}");
                    let _ = w.flush();
                }
            });
            Some(sink)
        }
        None => None,
    };
    let cfg_engine = cfg.engine;
    let handle = MockServer::start_with_sink(cfg, addr, false, sink)
        .await
        .map_err(|e| {
            CliError::setup(format!("--port {}: cannot listen on {addr} ({e})", a.port))
        })?;
    let timing = match &cfg_engine {
        Some(m) => format!(
            "simulated engine: batch {}, {} tokens/step, knee at 512/256 tokens {:.2} req/s",
            m.max_num_seqs,
            m.max_num_batched_tokens,
            m.sustainable_rate(512, 256)
        ),
        None => "fixed latencies".to_string(),
    };
    println!(
        "llmload mock server listening on {} (model {}, {timing})",
        handle.url(),
        a.model
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

//! `llmload benchmark`: wiring a plan to the mock, client, data, engine and reports.

use llmload_metrics::Measured as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use llmload_client::{CancellationToken, Client};
use llmload_data::{builtin_corpus_for, tokenizer, DataPlan, Dataset, PromptBuilder, Tokenizer};
use llmload_engine::{BodyOptions, RunContext, RunOutcome, RunPlan, INTERRUPT_GRACE};
use llmload_mock::{MockConfig, MockHandle, MockServer};
use llmload_report::guidellm::{self, RunInfo};
use llmload_report::model::{Results, Schema};
use llmload_report::Report;
use serde_json::json;

pub use crate::outputs::{console_tables, outputs_result, write_files, write_outputs, Written};
use crate::plan::{DataChoice, Plan, ServerMetrics};
use crate::processor;
use crate::progress;
use crate::Error;
use llmload_journal::{self as journal, Journal};

/// Start the built-in mock with a fast, realistic profile.
async fn start_mock(tok: Arc<Tokenizer>) -> Result<MockHandle, Error> {
    let ids = move |s: &str| {
        tok.encode(s, true)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    };
    let cfg = MockConfig {
        model: "llmload-mock".into(),
        ttft: llmload_mock::Jitter {
            mean: Duration::from_millis(25),
            std: Duration::from_millis(2),
        },
        itl: llmload_mock::Jitter {
            mean: Duration::from_millis(5),
            std: Duration::from_micros(500),
        },
        tokenizer: Arc::new(ids),
        serves_tokenize: true,
        ..MockConfig::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    MockServer::start(cfg, addr, false)
        .await
        .map_err(|e| Error::setup(format!("--target mock: cannot start the mock server: {e}")))
}

/// Ctrl-C: the first stops sending and lets requests in flight finish (up to
/// the grace period); the second cancels them at once. Either way the
/// report is written with what finished. One watcher serves every run of a
/// command (a validation matrix stops after the run it interrupted).
#[derive(Clone, Debug)]
pub struct Signals {
    /// The first Ctrl-C.
    pub interrupt: CancellationToken,
    /// The second.
    pub abort: CancellationToken,
}

impl Signals {
    /// Start watching for Ctrl-C.
    pub fn install() -> Signals {
        let s = Signals {
            interrupt: CancellationToken::new(),
            abort: CancellationToken::new(),
        };
        watch_signals(s.interrupt.clone(), s.abort.clone());
        s
    }

    /// Whether the user pressed Ctrl-C.
    pub fn interrupted(&self) -> bool {
        self.interrupt.is_cancelled()
    }
}

fn watch_signals(interrupt: CancellationToken, abort: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "\nllmload: interrupted; waiting up to {}s for requests in flight (Ctrl-C again to stop now)",
            INTERRUPT_GRACE.as_secs()
        );
        interrupt.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nllmload: stopping now");
            abort.cancel();
        }
    });
}

/// What one benchmark run produced.
#[derive(Debug)]
pub struct Measured {
    /// The GuideLLM-format report.
    pub report: Report,
    /// The same run as a GuideLLM 0.8 (schema 2) report, when asked for
    /// (`--schema 0.8`): the JSON and YAML files are written from it.
    pub schema2: Option<llmload_report::schema2::Schema2>,
    /// The model the requests named.
    pub model: String,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
    /// Whether any request succeeded.
    pub any_success: bool,
}

impl Measured {
    /// The run's results without the successful and incomplete records,
    /// for the flows' summaries and verdicts.
    pub fn summary(&self) -> Result<Results, Error> {
        let schema = if self.schema2.is_some() {
            Schema::V2
        } else {
            Schema::V04
        };
        Results::summary_of(&self.report, schema)
            .map_err(|e| Error::setup(format!("the run's report: {e}")))
    }

    /// The command's exit code: 130 when interrupted, 1 when no request
    /// succeeded, else 0.
    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            ExitCode::from(130)
        } else if self.any_success {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// Run a benchmark plan end to end: outputs written, console tables,
/// the exit code.
pub async fn run(plan: Plan) -> Result<ExitCode, Error> {
    if let Some(line) = crate::size::large_report_notice(&plan) {
        eprintln!("{line}");
    }
    let signals = Signals::install();
    let m = measure(&plan, &signals).await?;
    write_outputs(&plan, &m.report, m.schema2.as_ref())?;
    Ok(m.exit_code())
}

/// Where the run's journal goes: beside the report files.
pub fn journal_path(plan: &Plan) -> Option<std::path::PathBuf> {
    if let (Some(s), Some(dir)) = (plan.run.shard, &plan.shard_dir) {
        return Some(crate::shard::journal_file(dir, s));
    }
    let (_, first) = plan.outputs.files.first()?;
    Some(first.parent()?.join(journal::FILE_NAME))
}

/// Start the journal (best effort: a run is not refused for want of one).
fn start_journal(
    plan: &Plan,
    target: &str,
    model: &str,
    run_id: &str,
    shard: Option<serde_json::Value>,
) -> Option<Arc<Journal>> {
    let path = journal_path(plan)?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let header = json!({
        "llmload_journal": 1,
        "args": plan.asked.report_args,
        "target": target,
        "model": model,
        "run_id": run_id,
        "workers": worker_threads(),
        "shard": shard,
    });
    match Journal::create(&path, header) {
        Ok(j) => Some(Arc::new(j)),
        Err(e) => {
            eprintln!(
                "llmload: {}: cannot write the journal ({e}); running without",
                path.display()
            );
            None
        }
    }
}

/// Run a benchmark plan and build its report (nothing written).
pub async fn measure(plan: &Plan, signals: &Signals) -> Result<Measured, Error> {
    // Outputs that cannot be written refuse the run now, not after it.
    crate::preflight::outputs(&plan.outputs)?;
    // The tokenizer first: the mock counts prompt tokens with it.
    let bundled = plan.target.is_none() && plan.processor.is_none();
    let early_tok = if bundled {
        Some(Arc::new(tokenizer::bundled_gpt2()))
    } else {
        None
    };
    let mock = match plan.target {
        Some(_) => None,
        None => {
            let tok = match &early_tok {
                Some(t) => Arc::clone(t),
                None => {
                    processor::local(plan, "")?
                        .expect("the embedded mock always has one")
                        .tokenizer
                }
            };
            Some(start_mock(tok).await?)
        }
    };
    let target = match &mock {
        Some(m) => m.url(),
        None => plan.target.clone().expect("a target or the mock"),
    };
    let mut cfg = plan.backend.client_config(&target);
    cfg.request_type = plan.request_type;
    cfg.source_addresses = plan.source_addresses.clone();
    let client = Client::new(cfg).map_err(|e| Error::usage(e.to_string()))?;

    // GET /v1/models, when fetched for the model: it also names the model's root.
    let mut listed = None;
    let model = match &plan.model {
        Some(m) => {
            // A model the server does not serve would fail every request.
            if let Ok(models) = client.models_with_roots().await {
                let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
                crate::preflight::model_served(m, &ids, &target)?;
                listed = Some(models);
            }
            m.clone()
        }
        None => {
            let models = client.models_with_roots().await.map_err(|e| {
                Error::usage(format!("--target {target}: cannot list models ({e})"))
            })?;
            let first = models.first().map(|m| m.id.clone());
            listed = Some(models);
            first.ok_or_else(|| {
                Error::usage(format!(
                    "--target {target}: GET /v1/models lists no model; pass --model"
                ))
            })?
        }
    };
    let data = match &plan.data {
        DataChoice::Synthetic(spec) => {
            let (tok, name) = match early_tok {
                Some(t) => (t, String::new()),
                None => {
                    let c = processor::find(plan, &client, &model, listed.as_deref()).await?;
                    (c.tokenizer, c.name)
                }
            };
            let source_text = match &spec.source {
                Some(path) => std::fs::read_to_string(path).map_err(|e| {
                    Error::usage(format!("--data source {path}: cannot read ({e})"))
                })?,
                None => builtin_corpus_for(spec.prompt.max).to_string(),
            };
            let builder =
                PromptBuilder::new(tok, source_text).map_err(|e| Error::usage(e.to_string()))?;
            if plan.target.is_some() {
                processor::check(&client, &model, &builder, spec, plan.run.seed, &name).await;
            }
            DataPlan::Synthetic {
                builder,
                spec: spec.clone(),
                seed: plan.run.seed,
            }
        }
        DataChoice::File {
            path,
            mapping,
            samples,
            shuffle,
        } => {
            // A tokenizer is optional here: it counts prompt tokens the file does not give.
            let tok = match early_tok {
                Some(t) => Some(t),
                None => processor::find(plan, &client, &model, listed.as_deref())
                    .await
                    .ok()
                    .map(|c| c.tokenizer),
            };
            let dataset = Dataset::load(path, mapping, tok.as_deref())
                .map_err(|e| Error::usage(e.to_string()))?;
            DataPlan::Dataset {
                dataset,
                samples: *samples,
                shuffle_seed: shuffle.then_some(plan.run.seed),
            }
        }
    };

    release_freed_memory();
    let (interrupt, abort) = (signals.interrupt.clone(), signals.abort.clone());
    let (progress_tx, progress_rx) = llmload_engine::progress::channel();
    let run_id = uuid::Uuid::new_v4().to_string();
    // Shards of one run meet here, and start together.
    let mut run_plan = run_plan(plan);
    let mut shard_header = None;
    if let (Some(shard), Some(dir)) = (plan.run.shard, &plan.shard_dir) {
        let start =
            crate::shard::rendezvous(dir, shard, plan.run.start_at, &signals.interrupt).await?;
        if !start.missing.is_empty() {
            eprintln!(
                "llmload: shard {shard}: starting without shards {:?} (not ready by the deadline)",
                start.missing
            );
        }
        run_plan.start_at = Some(start.at);
        shard_header = Some(json!({
            "index": shard.index,
            "count": shard.count,
            "start_at": start.at.as_secs_f64(),
            "missing_at_start": start.missing,
            "host": std::env::var("HOSTNAME").unwrap_or_default(),
            "seed": plan.run.seed,
        }));
    }
    let journal = start_journal(plan, &client.target().url(), &model, &run_id, shard_header);
    let server_metrics = server_metrics(plan, &client.target().url()).await;
    let scrape_cfg = server_metrics.clone();
    let display = progress::start(plan, progress_rx);
    let ctx = RunContext {
        server_metrics,
        client,
        data,
        body: BodyOptions {
            model: Some(model.clone()),
            max_tokens: plan.backend.max_output_tokens,
            extra: plan.backend.extra_body.clone(),
            keep_body: plan.sample_requests != Some(0),
        },
        interrupt: interrupt.clone(),
        interrupt_grace: INTERRUPT_GRACE,
        abort,
        progress: display.as_ref().map(|_| progress_tx),
        observer: journal
            .clone()
            .map(|j| j as Arc<dyn llmload_engine::RunObserver>),
    };
    // On a worker thread, so that finished requests reach the collector
    // without waking the main thread.
    let (outcome, ctx) = tokio::spawn(async move {
        let outcome = llmload_engine::run(&run_plan, &ctx).await;
        (outcome, ctx)
    })
    .await
    .map_err(|e| Error::setup(format!("the run failed: {e}")))?;
    let outcome: RunOutcome = outcome.map_err(|e| Error::usage(e.to_string()))?;
    if let Some(d) = display {
        d.finish().await;
    }
    let mut outcome = outcome;
    if let (Some(shard), Some(dir), Some(cfg)) = (plan.run.shard, &plan.shard_dir, &scrape_cfg) {
        // The first shard's last scrape waits for every shard to end: the
        // server's counters then hold all of their requests.
        if shard.count > 1 {
            // Its own longest request, and 5 s more, bound the others' last ones.
            let longest = outcome
                .benchmarks
                .iter()
                .flat_map(|b| &b.records)
                .filter_map(|r| Some(r.request_end_time()?.secs_since(r.request_start()?)))
                .fold(0.0f64, f64::max);
            let bound = Duration::from_secs_f64(longest.max(0.0) + 5.0);
            crate::shard::wait_done(dir, shard, bound, &signals.interrupt).await;
            if let (Ok(s), Some(b)) = (
                llmload_engine::scrape_once(cfg).await,
                outcome.benchmarks.last_mut(),
            ) {
                if let Some(j) = &journal {
                    use llmload_engine::RunObserver;
                    j.benchmark_scraped(b.index, std::slice::from_ref(&s));
                }
                b.server.push(s);
            }
        }
    }
    if let Some(j) = &journal {
        if let Err(e) = j.finish() {
            eprintln!("llmload: the journal is incomplete ({e})");
        }
    }
    if let (Some(shard), Some(dir)) = (plan.run.shard, &plan.shard_dir) {
        // Its journal is whole: `merge` tells a shard that died from one that ended.
        crate::shard::done(dir, shard, &outcome);
    }
    if let Some(m) = mock {
        m.shutdown().await;
    }

    let info = run_info(
        plan,
        ctx.client.target().url(),
        model,
        run_id,
        worker_threads() as u32,
        &outcome,
    );
    let report: Report = guidellm::report(&info, &outcome.benchmarks);
    let schema2 = plan
        .outputs
        .schema2
        .then(|| llmload_report::schema2::report(&info, &outcome.benchmarks));
    let any_success = outcome.benchmarks.iter().any(|b| b.any_success());
    Ok(Measured {
        report,
        schema2,
        model: info.model.unwrap_or_default(),
        interrupted: outcome.interrupted,
        any_success,
    })
}

/// The engine's view of a plan.
pub fn run_plan(plan: &Plan) -> RunPlan {
    plan.run.clone()
}

/// What the report says about the run as a whole.
pub fn run_info(
    plan: &Plan,
    target: String,
    model: String,
    run_id: String,
    workers: u32,
    outcome: &RunOutcome,
) -> RunInfo {
    RunInfo {
        args: plan.asked.report_args.clone(),
        run: plan.run.clone(),
        target,
        model: Some(model),
        timeout: plan.backend.timeout,
        verify: plan.backend.verify,
        request_type: plan.request_type,
        data: plan.asked.data.clone(),
        data_samples: plan.asked.data_samples,
        sample_requests: plan.sample_requests,
        list_in_memory: llmload_report::guidellm::LIST_IN_MEMORY,
        workers,
        scheduling: scheduling(),
        run_id,
        search: outcome.search.clone(),
        aborted: outcome.aborted.clone(),
        processor: plan.processor.clone(),
        overrides: plan.asked.overrides.clone(),
        labels: plan.asked.labels.clone(),
        shards: None,
        outputs: plan
            .outputs
            .files
            .iter()
            .map(|(f, p)| (f.name().to_string(), p.display().to_string()))
            .collect(),
    }
}

/// Give the memory freed after setup (the corpus encoding, the tokenizer's
/// JSON) back to the OS before the run, so RSS reflects the run itself.
#[allow(unsafe_code)]
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The scheduling class the runtime's threads got (the last one to start).
static SCHEDULING: std::sync::Mutex<Option<llmload_clock::priority::Granted>> =
    std::sync::Mutex::new(None);

/// Remember the class a runtime thread got, for the report.
pub fn note_scheduling(g: llmload_clock::priority::Granted) {
    *SCHEDULING.lock().unwrap_or_else(|e| e.into_inner()) = Some(g);
}

/// The scheduling class of the runtime's threads, in words.
pub fn scheduling() -> String {
    let granted = SCHEDULING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .map_or("fair class".into(), |g| g.to_string());
    match llmload_clock::priority::given_back() {
        Some(b) => format!(
            "{granted}; in the fair class while llmload itself was busy: {} time{}, \
             {:.1} s in all, the first {:.1} s into the process (up to {:.2} cores){}",
            b.times,
            if b.times == 1 { "" } else { "s" },
            b.seconds,
            b.first_after_s,
            b.peak_cores,
            if b.now { ", still" } else { "" },
        ),
        None => granted,
    }
}

/// Worker threads of the runtime: one per core, or `$LLMLOAD_WORKER_THREADS`.
pub fn worker_threads() -> usize {
    std::env::var("LLMLOAD_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Where to scrape the server's metrics during the run: the URLs of
/// `--server-metrics` (`off`: nowhere), else the target's `/metrics`. Each
/// is checked once before the run: one that does not answer with vLLM's
/// families costs one warning, and the run goes on without.
async fn server_metrics(plan: &Plan, target: &str) -> Option<llmload_engine::ServerMetricsConfig> {
    // Of a run's shards, the first scrapes for all (its journal carries the
    // scrapes to `merge`); more would load the server's /metrics COUNT times.
    if plan.run.shard.is_some_and(|s| s.index > 0) {
        return None;
    }
    let urls: Vec<String> = match &plan.asked.server_metrics {
        ServerMetrics::Off => return None,
        ServerMetrics::Urls(urls) => urls.clone(),
        ServerMetrics::Target => {
            let scheme_end = target.find("://").map_or(0, |i| i + 3);
            let origin = match target[scheme_end..].find('/') {
                Some(i) => &target[..scheme_end + i],
                None => target,
            };
            vec![format!("{origin}/metrics")]
        }
    };
    let cfg = llmload_engine::ServerMetricsConfig {
        urls,
        interval: plan.asked.server_metrics_interval,
    };
    match llmload_engine::probe_server_metrics(&cfg).await {
        Ok(()) => Some(cfg),
        Err(e) => {
            eprintln!("llmload: warning: server metrics not scraped: {e} (--server-metrics off to silence)");
            None
        }
    }
}

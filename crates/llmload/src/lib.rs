//! The `llmload` command: flags in, flows called, exit codes out.
//!
//! # What this crate owns
//! The command line ([`cli`]: every subcommand; a benchmark's options and
//! the flows' are declared in llmload-flows), GuideLLM 0.8's `run` syntax
//! translated into a benchmark's options ([`run08`]), re-exporting saved
//! reports (`llmload report`, `export`),
//! `mock-server`, the runtime (worker threads, their scheduling class, the
//! timer), and the mapping of every failure to one line and an exit code.
//! [`run`] is the whole program as a library call, so tests drive it in process.
//!
//! # What it does not own
//! The flows themselves (planning, a benchmark run, validation, the result
//! tools: llmload-flows), measuring, statistics, file formats.

pub mod cli;
mod mock_cmd;
mod report_cmd;
pub mod run08;

pub use llmload_flows::{benchmark, plan, scenario};
pub use llmload_journal as journal;

use std::process::ExitCode;

use clap::Parser;

pub use llmload_flows::Error as CliError;

/// Run a parsed command line.
pub async fn run(cli: cli::Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        cli::Command::Benchmark(b) => {
            let args = match b.run {
                Some(cli::BenchmarkSub::Run(a)) => *a,
                None => b.args,
            };
            benchmark::run(plan::Plan::from_args(args)?).await
        }
        cli::Command::Run(r) => run08::run(&r).await,
        cli::Command::Export(e) => report_cmd::export(&e),
        cli::Command::MockServer(m) => mock_cmd::run(*m).await,
        cli::Command::Report(r) => report_cmd::run(&r),
        cli::Command::Validate(cli::ValidateCommand::Redhat(a)) => {
            llmload_flows::validate::redhat(&a).await
        }
        cli::Command::Validate(cli::ValidateCommand::Opennebula(a)) => {
            llmload_flows::validate::opennebula(&a).await
        }
        cli::Command::Envelope(e) => llmload_flows::tools::envelope_cmd(&e),
        cli::Command::Check(cli::CheckCommand::Monotonic(a)) => {
            llmload_flows::tools::monotonic_cmd(&a)
        }
        cli::Command::Slo(a) => llmload_flows::tools::slo_cmd(&a),
        cli::Command::Compare(a) => llmload_flows::tools::compare_cmd(&a),
        cli::Command::Merge(m) => report_cmd::merge(&m),
        cli::Command::KubeManifest(k) => report_cmd::kube_manifest(*k),
    }
}

/// The whole program: parse `std::env::args`, run, print errors on one line.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("llmload: error: {} (see --help)", one_line(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    raise_fd_limit();
    return_large_buffers();
    // The mock server is the server under test, not the one measuring: the
    // fair class (with a short slice), as a real server.
    llmload_clock::priority::set_realtime(!matches!(cli.command, cli::Command::MockServer(_)));
    // Precise sleeps (sends, mock tokens) are served by the runtime's own
    // reactor: the kernel wakes the worker at the instant, no other thread.
    // `LLMLOAD_TIMER=thread` (for comparisons), or no timerfd: the timer
    // thread serves them, spinning the last microseconds.
    let thread_timer = std::env::var("LLMLOAD_TIMER").as_deref() == Ok("thread");
    let timer = llmload_clock::RuntimeTimer::new();
    let attach = timer.clone();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(benchmark::worker_threads())
        .on_thread_start(move || {
            attach.attach_thread();
            // Sends and chunk stamps run on these threads: a busy host must
            // not hold them back (llmload_clock::priority).
            let granted = llmload_clock::priority::raise_current_thread();
            benchmark::note_scheduling(granted);
        })
        .enable_all();
    if thread_timer {
        // Tasks the timer thread wakes come through the global queue:
        // check it often, not every 61 local tasks.
        builder.global_queue_interval(8);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("llmload: error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    if !thread_timer {
        let _ = timer.start(runtime.handle());
    }
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("llmload: error: {e}");
            ExitCode::from(e.code())
        }
    }
}

/// clap's first error line, without its `error: ` prefix, plus the allowed
/// values when it lists them and its suggestion ("did you mean") when it has one.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("bad arguments")
        .trim_start_matches("error: ")
        .to_string();
    for l in lines {
        if l.starts_with("[possible values:") {
            line = format!("{line} {l}");
        } else if let Some(tip) = l.strip_prefix("tip: ") {
            line = format!("{line} ({tip})");
        }
    }
    line
}

/// Large buffers straight from the kernel and back to it when freed:
/// glibc otherwise raises its mmap threshold (to 32 MiB) after the first
/// large free, and the end-of-run statistics' buffers (sort chunks, value
/// lists) then stay resident in the heap after they are freed.
#[allow(unsafe_code)]
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Raise the soft open-files limit to the hard limit: every request in flight
/// holds a socket.
#[allow(unsafe_code)]
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

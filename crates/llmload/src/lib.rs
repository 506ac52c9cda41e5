//! The `llmload` command: flags in, benchmarks run, reports out.
//!
//! # What this crate owns
//! The command line ([`cli`]), validating it into a plan ([`plan`]), wiring
//! the plan to the other crates ([`benchmark`]), re-exporting saved reports
//! (`llmload report`), the validation flows built from benchmark runs
//! (`validate redhat|opennebula`) and the report tools (`envelope`, `check`,
//! `slo`, `compare`), hardware detection, the live progress display,
//! and the mapping of every failure to a one-line message and an exit code.
//! [`run`] is the whole program as a library call, so tests drive it in process.
//!
//! # What it does not own
//! Any measuring, statistics or file format: those are the library crates'.

pub mod benchmark;
pub mod cli;
pub mod cli_flows;
mod deployment;
pub use llmload_journal as journal;
mod mock_cmd;
pub mod plan;
mod preflight;
mod processor;
pub mod progress;
mod report_cmd;
pub mod run08;
pub mod scenario;
mod tools_cmd;
mod validate_cmd;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;

/// A failure with its exit code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// Bad flags, files or targets: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    /// Setup failures outside the user's input (ports, disks): also exit code 2.
    pub fn setup(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

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
        cli::Command::Validate(cli::ValidateCommand::Redhat(a)) => validate_cmd::redhat(&a).await,
        cli::Command::Validate(cli::ValidateCommand::Opennebula(a)) => {
            validate_cmd::opennebula(&a).await
        }
        cli::Command::Envelope(e) => tools_cmd::envelope_cmd(&e),
        cli::Command::Check(cli::CheckCommand::Monotonic(a)) => tools_cmd::monotonic_cmd(&a),
        cli::Command::Slo(a) => tools_cmd::slo_cmd(&a),
        cli::Command::Compare(a) => tools_cmd::compare_cmd(&a),
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

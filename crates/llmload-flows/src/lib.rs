//! The flows of llmload: one benchmark run end to end, and what is built
//! from runs.
//!
//! # What this crate owns
//! - [`BenchmarkArgs`]: the options of a benchmark (GuideLLM 0.4's
//!   `benchmark` flags, declared for clap), and [`plan`]: validating them
//!   into a plan, with one-line errors naming the flag; [`scenario`]:
//!   options from a scenario file.
//! - [`benchmark`]: a plan wired to the mock, client, data, engine, journal
//!   and reports (preflight checks, the tokenizer and processor, the live
//!   [`progress`] line, the run's report; a large one said so at the start,
//!   `size.rs`) — `llmload benchmark` and `run`;
//!   [`rebuild`]: a run rebuilt from its crash-safe journal; [`shard`]: one
//!   run split across processes, [`merge`]: their one report, and [`kube`]:
//!   the Kubernetes objects that run them.
//! - [`validate`]: the seeds' validation flows (`validate redhat`,
//!   `validate opennebula`) built from benchmark runs; [`tools`]: the result
//!   tools (`envelope`, `check monotonic`, `slo`, `compare`) and the
//!   deployment facts the envelopes carry; [`flow_args`]: their options.
//! - [`Error`]: every failure as one line with its exit code.
//!
//! # What it does not own
//! The command line as a whole (subcommands, `llmload run`'s 0.8 syntax,
//! `report`/`export`, `mock-server`, the runtime and exit codes: the
//! binary), measuring (engine, client), statistics (metrics), file formats
//! (report) and the journal's format (journal).

mod args;
pub mod benchmark;
mod deployment;
pub mod flow_args;
pub mod kube;
pub mod merge;
mod outputs;
pub mod plan;
mod preflight;
mod processor;
pub mod progress;
pub mod rebuild;
pub mod scenario;
pub mod shard;
mod size;
pub mod tools;
pub mod validate;

use std::fmt;

pub use args::BenchmarkArgs;

/// A failure with its exit code.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: u8,
}

impl Error {
    /// Bad flags, files or targets: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            code: 2,
        }
    }

    /// Setup failures outside the user's input (ports, disks): also exit code 2.
    pub fn setup(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            code: 2,
        }
    }

    /// Ctrl-C before anything was measured: exit code 130.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            code: 130,
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

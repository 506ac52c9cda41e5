//! Reports of llmload runs: what users keep, compare and upload.
//!
//! # What this crate owns
//! - [`guidellm`]: the GuideLLM 0.4 `benchmarks.json` format: serde types,
//!   building them from llmload's benchmark runs, reading records back.
//! - [`csv`]: `benchmarks.csv` in GuideLLM 0.4's three-header-row layout.
//! - [`console`]: the tables printed at the end of a run.
//! - [`html`]: the self-contained HTML report with its SVG charts.
//! - [`Report::load`](guidellm::wire::Report) and the writers of every output format.
//! - The validation seeds' data and checks: [`envelope`] (Red Hat's
//!   experiment JSON and its schema), [`monotonic`], [`slo`] (the reference
//!   SLOs and goodput), [`compare`] (the regression gate and the certified
//!   results).
//!
//! # What it does not own
//! Measuring (client, engine), the statistics themselves (llmload-metrics),
//! and detecting hardware (the binary).

pub mod compare;
pub mod console;
pub mod csv;
pub mod envelope;
pub mod guidellm;
pub mod html;
pub mod monotonic;
mod pyfmt;
pub mod slo;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use guidellm::wire::Report;
pub use pyfmt::py_float;

/// A report problem, naming the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportError(pub String);

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReportError {}

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `benchmarks.json`
    Json,
    /// `benchmarks.csv`
    Csv,
    /// `benchmarks.yaml` (keys sorted, as GuideLLM writes it)
    Yaml,
    /// `benchmarks.html`
    Html,
}

impl Format {
    /// Parse `json` / `csv` (or a file name with that extension).
    pub fn parse(s: &str) -> Option<Format> {
        let ext = Path::new(s)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or(s);
        match ext.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "yaml" | "yml" => Some(Format::Yaml),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }

    /// The default file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "benchmarks.json",
            Format::Csv => "benchmarks.csv",
            Format::Yaml => "benchmarks.yaml",
            Format::Html => "benchmarks.html",
        }
    }
}

impl Report {
    /// Read a GuideLLM 0.4 or llmload report (`.json`, or `.yaml`/`.yml`).
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReportError(format!("{}: cannot read: {e}", path.display())))?;
        let yaml = matches!(Format::parse(&path.to_string_lossy()), Some(Format::Yaml));
        let parsed = if yaml {
            Self::from_yaml(&text)
        } else {
            Self::from_json(&text)
        };
        parsed.map_err(|e| ReportError(format!("{}: {e}", path.display())))
    }

    /// Parse a report from JSON text.
    pub fn from_json(text: &str) -> Result<Report, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        Self::from_value(v)
    }

    /// Parse a report from YAML text.
    pub fn from_yaml(text: &str) -> Result<Report, String> {
        let v: serde_json::Value =
            serde_yaml::from_str(text).map_err(|e| format!("not YAML ({e})"))?;
        Self::from_value(v)
    }

    fn from_value(v: serde_json::Value) -> Result<Report, String> {
        if !v.get("benchmarks").is_some_and(serde_json::Value::is_array) {
            return Err("not a GuideLLM or llmload report (no \"benchmarks\" list)".into());
        }
        serde_json::from_value(v).map_err(|e| format!("not a GuideLLM 0.4 / llmload report ({e})"))
    }

    /// The report as YAML with keys sorted alphabetically (GuideLLM's
    /// `yaml.dump(model_dump(mode="json"))`).
    pub fn to_yaml(&self) -> String {
        let v = serde_json::to_value(self).expect("reports serialize");
        serde_yaml::to_string(&sort_keys(v)).expect("JSON values serialize as YAML")
    }

    /// The report as compact JSON (GuideLLM writes it compact too).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("reports serialize")
    }

    /// Write the report in `format` to `path`.
    pub fn write(&self, format: Format, path: &Path) -> Result<(), ReportError> {
        let text = match format {
            // Streamed: a report with every request in it runs to ~3 KB per
            // request, which need not sit in memory twice.
            Format::Json => {
                return write_atomic_with(path, |w| {
                    serde_json::to_writer(w, self).map_err(std::io::Error::from)
                })
            }
            Format::Csv => csv::to_csv(self),
            Format::Yaml => self.to_yaml(),
            Format::Html => html::render(self),
        };
        write_atomic(path, text.as_bytes())
    }
}

/// `v` with every object's keys in alphabetical order.
fn sort_keys(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Write `bytes` to `path` through a temporary file and a rename, so a
/// reader never sees half a report.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// As [`write_atomic`], with the content written by `fill` through a buffer.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| ReportError(format!("{}: cannot create: {e}", dir.display())))?;
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report"),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        fill(&mut w)?;
        w.flush()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError(format!("{}: cannot write: {e}", tmp.display())));
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| ReportError(format!("{}: cannot write: {e}", path.display())))
}

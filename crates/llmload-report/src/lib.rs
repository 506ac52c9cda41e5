//! Reports of llmload runs: what users keep, compare and upload.
//!
//! # What this crate owns
//! - [`guidellm`]: the GuideLLM 0.4 `benchmarks.json` format: serde types,
//!   building them from llmload's benchmark runs, reading records back.
//! - [`schema2`]: GuideLLM 0.8's report (`metadata.version: 2`) from the
//!   same runs, with 0.8's confidence intervals.
//! - [`csv`]: `benchmarks.csv` in GuideLLM 0.4's three-header-row layout.
//! - [`console`]: the tables printed at the end of a run; [`errors`]: why
//!   requests failed, by kind and message; [`figures`]: the one definition
//!   of each headline figure (output tokens/s) that every output shares.
//! - [`html`]: the self-contained HTML report with its SVG charts.
//! - [`model`]: the results of a run whichever schema wrote them, which the
//!   console, HTML, compare, slo and monotonic read (never JSON paths).
//! - [`Report::load`](guidellm::wire::Report) and the writers of every output format.
//! - The validation seeds' data and checks: [`envelope`] (Red Hat's
//!   experiment JSON and its schema), [`monotonic`], [`slo`] (the reference
//!   SLOs and goodput), [`compare`] (the regression gate and the certified
//!   results).
//!
//! # What it does not own
//! Measuring (client, engine), the statistics themselves (llmload-metrics),
//! the vocabulary of runs (strategies, constraints, verdicts, finished
//! benchmarks: llmload-core), and detecting hardware (llmload-flows). It
//! depends on llmload-core and llmload-metrics, never on the engine or the
//! client, so no HTTP or TLS stack reaches it (`tests/no_network_deps.rs`).

pub mod compare;
pub mod console;
pub mod csv;
pub mod envelope;
pub mod errors;
pub mod figures;
pub mod guidellm;
pub mod html;
mod listed;
pub mod model;
pub mod monotonic;
mod pyfmt;
pub mod schema2;
pub mod server;
pub mod slo;
mod splice;

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

    /// The format's name (`json`, `csv`, `yaml`, `html`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Yaml => "yaml",
            Format::Html => "html",
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
        let yaml = matches!(Format::parse(&path.to_string_lossy()), Some(Format::Yaml));
        if let Some(report) = Self::load_large(path)? {
            return Ok(report);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReportError(format!("{}: cannot read: {e}", path.display())))?;
        let parsed = if yaml {
            Self::from_yaml(&text)
        } else {
            Self::from_json(&text)
        };
        parsed.map_err(|e| ReportError(format!("{}: {e}", path.display())))
    }

    /// Read a report of either schema: GuideLLM 0.4's (or llmload's), or a
    /// GuideLLM 0.8 one (schema 2), which comes with its 0.4 view
    /// ([`schema2::read::to_v04`]) and the document itself.
    pub fn load_any(path: &Path) -> Result<(Report, Option<schema2::Schema2>), ReportError> {
        let yaml = matches!(Format::parse(&path.to_string_lossy()), Some(Format::Yaml));
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if !yaml && size > guidellm::STREAM_LOAD_BYTES {
            // Larger than is worth holding: its requests stay on disk.
            return guidellm::load_json_streamed_any(path)
                .map_err(|e| ReportError(format!("{}: {e}", path.display())));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReportError(format!("{}: cannot read: {e}", path.display())))?;
        let v: serde_json::Value = if yaml {
            serde_yaml::from_str(&text).map_err(|e| format!("not YAML ({e})"))
        } else {
            serde_json::from_str(&text).map_err(|e| format!("not JSON ({e})"))
        }
        .map_err(|e| ReportError(format!("{}: {e}", path.display())))?;
        if schema2::read::is_schema2(&v) {
            let report = schema2::read::to_v04(&v).map_err(|e| {
                ReportError(format!(
                    "{}: a GuideLLM 0.8 report llmload cannot read: {e}",
                    path.display()
                ))
            })?;
            return Ok((report, Some(v.into())));
        }
        Self::from_value(v)
            .map(|r| (r, None))
            .map_err(|e| ReportError(format!("{}: {e}", path.display())))
    }

    /// A GuideLLM 0.4 or llmload JSON report larger than
    /// [`guidellm::STREAM_LOAD_BYTES`], read with its per-request entries
    /// left on disk (`guidellm/saved.rs`); `None` for a smaller one, YAML,
    /// or a GuideLLM 0.8 report (read whole).
    fn load_large(path: &Path) -> Result<Option<Report>, ReportError> {
        let yaml = matches!(Format::parse(&path.to_string_lossy()), Some(Format::Yaml));
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if yaml || size <= guidellm::STREAM_LOAD_BYTES {
            return Ok(None);
        }
        guidellm::load_json_streamed(path)
            .map_err(|e| ReportError(format!("{}: {e}", path.display())))
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

    pub(crate) fn from_value(v: serde_json::Value) -> Result<Report, String> {
        if !v.get("benchmarks").is_some_and(serde_json::Value::is_array) {
            return Err("not a GuideLLM or llmload report (no \"benchmarks\" list)".into());
        }
        serde_json::from_value(v).map_err(|e| format!("not a GuideLLM 0.4 / llmload report ({e})"))
    }

    /// The report as YAML with keys sorted alphabetically (GuideLLM's
    /// `yaml.dump(model_dump(mode="json"))`). Numbers that are not finite
    /// are written as `null`, as in the JSON.
    pub fn to_yaml(&self) -> Result<String, ReportError> {
        let v = serde_json::to_value(self)
            .map_err(|e| ReportError(format!("cannot serialize the report: {e}")))?;
        serde_yaml::to_string(&sort_keys(v))
            .map_err(|e| ReportError(format!("cannot write the report as YAML: {e}")))
    }

    /// The report as compact JSON (GuideLLM writes it compact too). Numbers
    /// that are not finite are written as `null`.
    pub fn to_json(&self) -> Result<String, ReportError> {
        serde_json::to_string(self)
            .map_err(|e| ReportError(format!("cannot serialize the report: {e}")))
    }

    /// The report's text in `format`. A renderer that panics (a bug) is
    /// reported as an error, not passed on.
    pub fn render(&self, format: Format) -> Result<String, ReportError> {
        guarded(|| match format {
            Format::Json => self.to_json(),
            Format::Csv => Ok(csv::to_csv(self)),
            Format::Yaml => self.to_yaml(),
            Format::Html => model::Results::from_report(self, model::Schema::V04)
                .map(|r| html::render(&r))
                .map_err(ReportError),
        })?
    }

    /// Write the report in `format` to `path`. A renderer that panics (a
    /// bug) is reported as an error, and nothing is written.
    pub fn write(&self, format: Format, path: &Path) -> Result<(), ReportError> {
        if format == Format::Json {
            // Streamed: a report with every request in it runs to ~3 KB per
            // request, which need not sit in memory twice.
            return write_atomic_with(path, |w| {
                guarded(|| serde_json::to_writer(w, self))
                    .map_err(|e| std::io::Error::other(e.0))?
                    .map_err(std::io::Error::from)
            });
        }
        if format == Format::Yaml && guidellm::yaml::has_streamed(self) {
            // Entries one at a time, spliced into the rest (see guidellm/yaml.rs).
            return write_atomic_with(path, |w| {
                guarded(|| guidellm::yaml::write(self, w))
                    .map_err(|e| std::io::Error::other(e.0))?
            });
        }
        let text = self.render(format)?;
        write_atomic(path, text.as_bytes())
    }

    /// Write the report to each of `files`, each format on its own: one
    /// that fails does not keep the others from being written. The JSON
    /// (every measured number) goes first, the rest in the order given.
    /// Returns each file with its outcome, in the order written.
    pub fn write_each<'a>(
        &self,
        files: &'a [(Format, PathBuf)],
    ) -> Vec<(Format, &'a Path, Result<(), ReportError>)> {
        let mut order: Vec<&(Format, PathBuf)> = files.iter().collect();
        order.sort_by_key(|(format, _)| *format != Format::Json);
        order
            .into_iter()
            .map(|(format, path)| (*format, path.as_path(), self.write(*format, path)))
            .collect()
    }
}

thread_local! {
    /// Whether this thread is inside [`guarded`] (which does not nest its hook).
    static GUARDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` (a renderer), turning a panic into an error that says where and
/// why: the last line of defence, so that one failing output cannot take
/// the others, or the run, down.
///
/// While `f` runs, a panic on this thread prints nothing (its message goes
/// into the error instead); panics on other threads print as they would.
/// The panic hook is swapped for that time only, one caller at a time, and
/// restored after.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, ReportError> {
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::{Arc, Mutex, PoisonError};

    type Hook = Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send + 'static>;
    static SWAP: Mutex<()> = Mutex::new(());

    if GUARDING.with(std::cell::Cell::get) || std::thread::panicking() {
        // Nested (the outer call holds the hook), or unwinding already.
        return panic::catch_unwind(AssertUnwindSafe(f))
            .map_err(|payload| panicked(None, payload.as_ref()));
    }
    let _one_at_a_time = SWAP.lock().unwrap_or_else(PoisonError::into_inner);
    let me = std::thread::current().id();
    let caught: Arc<Mutex<Option<String>>> = Arc::default();
    let previous: Arc<Hook> = Arc::new(panic::take_hook());
    {
        let previous = Arc::clone(&previous);
        let caught = Arc::clone(&caught);
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                *caught.lock().unwrap_or_else(PoisonError::into_inner) = at;
            } else {
                previous(info);
            }
        }));
    }
    GUARDING.with(|g| g.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDING.with(|g| g.set(false));
    // Ours goes (with its share of `previous`), the previous hook comes back.
    drop(panic::take_hook());
    match Arc::try_unwrap(previous) {
        Ok(hook) => panic::set_hook(hook),
        Err(shared) => panic::set_hook(Box::new(move |info| shared(info))),
    }
    let at = caught.lock().unwrap_or_else(PoisonError::into_inner).take();
    result.map_err(|payload| panicked(at, payload.as_ref()))
}

/// The error of a caught panic.
fn panicked(at: Option<String>, payload: &(dyn std::any::Any + Send)) -> ReportError {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    let at = at.map(|a| format!(" at {a}")).unwrap_or_default();
    ReportError(format!(
        "the renderer failed (panicked{at}: {message}); this is a bug in llmload"
    ))
}

/// `v` with every object's keys in alphabetical order.
pub(crate) fn sort_keys(v: serde_json::Value) -> serde_json::Value {
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

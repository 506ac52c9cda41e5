//! What can be checked before the first request is checked before it: a run
//! must not be lost at its end to an output path that was never writable.
//! And when a report still cannot be written at the end, the run is saved
//! in the temporary directory instead.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use llmload_report::{Format, Report};

use crate::plan::OutputPlan;
use crate::Error;

/// Every report file of `outputs` can be created: its folder exists or is
/// created, the path is not a folder, and it opens for writing. Files that
/// did not exist are removed again.
pub fn outputs(outputs: &OutputPlan) -> Result<(), Error> {
    for (format, path) in &outputs.files {
        writable(path).map_err(|why| {
            Error::usage(format!(
                "{} report {}: {why} (see --output-dir, --output-path, --outputs)",
                format.name(),
                path.display()
            ))
        })?;
    }
    Ok(())
}

fn writable(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if dir.exists() && !dir.is_dir() {
            return Err(format!("{} is a file, expected a folder", dir.display()));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder {} ({e})", dir.display()))?;
    }
    if path.is_dir() {
        return Err("is a folder, expected a file".into());
    }
    let existed = path.exists();
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot write ({e})"))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// `--model` is among the models the server lists (a server that lists
/// none, or no list, is not judged).
pub fn model_served(model: &str, listed: &[String], target: &str) -> Result<(), Error> {
    if listed.is_empty() || listed.iter().any(|m| m == model) {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--model {model:?}: not served by {target} (GET /v1/models lists: {})",
        listed.join(", ")
    )))
}

/// Write the JSON report to a fresh folder in the temporary directory when
/// the one asked for could not be written; the path, if it worked.
pub fn save_elsewhere(report: &Report) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("llmload-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("benchmarks.json");
    let files = [(Format::Json, path.clone())];
    let ok = report
        .write_each(&files)
        .into_iter()
        .all(|(_, _, r)| r.is_ok());
    ok.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("llmload-preflight-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_file_where_the_folder_should_be_is_refused() {
        let d = tmp("file");
        let afile = d.join("afile");
        std::fs::write(&afile, "x").unwrap();
        let err = writable(&afile.join("benchmarks.json")).unwrap_err();
        assert!(err.contains("is a file, expected a folder"), "{err}");
    }

    #[test]
    fn a_folder_where_the_file_should_be_is_refused() {
        let d = tmp("dir");
        std::fs::create_dir_all(d.join("benchmarks.json")).unwrap();
        assert!(writable(&d.join("benchmarks.json"))
            .unwrap_err()
            .contains("is a folder"));
    }

    #[test]
    fn a_writable_path_is_left_as_it_was() {
        let d = tmp("ok");
        let new = d.join("sub/benchmarks.json");
        writable(&new).unwrap();
        assert!(!new.exists(), "the probe is removed");
        let old = d.join("old.json");
        std::fs::write(&old, "keep").unwrap();
        writable(&old).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "keep");
    }

    #[test]
    fn a_model_not_listed_is_named_with_the_list() {
        let listed = ["a".to_string(), "b".to_string()];
        assert!(model_served("a", &listed, "t").is_ok());
        assert!(model_served("x", &[], "t").is_ok());
        let e = model_served("x", &listed, "http://h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--model \"x\"") && e.contains("a, b"), "{e}");
    }
}

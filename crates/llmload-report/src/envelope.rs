//! The Red Hat experiment envelope: a raw GuideLLM (or lm-eval) report
//! wrapped with what was measured, on what, how (Partner Model Validation
//! Guide, "Data Schema"), and its validation against the draft-07 schema
//! shipped in `data/experiment.schema.json`.
//!
//! The guide's `required` list spells one name `inference server version`
//! (a space for the underscore, against its own `properties`); the shipped
//! schema requires `inference_server_version`, the property it defines.
//! It also holds `experiment_type` to the two values its description names
//! (`performance`, `evaluation`), and the `uuid` and `date-time` formats are
//! checked (draft-07 validators may skip formats; ours does not).

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The draft-07 schema of an experiment.
pub const SCHEMA: &str = include_str!("../data/experiment.schema.json");

/// `performance` (a GuideLLM report) or `evaluation` (an lm-eval result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimentType {
    /// A GuideLLM / llmload benchmarks report.
    Performance,
    /// An lm-evaluation-harness result.
    Evaluation,
}

impl ExperimentType {
    /// The schema's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentType::Performance => "performance",
            ExperimentType::Evaluation => "evaluation",
        }
    }

    /// What a result file is: a report has `benchmarks`, lm-eval output has
    /// `results` (and `configs`/`versions`).
    pub fn detect(report: &Value) -> Option<ExperimentType> {
        if report.get("benchmarks").is_some_and(Value::is_array) {
            Some(ExperimentType::Performance)
        } else if report.get("results").is_some_and(Value::is_object) {
            Some(ExperimentType::Evaluation)
        } else {
            None
        }
    }
}

/// Where and how the model was served.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deployment {
    /// The model's Hugging Face name.
    pub model: String,
    /// `vLLM`, `TGI`, ...
    pub inference_server: String,
    /// e.g. `0.10.1.1` or `rh-vllm-v1.1.2`.
    pub inference_server_version: String,
    /// e.g. `registry.redhat.io/rhaiis/vllm-cuda-rhel9`.
    pub container_image: String,
    /// e.g. `3.2.2`.
    pub container_image_tag: String,
    /// The command run in the container.
    pub container_entrypoint: Option<String>,
    /// The server's arguments as an object (`{"tensor-parallel-size": 1}`).
    pub inference_server_args: Map<String, Value>,
    /// e.g. `H100`, `L40S`, `MI300X`.
    pub accelerator_type: String,
    /// Accelerators used.
    pub accelerator_count: u64,
    /// Memory of one accelerator, GB.
    pub accelerator_memory_gb: u64,
    /// e.g. `g4dn.xlarge`.
    pub machine_type: Option<String>,
    /// e.g. `AWS`, `on-prem`.
    pub provider: Option<String>,
}

/// Wrap `report` in an experiment envelope (a new UUIDv4 id; `timestamp`
/// as RFC 3339).
pub fn wrap(report: Value, kind: ExperimentType, d: &Deployment, timestamp: &str) -> Value {
    let mut e = json!({
        "experiment_id": uuid::Uuid::new_v4().to_string(),
        "experiment_type": kind.as_str(),
        "model": d.model,
        "inference_server": d.inference_server,
        "inference_server_version": d.inference_server_version,
        "container_image": d.container_image,
        "container_image_tag": d.container_image_tag,
    });
    let m = e.as_object_mut().expect("an object");
    if let Some(v) = &d.container_entrypoint {
        m.insert("container_entrypoint".into(), json!(v));
    }
    m.insert(
        "inference_server_args".into(),
        Value::Object(d.inference_server_args.clone()),
    );
    m.insert("accelerator_type".into(), json!(d.accelerator_type));
    m.insert("accelerator_count".into(), json!(d.accelerator_count));
    m.insert(
        "accelerator_memory_gb".into(),
        json!(d.accelerator_memory_gb),
    );
    if let Some(v) = &d.machine_type {
        m.insert("machine_type".into(), json!(v));
    }
    if let Some(v) = &d.provider {
        m.insert("provider".into(), json!(v));
    }
    m.insert("report".into(), report);
    m.insert("timestamp".into(), json!(timestamp));
    e
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the shipped schema is JSON");
        // Draft-07 predates the `uuid` format (2019-09): checked here, as the
        // guide means it (UUIDv4).
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .with_format("uuid", |s: &str| {
                uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4)
            })
            .build(&schema)
            .expect("the shipped schema compiles")
    })
}

/// Check an envelope against the schema: every problem as `field: what is wrong`.
pub fn validate(envelope: &Value) -> Result<(), Vec<String>> {
    let errors: Vec<String> = validator()
        .iter_errors(envelope)
        .map(|e| {
            let path = e.instance_path().to_string();
            let field = path.trim_start_matches('/');
            if field.is_empty() {
                // A missing property: the message names it.
                format!("envelope: {e}")
            } else {
                format!("{field}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment {
            model: "Qwen/Qwen2.5-3B-Instruct".into(),
            inference_server: "vLLM".into(),
            inference_server_version: "0.10.1.1".into(),
            container_image: "registry.redhat.io/rhaiis/vllm-cuda-rhel9".into(),
            container_image_tag: "3.2.2".into(),
            container_entrypoint: Some("python3 -m vllm.entrypoints.openai.api_server".into()),
            inference_server_args: serde_json::from_str(r#"{"tensor-parallel-size": 1}"#).unwrap(),
            accelerator_type: "H100".into(),
            accelerator_count: 1,
            accelerator_memory_gb: 80,
            machine_type: None,
            provider: Some("on-prem".into()),
        }
    }

    fn valid() -> Value {
        wrap(
            json!({"args": {}, "benchmarks": []}),
            ExperimentType::Performance,
            &deployment(),
            "2026-11-22T10:00:00Z",
        )
    }

    #[test]
    fn a_wrapped_report_is_valid() {
        let e = valid();
        assert_eq!(validate(&e), Ok(()));
        assert_eq!(e["experiment_type"], "performance");
        assert!(uuid::Uuid::parse_str(e["experiment_id"].as_str().unwrap()).is_ok());
        assert!(
            e.get("machine_type").is_none(),
            "optional fields only when given"
        );
    }

    /// Each field corrupted on its own is rejected, and the error names it.
    #[test]
    fn every_corrupted_field_is_rejected_by_name() {
        let bad: [(&str, Value); 13] = [
            ("experiment_id", json!("not-a-uuid")),
            ("experiment_type", json!(1)),
            ("model", json!(null)),
            ("inference_server", json!(["vLLM"])),
            ("inference_server_version", json!(0.1)),
            ("container_image", json!({})),
            ("container_image_tag", json!(3)),
            ("inference_server_args", json!("--tp 1")),
            ("accelerator_type", json!(false)),
            ("accelerator_count", json!("two")),
            ("accelerator_memory_gb", json!(79.5)),
            ("report", json!([])),
            ("timestamp", json!("yesterday")),
        ];
        for (field, value) in bad {
            let mut e = valid();
            e[field] = value;
            let errors = validate(&e).expect_err(field);
            assert!(
                errors.iter().any(|m| m.starts_with(&format!("{field}: "))),
                "{field}: {errors:?}"
            );
            let mut e = valid();
            e.as_object_mut().unwrap().remove(field);
            let errors = validate(&e).expect_err(field);
            assert!(
                errors.iter().any(|m| m.contains(&format!("\"{field}\""))),
                "missing {field}: {errors:?}"
            );
        }
    }

    #[test]
    fn results_are_told_apart() {
        assert_eq!(
            ExperimentType::detect(&json!({"benchmarks": []})),
            Some(ExperimentType::Performance)
        );
        assert_eq!(
            ExperimentType::detect(&json!({"results": {"gsm8k": {}}, "versions": {}})),
            Some(ExperimentType::Evaluation)
        );
        assert_eq!(ExperimentType::detect(&json!({"x": 1})), None);
    }
}

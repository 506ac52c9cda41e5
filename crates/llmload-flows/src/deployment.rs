//! What the model runs on: accelerators from nvidia-smi or rocm-smi, this
//! machine's vCPUs and RAM, and the deployment fields of an experiment
//! envelope from flags, detection and the server itself.

use std::process::Command;

use llmload_report::envelope::Deployment;
use serde_json::{Map, Value};

use crate::flow_args::DeploymentArgs;
use crate::Error;

/// Accelerators found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpus {
    /// Short name: `H100`, `A100-80`, `L40S`, `MI300X`.
    pub name: String,
    pub count: u64,
    /// Memory of one, GB.
    pub memory_gb: u64,
}

/// `NVIDIA H100 80GB HBM3` → `H100`; A100s get their memory (`A100-40`, `A100-80`).
pub fn short_gpu_name(raw: &str, memory_gb: u64) -> String {
    let s = raw.trim();
    let s = s
        .strip_prefix("NVIDIA ")
        .or_else(|| s.strip_prefix("AMD "))
        .unwrap_or(s);
    let s = s.strip_prefix("Instinct ").unwrap_or(s);
    let first = s
        .split([' ', '-'])
        .find(|t| !t.is_empty())
        .unwrap_or(s)
        .to_string();
    if first.eq_ignore_ascii_case("A100") && memory_gb > 0 {
        let size = if memory_gb > 60 { 80 } else { 40 };
        format!("A100-{size}")
    } else {
        first
    }
}

/// `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`.
pub fn parse_nvidia_smi(out: &str) -> Option<Gpus> {
    let rows: Vec<(String, u64)> = out
        .lines()
        .filter_map(|l| {
            let (name, mib) = l.rsplit_once(',')?;
            Some((name.trim().to_string(), mib.trim().parse::<u64>().ok()?))
        })
        .collect();
    let (name, mib) = rows.first()?;
    let memory_gb = (*mib as f64 / 1024.0).round() as u64;
    Some(Gpus {
        name: short_gpu_name(name, memory_gb),
        count: rows.len() as u64,
        memory_gb,
    })
}

/// `rocm-smi --showproductname --showmeminfo vram --json`.
pub fn parse_rocm_smi(out: &str) -> Option<Gpus> {
    let v: Value = serde_json::from_str(out).ok()?;
    let cards: Vec<&Map<String, Value>> = v
        .as_object()?
        .iter()
        .filter(|(k, _)| k.starts_with("card"))
        .filter_map(|(_, c)| c.as_object())
        .collect();
    let first = cards.first()?;
    let field = |needle: &str| {
        first
            .iter()
            .find(|(k, _)| k.contains(needle))
            .and_then(|(_, v)| v.as_str())
    };
    let bytes: u64 = field("VRAM Total Memory")?.trim().parse().ok()?;
    let memory_gb = (bytes as f64 / (1u64 << 30) as f64).round() as u64;
    let name = field("Card series").or_else(|| field("Card SKU"))?;
    Some(Gpus {
        name: short_gpu_name(name, memory_gb),
        count: cards.len() as u64,
        memory_gb,
    })
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The accelerators of this machine, if nvidia-smi or rocm-smi reports any.
pub fn detect_gpus() -> Option<Gpus> {
    output(
        "nvidia-smi",
        &[
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ],
    )
    .and_then(|o| parse_nvidia_smi(&o))
    .or_else(|| {
        output(
            "rocm-smi",
            &["--showproductname", "--showmeminfo", "vram", "--json"],
        )
        .and_then(|o| parse_rocm_smi(&o))
    })
}

/// This machine's CPUs.
pub fn vcpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// This machine's memory, GB (rounded).
pub fn ram_gb() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((kb as f64 / 1024.0 / 1024.0).round() as u64)
}

/// The envelope's deployment fields: flags first, then detection (GPUs)
/// and the server (`version`). Fails naming every required field still missing.
/// The mock names itself in `GET /version` as `llmload-mock-X.Y.Z`.
pub fn is_mock(server_version: Option<&str>) -> bool {
    server_version.is_some_and(|v| v.starts_with("llmload-mock"))
}

/// The deployment of the built-in mock, where a flag does not say
/// otherwise: the llmload image at this version, and no accelerator
/// (`none`, 0, 0 GB), so that mock runs are never mistaken for GPU results.
pub fn mock_defaults(args: &DeploymentArgs) -> DeploymentArgs {
    let mut a = args.clone();
    let or = |v: &mut Option<String>, d: &str| {
        v.get_or_insert_with(|| d.to_string());
    };
    or(&mut a.container_image, "llmload");
    or(&mut a.container_image_tag, env!("CARGO_PKG_VERSION"));
    or(&mut a.container_entrypoint, "llmload mock-server");
    or(&mut a.accelerator_type, "none");
    a.accelerator_count.get_or_insert(0);
    a.accelerator_memory_gb.get_or_insert(0);
    a
}

pub fn resolve(
    args: &DeploymentArgs,
    model: &str,
    server_version: Option<String>,
) -> Result<Deployment, Error> {
    let defaults;
    let args = if is_mock(server_version.as_deref()) {
        defaults = mock_defaults(args);
        &defaults
    } else {
        args
    };
    let gpus = if args.accelerator_type.is_none()
        || args.accelerator_count.is_none()
        || args.accelerator_memory_gb.is_none()
    {
        detect_gpus()
    } else {
        None
    };
    let server_args = match &args.inference_server_args {
        None => Map::new(),
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Error::usage(format!(
                    "--inference-server-args: expected a JSON object such as '{{\"tensor-parallel-size\": 1}}', got {raw:?}"
                )))
            }
        },
    };
    let d = Deployment {
        model: model.to_string(),
        inference_server: args.inference_server.clone(),
        inference_server_version: args
            .inference_server_version
            .clone()
            .or(server_version)
            .unwrap_or_default(),
        container_image: args.container_image.clone().unwrap_or_default(),
        container_image_tag: args.container_image_tag.clone().unwrap_or_default(),
        container_entrypoint: args.container_entrypoint.clone(),
        inference_server_args: server_args,
        accelerator_type: args
            .accelerator_type
            .clone()
            .or_else(|| gpus.as_ref().map(|g| g.name.clone()))
            .unwrap_or_default(),
        accelerator_count: args
            .accelerator_count
            .or(gpus.as_ref().map(|g| g.count))
            .unwrap_or(0),
        accelerator_memory_gb: args
            .accelerator_memory_gb
            .or(gpus.as_ref().map(|g| g.memory_gb))
            .unwrap_or(0),
        machine_type: args.machine_type.clone(),
        provider: args.provider.clone(),
    };
    let missing: Vec<&str> = [
        ("--model", d.model.is_empty()),
        (
            "--inference-server-version",
            d.inference_server_version.is_empty(),
        ),
        ("--container-image", d.container_image.is_empty()),
        ("--container-image-tag", d.container_image_tag.is_empty()),
        ("--accelerator-type", d.accelerator_type.is_empty()),
        (
            "--accelerator-count",
            d.accelerator_count == 0 && d.accelerator_type != "none",
        ),
        (
            "--accelerator-memory-gb",
            d.accelerator_memory_gb == 0 && d.accelerator_type != "none",
        ),
    ]
    .into_iter()
    .filter_map(|(flag, gone)| gone.then_some(flag))
    .collect();
    if missing.is_empty() {
        Ok(d)
    } else {
        Err(Error::usage(format!(
            "the experiment envelope needs {} (not given and not detected)",
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_smi_rows_become_a_short_name_count_and_memory() {
        let out = "NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, 81559\n";
        assert_eq!(
            parse_nvidia_smi(out),
            Some(Gpus {
                name: "H100".into(),
                count: 2,
                memory_gb: 80
            })
        );
        let a100 = parse_nvidia_smi("NVIDIA A100-SXM4-40GB, 40960\n").unwrap();
        assert_eq!((a100.name.as_str(), a100.memory_gb), ("A100-40", 40));
        assert_eq!(parse_nvidia_smi("NVIDIA L40S, 46068").unwrap().name, "L40S");
        assert_eq!(parse_nvidia_smi("NVIDIA L4, 23034").unwrap().name, "L4");
        assert_eq!(parse_nvidia_smi(""), None);
    }

    #[test]
    fn rocm_smi_json_too() {
        let out = r#"{"card0": {"Card series": "AMD Instinct MI300X", "VRAM Total Memory (B)": "206141652992"},
                      "card1": {"Card series": "AMD Instinct MI300X", "VRAM Total Memory (B)": "206141652992"}}"#;
        assert_eq!(
            parse_rocm_smi(out),
            Some(Gpus {
                name: "MI300X".into(),
                count: 2,
                memory_gb: 192
            })
        );
    }

    #[test]
    fn the_mock_needs_no_deployment_flags_and_claims_no_accelerator() {
        let args = DeploymentArgs {
            inference_server: "vLLM".into(),
            ..Default::default()
        };
        assert!(resolve(&args, "m", Some("0.10.1".into())).is_err());
        let d = resolve(&args, "m", Some("llmload-mock-0.1.0".into())).unwrap();
        assert_eq!(d.container_image, "llmload");
        assert_eq!(
            (d.accelerator_type.as_str(), d.accelerator_count),
            ("none", 0)
        );
        let given = DeploymentArgs {
            accelerator_type: Some("H100".into()),
            ..args
        };
        let e = resolve(&given, "m", Some("llmload-mock-0.1.0".into())).unwrap_err();
        assert!(e.to_string().contains("--accelerator-count"), "{e}");
    }

    #[test]
    fn missing_fields_are_named_together() {
        let args = DeploymentArgs {
            inference_server: "vLLM".into(),
            accelerator_type: Some("H100".into()),
            accelerator_count: Some(1),
            accelerator_memory_gb: Some(80),
            ..Default::default()
        };
        let e = resolve(&args, "m", Some("0.10.1".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "the experiment envelope needs --container-image, --container-image-tag (not given and not detected)");
        let bad = DeploymentArgs {
            inference_server_args: Some("--tp 1".into()),
            ..args
        };
        assert!(resolve(&bad, "m", None)
            .unwrap_err()
            .to_string()
            .contains("--inference-server-args"));
    }
}

//! `llmload kube-manifest --shards N [benchmark options]`: the Kubernetes
//! objects that run one benchmark as N shards and merge them, rendered
//! from the same options a single run takes, so they cannot drift:
//! a ConfigMap holding the options (GuideLLM 0.4's flat scenario format,
//! secrets redacted), a ReadWriteMany PersistentVolumeClaim for the
//! shards' journals, an Indexed Job (`completionMode: Indexed`,
//! `parallelism = completions = N`, each pod `--shard N` with its index
//! from `$JOB_COMPLETION_INDEX`), and the merge Job to apply once it has
//! completed. deploy/kubernetes/ holds them for the documented example.

use serde_json::{json, Value};

use crate::plan::Plan;
use crate::{BenchmarkArgs, Error};

/// The image the manifests run (build it from the repository's Dockerfile
/// and push it where the cluster pulls from; `--image` names another).
pub const IMAGE: &str = "ghcr.io/llmload/llmload:0.1.0";

/// What the manifests are named and run.
#[derive(Clone, Debug)]
pub struct Kube {
    /// Pods (shards).
    pub shards: u32,
    /// Prefix of every object's name, and the run's directory on the volume.
    pub name: String,
    /// Container image.
    pub image: String,
    /// Size of the shards' volume.
    pub storage: String,
    /// Its storage class (one that offers ReadWriteMany), when not the default.
    pub storage_class: Option<String>,
}

/// The run's manifests (ConfigMap, PVC, Job) and the merge Job's, as YAML.
pub fn manifests(mut args: BenchmarkArgs, k: &Kube) -> Result<(String, String), Error> {
    if k.shards == 0 {
        return Err(Error::usage("--shards: expected at least 1"));
    }
    if !is_dns_label(&k.name) {
        return Err(Error::usage(format!(
            "--name {:?}: expected a Kubernetes name (lowercase letters, digits and '-', at most 40)",
            k.name
        )));
    }
    if args.target.as_deref().is_none_or(|t| t == "mock") {
        return Err(Error::usage(
            "--target: required, the server's URL as the pods reach it (the embedded mock is per pod)",
        ));
    }
    // Planned as shard 0 would be: whatever a shard would refuse is refused now.
    args.shard = Some(format!("0/{}", k.shards));
    args.output_dir = None;
    let plan = Plan::from_args(args)?;
    let mut options = plan.asked.report_args.clone();
    if let Some(m) = options.as_object_mut() {
        m.retain(|key, v| !v.is_null() && !matches!(key.as_str(), "output_dir" | "outputs"));
    }
    let scenario = serde_json::to_string_pretty(&options).expect("values serialize");
    let labels = json!({"app.kubernetes.io/name": "llmload", "app.kubernetes.io/instance": k.name});
    let meta = |suffix: &str| json!({"name": format!("{}{suffix}", k.name), "labels": labels});
    let volumes = json!([
        {"name": "shared", "persistentVolumeClaim": {"claimName": format!("{}-shards", k.name)}},
        {"name": "config", "configMap": {"name": format!("{}-options", k.name)}},
    ]);
    let mounts = json!([
        {"name": "shared", "mountPath": "/shared"},
        {"name": "config", "mountPath": "/config", "readOnly": true},
    ]);
    let env = json!([{
        "name": "OPENAI_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": format!("{}-api-key", k.name), "key": "api-key", "optional": true}},
    }]);
    let dir = format!("/shared/{}", k.name);
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": k.storage}},
    });
    if let Some(class) = &k.storage_class {
        pvc_spec["storageClassName"] = json!(class);
    }
    let n = k.shards.to_string();
    let run = [
        json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("-options"),
            "data": {"scenario.json": scenario},
        }),
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("-shards"),
            "spec": pvc_spec,
        }),
        json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": meta(""),
            "spec": {
                "completionMode": "Indexed",
                "completions": k.shards,
                "parallelism": k.shards,
                // A shard that failed is not retried: its rerun would not
                // meet the others; merge names it.
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        // The image runs as distroless' nonroot user: the
                        // volume is made writable to its group.
                        "securityContext": {"runAsNonRoot": true, "fsGroup": 65532},
                        "containers": [{
                            "name": "llmload",
                            "image": k.image,
                            "args": ["benchmark", "--scenario", "/config/scenario.json",
                                     "--shard", n, "--output-dir", dir,
                                     "--outputs", "json", "--disable-progress"],
                            "env": env,
                            "volumeMounts": mounts,
                            "resources": {"requests": {"cpu": "2", "memory": "1Gi"}},
                        }],
                        "volumes": volumes,
                    },
                },
            },
        }),
    ];
    let merge = json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": meta("-merge"),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": true, "fsGroup": 65532},
                    "containers": [{
                        "name": "merge",
                        "image": k.image,
                        "args": ["merge", dir, "--output-dir", format!("{dir}/report"),
                                 "--outputs", "console,json,csv,html"],
                        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                    }],
                    "volumes": [volumes[0].clone()],
                },
            },
        },
    });
    let yaml = |docs: &[Value]| -> String {
        docs.iter()
            .map(|d| serde_yaml::to_string(d).expect("values serialize"))
            .collect::<Vec<_>>()
            .join("---\n")
    };
    Ok((yaml(&run), yaml(&[merge])))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kube(shards: u32) -> Kube {
        Kube {
            shards,
            name: "bench".into(),
            image: IMAGE.into(),
            storage: "1Gi".into(),
            storage_class: None,
        }
    }

    fn args(argv: &[&str]) -> BenchmarkArgs {
        crate::args::parse(argv).unwrap()
    }

    #[test]
    fn the_job_runs_the_options_as_shards_and_merge_reads_their_directory() {
        let a = args(&[
            "--target",
            "http://vllm:8000",
            "--rate-type",
            "constant",
            "--rate",
            "400",
            "--max-seconds",
            "60",
            "--data",
            "prompt_tokens=32,output_tokens=8",
            "--backend-args",
            r#"{"api_key": "sk-secret"}"#,
        ]);
        let (run, merge) = manifests(a, &kube(4)).unwrap();
        let docs: Vec<Value> = run
            .split("---\n")
            .map(|d| serde_yaml::from_str(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 3);
        let job = &docs[2]["spec"];
        assert_eq!(job["completionMode"], "Indexed");
        assert_eq!(
            (job["completions"].clone(), job["parallelism"].clone()),
            (json!(4), json!(4))
        );
        let c = &job["template"]["spec"]["containers"][0];
        assert_eq!(c["args"][4], "4");
        let options: Value =
            serde_json::from_str(docs[0]["data"]["scenario.json"].as_str().unwrap()).unwrap();
        assert_eq!(options["rate"], json!([400.0]));
        assert_eq!(options["target"], "http://vllm:8000");
        assert!(
            !run.contains("sk-secret"),
            "secrets stay out of the manifests"
        );
        assert!(merge.contains("/shared/bench"));
    }

    #[test]
    fn what_a_shard_would_refuse_is_refused_here() {
        let d = ["--data", "prompt_tokens=8,output_tokens=4"];
        let sweep = args(
            &[
                &["--target", "http://vllm:8000", "--rate-type", "sweep"][..],
                &d,
            ]
            .concat(),
        );
        let e = manifests(sweep, &kube(4)).unwrap_err().to_string();
        assert!(e.contains("sweep and search"), "{e}");
        let mock = args(&["--target", "mock", "--rate-type", "constant", "--rate", "5"]);
        assert!(manifests(mock, &kube(2))
            .unwrap_err()
            .to_string()
            .starts_with("--target"));
        let mut k = kube(2);
        k.name = "Bad_Name".into();
        let ok = args(&[
            "--target",
            "http://vllm:8000",
            "--rate-type",
            "constant",
            "--rate",
            "5",
        ]);
        assert!(manifests(ok, &k)
            .unwrap_err()
            .to_string()
            .starts_with("--name"));
    }
}

//! Where requests come from, end to end through the binary: seeded synthetic
//! prompts (same seed, same bodies) and dataset files.

mod common;

use sha2::{Digest, Sha256};

/// Run a short synchronous benchmark against the built-in mock; the request
/// bodies in send order.
fn bodies(extra: &[&str], tag: &str) -> Vec<String> {
    let dir = common::tempdir(tag);
    let mut args = common::words(
        "benchmark --target mock --rate-type synchronous --max-requests 12 \
         --outputs json --disable-console-outputs --output-dir",
    );
    args.push(dir.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = common::run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::report(&dir);
    let mut recs: Vec<(f64, String)> = report["benchmarks"][0]["requests"]["successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["request_start_time"].as_f64().unwrap(),
                r["request_args"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    recs.sort_by(|a, b| a.0.total_cmp(&b.0));
    recs.into_iter().map(|r| r.1).collect()
}

fn digest(bodies: &[String]) -> String {
    let mut h = Sha256::new();
    for b in bodies {
        h.update(b.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

#[test]
fn same_seed_same_bodies_other_seed_other_bodies() {
    let spec = "prompt_tokens=64,prompt_tokens_stdev=16,output_tokens=3,output_tokens_stdev=1";
    let a = bodies(&["--data", spec, "--random-seed", "7"], "seed-a");
    let b = bodies(&["--data", spec, "--random-seed", "7"], "seed-b");
    let c = bodies(&["--data", spec, "--random-seed", "8"], "seed-c");
    assert_eq!(a.len(), 12);
    assert_eq!(digest(&a), digest(&b));
    assert_ne!(digest(&a), digest(&c));
    assert!(a[0].contains(r#""text":"1-0: "#), "{}", &a[0][..150]);
}

#[test]
fn dataset_files_cycle_and_map_columns() {
    let dir = common::tempdir("dataset");
    let file = dir.join("prompts.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"instruction\": \"Name three rivers.\", \"output_tokens_count\": 5}\n",
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"Say hi.\"}, {\"from\": \"gpt\", \"value\": \"Hi there, friend\"}]}\n",
            "{\"prompt\": \"Count to ten.\", \"system\": \"Be brief.\", \"output_tokens_count\": 2}\n",
        ),
    )
    .unwrap();
    let sent = bodies(&["--data", file.to_str().unwrap()], "dataset-run");
    let v: Vec<serde_json::Value> = sent
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    // Twelve requests cycle through the three rows in order.
    for (i, b) in v.iter().enumerate() {
        let msgs = b["messages"].as_array().unwrap();
        let user = msgs.last().unwrap()["content"][0]["text"].as_str().unwrap();
        let want = ["Name three rivers.", "Say hi.", "Count to ten."][i % 3];
        assert_eq!(user, want);
    }
    assert_eq!(v[0]["max_completion_tokens"], 5);
    assert_eq!(v[0]["ignore_eos"], true);
    // The ShareGPT reply's length (GPT-2 tokens of "Hi there, friend") is the output length.
    assert_eq!(v[1]["max_completion_tokens"], 4);
    assert_eq!(
        v[2]["messages"][0],
        serde_json::json!({"role": "system", "content": "Be brief."})
    );
}

#[test]
fn bad_data_files() {
    let dir = common::tempdir("bad-data");
    let base =
        common::words("benchmark --target mock --rate-type synchronous --max-requests 1 --data");
    common::refused(
        &[&base[..], &["/no/such/file.jsonl"]].concat(),
        "/no/such/file.jsonl",
    );
    let nocol = dir.join("nocol.jsonl");
    std::fs::write(&nocol, "{\"colour\": \"blue\"}\n").unwrap();
    common::refused(
        &[&base[..], &[nocol.to_str().unwrap()]].concat(),
        "no usable prompt column",
    );
    let notok = dir.join("tokenizer.json");
    std::fs::write(&notok, "{\"not\": \"a tokenizer\"}").unwrap();
    common::refused(
        &[
            &base[..],
            &[
                "prompt_tokens=8,output_tokens=2",
                "--processor",
                notok.to_str().unwrap(),
            ],
        ]
        .concat(),
        "not a tokenizer.json",
    );
    let spec = dir.join("spec.yaml");
    std::fs::write(&spec, "prompt_tokens: 8\nprompt_tokens_stdev: -2\n").unwrap();
    common::refused(
        &[&base[..], &[spec.to_str().unwrap()]].concat(),
        "prompt_tokens_stdev",
    );
}

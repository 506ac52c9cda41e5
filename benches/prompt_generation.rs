//! How fast exact-length synthetic prompts are built.
//!
//! Target (issue: datasets and synthetic prompts): 9,000 prompts of
//! 10,240 ± 1,024 tokens — long RAG at 9 rps for 1,000 s — with the Qwen2.5
//! tokenizer in at most 3 s on a 2-core machine, setup included. GuideLLM
//! 0.4 spends about 184 ms of CPU per such request.
//!
//! Run: `cargo bench -p llmload-benches --bench prompt_generation`

use std::sync::Arc;
use std::time::Instant;

use llmload_benches::{cpu_seconds, shared};
use llmload_data::{tokenizer, PromptBuilder, SyntheticSource, SyntheticSpec, BUILTIN_CORPUS};

fn run(name: &str, spec: &str, count: usize) -> (f64, f64, f64) {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let tok = Arc::new(
        tokenizer::load(shared(&format!("tokenizers/{name}")).to_str().unwrap())
            .expect("tokenizer"),
    );
    let builder = PromptBuilder::new(tok, BUILTIN_CORPUS.to_string()).expect("corpus");
    let setup = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut src = SyntheticSource::new(builder, SyntheticSpec::parse(spec).unwrap(), 42, 1);
    let mut tokens = 0u64;
    for _ in 0..count {
        tokens += src.next_spec().expect("prompt").prompt_tokens.unwrap();
    }
    let gen = t1.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{name:8} {count:6} prompts, {:>11} tokens: setup {setup:6.3} s  build {gen:6.3} s  ({:6.1} µs/prompt)  total {:6.3} s  CPU {cpu:6.3} s",
        tokens,
        gen / count as f64 * 1e6,
        setup + gen
    );
    (setup, gen, cpu)
}

fn main() {
    let long_rag =
        "prompt_tokens=10240,prompt_tokens_stdev=1024,output_tokens=1536,output_tokens_stdev=153";
    println!("long RAG: {long_rag}");
    let (setup, gen, _) = run("qwen2.5", long_rag, 9000);
    let total = setup + gen;
    println!(
        "target: 9,000 long-RAG prompts with Qwen2.5 in <= 3 s: {total:.2} s -> {}",
        if total <= 3.0 { "met" } else { "MISSED" }
    );
    run("llama-3", long_rag, 9000);
    run("gpt2", long_rag, 9000);
    println!("chat 512/256:");
    run(
        "qwen2.5",
        "prompt_tokens=512,prompt_tokens_stdev=51,output_tokens=256,output_tokens_stdev=25",
        100_000,
    );
}

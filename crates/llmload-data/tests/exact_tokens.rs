//! Property test: every synthetic prompt re-encodes (special tokens included,
//! as GuideLLM counts) to exactly the number of tokens it was drawn with,
//! for the Qwen2.5, Llama 3 and GPT-2 tokenizers, lengths 1 … 32,768.

use std::sync::Arc;

use llmload_data::{tokenizer, PromptBuilder, SyntheticSource, SyntheticSpec, BUILTIN_CORPUS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn builder(name: &str) -> (PromptBuilder, Arc<tokenizers::Tokenizer>) {
    let t = Arc::new(
        tokenizer::load(&format!("{}/tokenizers/{name}", env!("LLMLOAD_SHARED"))).unwrap(),
    );
    (
        PromptBuilder::new(Arc::clone(&t), BUILTIN_CORPUS.to_string()).unwrap(),
        t,
    )
}

#[test]
fn prompts_encode_to_exactly_the_drawn_count() {
    for name in ["qwen2.5", "llama-3", "gpt2"] {
        let (b, t) = builder(name);
        let mut lengths: Vec<u64> = (1..=40)
            .chain([
                63, 64, 100, 128, 255, 256, 512, 1000, 1024, 4096, 10240, 32768,
            ])
            .collect();
        let mut pick = ChaCha8Rng::seed_from_u64(7);
        // Log-uniform lengths over 1 … 32768.
        lengths.extend((0..60).map(|_| 2f64.powf(pick.random_range(0.0..15.0)).round() as u64));
        for (seed, &n) in lengths.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
            let prompt = b
                .build(n, &format!("{}-{}:", seed % 3 + 1, seed), &mut rng)
                .unwrap();
            let got = t.encode(prompt.as_str(), true).unwrap().len() as u64;
            assert_eq!(
                got,
                n,
                "{name}: asked {n}, got {got}: {:?}",
                &prompt.chars().take(80).collect::<String>()
            );
        }
    }
}

/// A run's prompts guess each prefix's token count from the previous one;
/// the guess is wrong where the index gains a digit (9 -> 10, 99 -> 100) and
/// the prompts must stay exact there too.
#[test]
fn run_prompts_stay_exact_where_the_prefix_grows() {
    for name in ["qwen2.5", "llama-3", "gpt2"] {
        let (b, t) = builder(name);
        let spec = SyntheticSpec::parse("prompt_tokens=24,prompt_tokens_stdev=12,output_tokens=8")
            .unwrap();
        let mut src = SyntheticSource::new(b, spec, 3, 7);
        for i in 0..130 {
            let s = src.next_spec().unwrap();
            let want = s.prompt_tokens.unwrap();
            let got = t.encode(s.prompt.as_str(), true).unwrap().len() as u64;
            assert_eq!(got, want, "{name}, prompt {i}: {:?}", s.prompt);
        }
    }
}

#[test]
fn every_prompt_of_a_run_starts_differently() {
    let (b, _) = builder("qwen2.5");
    let spec =
        SyntheticSpec::parse("prompt_tokens=256,prompt_tokens_stdev=25,output_tokens=32").unwrap();
    let mut src = SyntheticSource::new(b, spec, 42, 1);
    let prompts: Vec<_> = (0..200).map(|_| src.next_spec().unwrap().prompt).collect();
    let mut heads: Vec<_> = prompts
        .iter()
        .map(|p| p.split(':').next().unwrap().to_string())
        .collect();
    heads.sort();
    heads.dedup();
    assert_eq!(heads.len(), 200, "unique prefixes");
    assert!(prompts[0].starts_with("1-0: "), "{}", &prompts[0][..20]);
}

#[test]
fn same_seed_same_requests_other_seed_other_requests() {
    let (b, _) = builder("llama-3");
    let spec = SyntheticSpec::parse(
        "prompt_tokens=300,prompt_tokens_stdev=30,output_tokens=50,output_tokens_stdev=5",
    )
    .unwrap();
    let run = |seed, bench| {
        let mut s = SyntheticSource::new(b.clone(), spec.clone(), seed, bench);
        (0..50).map(|_| s.next_spec().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(run(42, 1), run(42, 1));
    assert_ne!(run(42, 1), run(43, 1));
    assert_ne!(
        run(42, 1),
        run(42, 2),
        "each benchmark of a run gets its own prompts"
    );
    let lengths: Vec<_> = run(42, 1)
        .iter()
        .map(|s| s.prompt_tokens.unwrap())
        .collect();
    assert!(lengths.iter().any(|&l| l != 300), "lengths vary");
}

//! The OpenAI chunk parser: never panics, reports the content it was given.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    llmload_client::fuzz_checks::chunk_parse(data);
});

//! The SSE parser: the same events however the stream is cut into reads.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    llmload_client::fuzz_checks::sse_split_invariance(data);
});

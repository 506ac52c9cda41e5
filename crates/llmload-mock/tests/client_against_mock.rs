//! The real client against the real mock, over loopback TCP: what the client
//! measures must agree with what the mock logged it did.

use llmload_metrics::Measured;
use std::time::Duration;

use llmload_client::openai::{encode_body, BodySpec};
use llmload_client::{CancellationToken, Client, ClientConfig};
use llmload_metrics::{ErrorKind, RequestRecord, RequestStatus, RequestType};
use llmload_mock::{Jitter, MockConfig, MockHandle, MockServer};

async fn mock(ttft_ms: u64, itl_ms: u64) -> MockHandle {
    let cfg = MockConfig {
        model: "mock-model".into(),
        ttft: Jitter::fixed(Duration::from_millis(ttft_ms)),
        itl: Jitter::fixed(Duration::from_millis(itl_ms)),
        ..MockConfig::default()
    };
    MockServer::start(cfg, "127.0.0.1:0".parse().unwrap(), true)
        .await
        .unwrap()
}

fn body(rt: RequestType, model: &str, out: u64) -> bytes::Bytes {
    encode_body(
        &BodySpec {
            request_type: rt,
            model: Some(model),
            prompt: "hello there",
            output_tokens: Some(out),
            max_tokens: None,
            stream: true,
            system: None,
            messages: None,
        },
        None,
    )
}

async fn run(client: &Client, body: bytes::Bytes) -> RequestRecord {
    let mut rec = RequestRecord::new(client.request_type(), 0);
    rec.input.text_tokens = Some(3);
    client
        .execute(body, &mut rec, &CancellationToken::new())
        .await;
    rec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chat_matches_the_mock_log() {
    let m = mock(20, 5).await;
    let mut cfg = ClientConfig::new(m.url());
    cfg.request_type = RequestType::ChatCompletions;
    let client = Client::new(cfg).unwrap();
    assert_eq!(client.models().await.unwrap(), ["mock-model"]);
    for _ in 0..5 {
        let rec = run(
            &client,
            body(RequestType::ChatCompletions, "mock-model", 16),
        )
        .await;
        assert_eq!(rec.status, RequestStatus::Completed, "{:?}", rec.error);
        assert_eq!(rec.output_tokens(), Some(16));
        assert_eq!(rec.timings.token_iterations, 16);
        // role chunk, 16 tokens, usage, [DONE]: each event is a data line and a blank line.
        assert_eq!(rec.timings.request_iterations, 2 * (1 + 16 + 2));
        assert_eq!(rec.output_text.as_deref(), Some(" tok".repeat(16).as_str()));
        assert_eq!(rec.output.text_words, Some(16));
        assert_eq!(rec.input.text_tokens, Some(3), "usage: 11 chars / 4");
        assert!(rec.response_id.as_deref().unwrap().starts_with("chatcmpl-"));
    }
    let log = m.log();
    assert_eq!(log.len(), 5);
    let ids: Vec<_> = log.iter().map(|l| l.response_id.clone()).collect();
    for l in &log {
        assert!(l.completed);
        assert_eq!(l.tokens, 16);
        // Never early; how late depends on the machine's load (precision is
        // measured by the benches, not asserted here).
        let true_ttft = l.ttft_ms().unwrap();
        assert!(
            (20.0..60.0).contains(&true_ttft),
            "mock's own TTFT {true_ttft} ms"
        );
    }
    assert_eq!(ids.len(), 5);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_ttft_is_within_a_millisecond_of_the_truth() {
    let m = mock(30, 2).await;
    let client = Client::new(ClientConfig::new(m.url())).unwrap();
    let mut recs = Vec::new();
    for _ in 0..20 {
        recs.push(run(&client, body(RequestType::ChatCompletions, "mock-model", 4)).await);
    }
    let log = m.log();
    let mut diffs = Vec::new();
    for rec in &recs {
        let truth = log
            .iter()
            .find(|l| Some(&l.response_id) == rec.response_id.as_ref())
            .unwrap();
        let measured = rec.time_to_first_token_ms().unwrap();
        let true_ttft = truth.ttft_ms().unwrap();
        // The client's clock starts when headers are written (before the mock
        // reads them) and stops when the chunk arrives (after the mock sends it).
        assert!(
            measured >= true_ttft,
            "measured {measured} < true {true_ttft}"
        );
        diffs.push(measured - true_ttft);
    }
    // The typical request (the median: a host's stall of one request or
    // two, seen at 0.9 ms on the mean of 10, says nothing of the client).
    // Tests run debug builds of our crates: the median was 0.56 ms in a CI
    // run on a busy 2-core host (0.30-0.50 ms on a quiet one); release
    // builds measure ~0.1 ms (benches/engine_load.rs). A TTFT taken at the
    // wrong event is off by more: the response headers by the mock's 30 ms,
    // the second chunk by its 2 ms ITL, so 1 ms still tells right from wrong.
    diffs.sort_by(f64::total_cmp);
    let median = diffs[diffs.len() / 2];
    assert!(
        median < 1.0,
        "median TTFT {median} ms above the truth: {diffs:?}"
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_route_and_unstreamed_bodies() {
    let m = mock(5, 1).await;
    let mut cfg = ClientConfig::new(format!("{}/v1", m.url()));
    cfg.request_type = RequestType::TextCompletions;
    let client = Client::new(cfg).unwrap();
    let rec = run(&client, body(RequestType::TextCompletions, "mock-model", 7)).await;
    assert_eq!(rec.status, RequestStatus::Completed);
    assert_eq!(rec.output_tokens(), Some(7));
    assert!(rec.response_id.unwrap().starts_with("cmpl-"));
    let unstreamed = encode_body(
        &BodySpec {
            request_type: RequestType::TextCompletions,
            model: Some("mock-model"),
            prompt: "x",
            output_tokens: Some(5),
            max_tokens: None,
            stream: false,
            system: None,
            messages: None,
        },
        None,
    );
    let rec = run(&client, unstreamed).await;
    assert_eq!(rec.status, RequestStatus::Completed);
    assert_eq!(rec.output_tokens(), Some(5));
    assert_eq!(
        rec.timings.first_token_iteration, None,
        "no stream, no TTFT"
    );
    assert!(rec.request_latency().unwrap() >= 0.009);
    m.shutdown().await;
}

#[tokio::test]
async fn http_errors_carry_the_server_message() {
    let m = mock(1, 1).await;
    let client = Client::new(ClientConfig::new(m.url())).unwrap();
    let rec = run(
        &client,
        body(RequestType::ChatCompletions, "no-such-model", 4),
    )
    .await;
    assert_eq!(rec.status, RequestStatus::Errored);
    let err = rec.error.unwrap();
    assert_eq!((err.kind, err.status), (ErrorKind::HttpStatus, Some(404)));
    assert!(
        err.message.contains("`no-such-model` does not exist"),
        "{}",
        err.message
    );
    m.shutdown().await;
}

#[tokio::test]
async fn refused_connections_are_connect_errors() {
    let m = mock(1, 1).await;
    let url = m.url();
    m.shutdown().await;
    let client = Client::new(ClientConfig::new(url)).unwrap();
    let rec = run(&client, body(RequestType::ChatCompletions, "mock-model", 4)).await;
    assert_eq!(rec.status, RequestStatus::Errored);
    assert_eq!(rec.error.unwrap().kind, ErrorKind::Connect);
    assert!(rec.timings.resolve_end.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_mid_stream_keeps_what_arrived() {
    let m = mock(5, 20).await;
    let client = Client::new(ClientConfig::new(m.url())).unwrap();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let task = tokio::spawn({
        let client = client.clone();
        async move {
            let mut rec = RequestRecord::new(RequestType::ChatCompletions, 0);
            client
                .execute(
                    body(RequestType::ChatCompletions, "mock-model", 1000),
                    &mut rec,
                    &c2,
                )
                .await;
            rec
        }
    });
    // Cancel once the mock has sent three tokens.
    while m.tokens_sent() < 3 {
        tokio::task::yield_now().await;
    }
    cancel.cancel();
    let rec = task.await.unwrap();
    assert_eq!(rec.status, RequestStatus::Cancelled);
    assert_eq!(rec.error.as_ref().unwrap().kind, ErrorKind::Cancelled);
    assert!(
        rec.timings.token_iterations >= 1,
        "{}",
        rec.timings.token_iterations
    );
    assert!(rec.timings.token_iterations < 1000);
    assert_eq!(rec.timings.request_end, None);
    assert!(rec.timings.resolve_end.is_some());
    m.shutdown().await;
}

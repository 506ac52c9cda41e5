//! The client's JSON calls beside the measured requests: `GET /v1/models`
//! with each model's `root` (vLLM's capture) and `POST /tokenize`, which
//! must fail fast and cleanly on servers that do not offer it.

use std::path::Path;
use std::time::{Duration, Instant};

use llmload_client::{Client, ClientConfig, ServedModel};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("LLMLOAD_SHARED"))
            .join("fixtures/vllm-0.32-wire")
            .join(name),
    )
    .unwrap()
}

/// Read one request (head and Content-Length body); its request line and body.
async fn read_request(tcp: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = head.lines().next().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    Some((line, body))
}

/// An answer: status, content type, body; `None`: never answer.
type Answer = Option<(u16, &'static str, String)>;

/// A server answering each request line with `answer(line, body)`.
async fn server(answer: fn(&str, &str) -> Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                while let Some((line, body)) = read_request(&mut tcp).await {
                    let Some((status, ctype, text)) = answer(&line, &body) else {
                        // Hold the connection open, silent.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if tcp.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn vllm(line: &str, body: &str) -> Answer {
    if line.starts_with("GET /v1/models ") {
        return Some((200, "application/json", fixture("models.json")));
    }
    if line.starts_with("POST /tokenize ") {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["add_special_tokens"], true, "{body}");
        return Some((200, "application/json", fixture("tokenize.json")));
    }
    Some((404, "application/json", r#"{"detail":"Not Found"}"#.into()))
}

fn client(url: &str) -> Client {
    Client::new(ClientConfig::new(url)).unwrap()
}

fn tokenize_body() -> serde_json::Value {
    json!({"model": "tiny-qwen", "prompt": "Hello", "add_special_tokens": true})
}

#[tokio::test]
async fn models_come_with_the_root_vllm_reports() {
    let c = client(&server(vllm).await);
    assert_eq!(
        c.models_with_roots().await.unwrap(),
        [ServedModel {
            id: "tiny-qwen".into(),
            root: Some("tiny-qwen".into()),
        }]
    );
    assert_eq!(c.models().await.unwrap(), ["tiny-qwen"]);
    let v = c
        .post_json("/tokenize", &tokenize_body(), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(v["count"], 8);
}

#[tokio::test]
async fn tokenize_fails_fast_where_the_server_lacks_it() {
    fn not_found(_: &str, _: &str) -> Answer {
        Some((404, "application/json", r#"{"detail":"Not Found"}"#.into()))
    }
    fn not_json(_: &str, _: &str) -> Answer {
        Some((200, "text/html", "<html>hello</html>".into()))
    }
    fn silent(_: &str, _: &str) -> Answer {
        None
    }
    let limit = Duration::from_millis(300);
    for (what, answer) in [
        ("404", not_found as fn(&str, &str) -> Answer),
        ("not JSON", not_json),
        ("silent", silent),
    ] {
        let c = client(&server(answer).await);
        let t0 = Instant::now();
        let r = c.post_json("/tokenize", &tokenize_body(), limit).await;
        assert!(r.is_err(), "{what}: {r:?}");
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            t0.elapsed()
        );
    }
    // Nothing listening: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    assert!(c
        .post_json("/tokenize", &tokenize_body(), limit)
        .await
        .is_err());
}

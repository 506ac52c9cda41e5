//! TLS: verified by default, a private CA trusted through a CA bundle,
//! verification off only when asked. Against an in-process HTTPS server with
//! a freshly generated self-signed certificate, answering a real vLLM stream.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use llmload_client::{CancellationToken, Client, ClientConfig};
use llmload_metrics::{ErrorKind, RequestRecord, RequestStatus, RequestType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An HTTPS server on loopback; returns its URL and its certificate (PEM).
async fn https_server() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sse = std::fs::read(
        Path::new(env!("LLMLOAD_SHARED")).join("fixtures/vllm-0.32-wire/chat_stream.sse"),
    )
    .unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, sse) = (acceptor.clone(), sse.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // Read the head and the body, then answer with the capture.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    sse.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(&sse).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), ck.cert.pem())
}

async fn one_request(cfg: ClientConfig) -> RequestRecord {
    let client = Client::new(cfg).unwrap();
    let mut rec = RequestRecord::new(RequestType::ChatCompletions, 0);
    let body = Bytes::from_static(br#"{"model":"tiny-qwen","stream":true,"messages":[]}"#);
    client
        .execute(body, &mut rec, &CancellationToken::new())
        .await;
    rec
}

#[tokio::test]
async fn tls_is_verified_unless_trusted_or_turned_off() {
    let (url, pem) = https_server().await;

    // Verified against the public roots: a self-signed certificate is refused.
    let rec = one_request(ClientConfig::new(&url)).await;
    assert_eq!(rec.status, RequestStatus::Errored);
    let err = rec.error.as_ref().unwrap();
    assert_eq!(err.kind, ErrorKind::Connect, "{}", err.message);

    // Trusted through a CA bundle: the stream is read whole.
    let dir = std::env::temp_dir().join(format!("llmload-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("ca.pem");
    std::fs::write(&bundle, &pem).unwrap();
    let mut cfg = ClientConfig::new(&url);
    cfg.ca_bundle = Some(bundle);
    let rec = one_request(cfg).await;
    assert_eq!(rec.status, RequestStatus::Completed, "{:?}", rec.error);
    assert!(rec.output.text_tokens.unwrap() > 0);

    // Verification off, explicitly.
    let mut cfg = ClientConfig::new(&url);
    cfg.verify_tls = false;
    let rec = one_request(cfg).await;
    assert_eq!(rec.status, RequestStatus::Completed, "{:?}", rec.error);

    // A bundle that holds no certificate is a setup error naming the file.
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let mut cfg = ClientConfig::new(&url);
    cfg.ca_bundle = Some(junk);
    let e = Client::new(cfg).unwrap_err().to_string();
    assert!(e.contains("junk.pem") && e.contains("PEM"), "{e}");
}

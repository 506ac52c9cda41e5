//! Connections: target URLs, TLS, a keep-alive pool of HTTP/1.1 connections,
//! and the socket wrapper that stamps when a request's first byte is written.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use llmload_clock::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{ClientError, SetupError};

/// Where requests go: `http(s)://host:port[/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Whether TLS is used.
    pub https: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix before `/v1/...`, without a trailing slash (often empty).
    pub base_path: String,
}

impl Target {
    /// Parse a target URL. As GuideLLM does, a trailing `/` and then a
    /// trailing `/v1` are removed, so `http://h:8000/v1` means `http://h:8000`.
    pub fn parse(url: &str) -> Result<Target, SetupError> {
        let bad = |why: &str| SetupError::new(format!("--target {url:?}: {why}"));
        let (https, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad("expected a URL starting with http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| bad("unclosed [ in IPv6 host"))?;
            let port = match &v6[end + 1..] {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("bad port"))?),
            };
            (v6[..end].to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
            None if https => 443,
            None => 80,
        };
        let mut base = path.trim_end_matches('/');
        base = base.strip_suffix("/v1").unwrap_or(base);
        Ok(Target {
            https,
            host,
            port,
            base_path: base.trim_end_matches('/').to_string(),
        })
    }

    /// `host:port` for the Host header (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `base_path + route`, e.g. `/v1/chat/completions`.
    pub fn path(&self, route: &str) -> String {
        format!("{}{}", self.base_path, route)
    }

    /// The URL again, normalized (as reported in GuideLLM's `backend.target`).
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            if self.https { "https" } else { "http" },
            self.authority(),
            self.base_path
        )
    }

    /// Whether the host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// A TCP or TLS stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// A socket that records when the first byte after [`StampedIo`]'s stamp was
/// reset is written: the moment a request's headers start to go out.
struct StampedIo {
    stream: Stream,
    first_write: Arc<AtomicU64>,
}

impl AsyncRead for StampedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl StampedIo {
    fn stamp(&self) {
        if self.first_write.load(Ordering::Relaxed) == 0 {
            self.first_write
                .store(llmload_clock::now().as_nanos(), Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for StampedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stamp();
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stamp();
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One HTTP/1.1 connection, ready for a request.
pub(crate) struct Conn {
    pub(crate) sender: http1::SendRequest<Full<Bytes>>,
    first_write: Arc<AtomicU64>,
    /// Whether this connection served a request before (a failed send on a
    /// reused connection is retried once on a fresh one).
    pub(crate) reused: bool,
}

impl Conn {
    /// Forget the previous request's write time.
    pub(crate) fn arm(&self) {
        self.first_write.store(0, Ordering::Relaxed);
    }

    /// When the current request's first byte was written, if it was.
    pub(crate) fn first_write(&self) -> Option<Timestamp> {
        match self.first_write.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Timestamp::from_nanos(n)),
        }
    }
}

/// Opens connections and keeps idle ones for reuse.
pub(crate) struct Pool {
    target: Target,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<Conn>>,
    /// Local addresses new connections are bound to, in turn.
    sources: Vec<std::net::IpAddr>,
    next_source: std::sync::atomic::AtomicUsize,
}

impl Pool {
    pub(crate) fn new(
        target: Target,
        verify_tls: bool,
        ca_bundle: Option<&std::path::Path>,
    ) -> Result<Pool, SetupError> {
        let tls = if target.https {
            Some(crate::tls::connector(verify_tls, ca_bundle)?)
        } else {
            None
        };
        Ok(Pool {
            target,
            tls,
            idle: Mutex::new(Vec::new()),
            sources: Vec::new(),
            next_source: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Open new connections from `sources` in turn; each must be an address
    /// of this host (checked by binding to it now).
    pub(crate) fn with_sources(mut self, sources: &[std::net::IpAddr]) -> Result<Pool, SetupError> {
        for ip in sources {
            std::net::TcpListener::bind((*ip, 0)).map_err(|e| {
                SetupError::new(format!(
                    "--source-addresses {ip}: cannot bind to it ({e}); expected an address of this host"
                ))
            })?;
        }
        self.sources = sources.to_vec();
        Ok(self)
    }

    /// A TCP connection to the target, from the next source address if any.
    async fn tcp(&self) -> std::io::Result<TcpStream> {
        let addr = (self.target.host.as_str(), self.target.port);
        if self.sources.is_empty() {
            return TcpStream::connect(addr).await;
        }
        let i = self.next_source.fetch_add(1, Ordering::Relaxed) % self.sources.len();
        let ip = self.sources[i];
        let peer = tokio::net::lookup_host(addr)
            .await?
            .find(|a| a.is_ipv4() == ip.is_ipv4())
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "no address of the {} family for the target",
                    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
                ))
            })?;
        let socket = if ip.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.bind(std::net::SocketAddr::new(ip, 0))?;
        socket.connect(peer).await
    }

    /// An idle connection, or a new one.
    pub(crate) async fn checkout(&self) -> Result<Conn, ClientError> {
        loop {
            let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match conn {
                Some(mut c) if !c.sender.is_closed() => {
                    if c.sender.ready().await.is_ok() {
                        c.reused = true;
                        return Ok(c);
                    }
                }
                Some(_) => continue,
                None => return self.connect().await,
            }
        }
    }

    /// Give a connection back after its response was read to the end.
    pub(crate) fn checkin(&self, conn: Conn) {
        if !conn.sender.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }

    /// Open a new connection.
    pub(crate) async fn connect(&self) -> Result<Conn, ClientError> {
        let tcp = self.tcp().await.map_err(|e| {
            ClientError::connect(format!("connecting to {}: {e}", self.target.authority()))
        })?;
        let _ = tcp.set_nodelay(true);
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.target.host.clone())
                    .map_err(|e| {
                        ClientError::connect(format!("TLS server name {}: {e}", self.target.host))
                    })?;
                let s = tls.connect(name, tcp).await.map_err(|e| {
                    ClientError::connect(format!(
                        "TLS handshake with {}: {e}",
                        self.target.authority()
                    ))
                })?;
                Stream::Tls(Box::new(s))
            }
        };
        let first_write = Arc::new(AtomicU64::new(0));
        let io = StampedIo {
            stream,
            first_write: Arc::clone(&first_write),
        };
        // SSE chunks are a few hundred bytes: a 4 KiB read buffer (instead of
        // hyper's growable 8 KiB+) keeps 10,000 open streams small.
        let (sender, conn) = http1::Builder::new()
            .read_buf_exact_size(Some(4096))
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| {
                ClientError::connect(format!(
                    "HTTP handshake with {}: {e}",
                    self.target.authority()
                ))
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            first_write,
            reused: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_guidellm() {
        let t = Target::parse("http://localhost:8000/v1/").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.base_path.as_str()),
            (false, "localhost", 8000, "")
        );
        assert_eq!(t.path("/v1/models"), "/v1/models");
        let t = Target::parse("https://api.example.com/prefix").unwrap();
        assert_eq!((t.port, t.base_path.as_str()), (443, "/prefix"));
        assert_eq!(t.path("/v1/completions"), "/prefix/v1/completions");
        let t = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        assert_eq!(t.authority(), "[::1]:9000");
        assert!(t.is_loopback());
        assert!(Target::parse("127.0.0.1:8000").is_err());
        assert!(Target::parse("http://h:99999").is_err());
        assert!(!Target::parse("http://10.0.0.1").unwrap().is_loopback());
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    fn pool(port: u16) -> Pool {
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        Pool::new(target, true, None).unwrap()
    }

    #[tokio::test]
    async fn connections_come_from_each_source_address_in_turn() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sources: Vec<std::net::IpAddr> =
            vec!["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()];
        let p = pool(port).with_sources(&sources).unwrap();
        let mut peers = Vec::new();
        for _ in 0..4 {
            let _c = p.tcp().await.unwrap();
            peers.push(listener.accept().await.unwrap().1.ip().to_string());
        }
        assert_eq!(peers, ["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3"]);
    }

    #[test]
    fn an_address_of_another_host_is_refused_naming_the_flag() {
        let e = pool(9)
            .with_sources(&["192.0.2.1".parse().unwrap()])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("--source-addresses 192.0.2.1: cannot bind"),
            "{e}"
        );
    }
}

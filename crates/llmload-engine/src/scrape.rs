//! Scraping the server's `/metrics` while a run goes: on its own task and
//! its own connections (never the senders' pool), every interval, and once
//! just before each benchmark's first request and once just after its last
//! response, so that a benchmark's counter deltas cover exactly its
//! requests. Each scrape is stamped at its midpoint on llmload's clock;
//! parsing runs off the runtime's workers. The gaps between scrapes are
//! jittered around the interval so that they do not alias with a periodic
//! load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmload_client::{CancellationToken, Client, ClientConfig};
use llmload_clock::{now, Timestamp};
use llmload_core::ServerScrape;
use llmload_metrics::server::{combine, parse_scrape};

use crate::progress::ServerNow;

/// The latest scrape's queue and KV cache, for the live progress line.
#[derive(Clone, Default)]
pub(crate) struct Latest(Arc<Mutex<Option<ServerNow>>>);

impl Latest {
    pub(crate) fn get(&self) -> Option<ServerNow> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, s: &ServerScrape) {
        let v = |k: &str| s.values.get(k).copied();
        let now = ServerNow {
            running: v("vllm:num_requests_running").unwrap_or(0.0),
            waiting: v("vllm:num_requests_waiting").unwrap_or(0.0),
            kv_cache: v("vllm:kv_cache_usage_perc"),
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    }
}

/// Where and how often to scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerMetricsConfig {
    /// Each replica's metrics URL (`http://host:port/metrics`).
    pub urls: Vec<String>,
    /// Time between scrapes.
    pub interval: Duration,
}

/// How long one scrape may take.
const SCRAPE_LIMIT: Duration = Duration::from_secs(5);

/// A replica's client and the path of its metrics.
struct Replica {
    client: Client,
    route: String,
}

fn replica(url: &str) -> Result<Replica, String> {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (base, route) = match url[scheme_end..].find('/') {
        Some(i) => (&url[..scheme_end + i], &url[scheme_end + i..]),
        None => (url, "/metrics"),
    };
    let mut cfg = ClientConfig::new(base);
    cfg.timeout = Some(SCRAPE_LIMIT);
    let client = Client::new(cfg).map_err(|e| format!("--server-metrics {url}: {e}"))?;
    Ok(Replica {
        client,
        route: route.to_string(),
    })
}

/// One scrape of every replica (those that answer), combined.
async fn scrape(replicas: &[Replica]) -> Result<ServerScrape, String> {
    let mut got = Vec::with_capacity(replicas.len());
    let mut last_err = String::new();
    for r in replicas {
        let t0 = now();
        match r.client.get_text(&r.route, SCRAPE_LIMIT).await {
            Ok(text) => {
                let t1 = now();
                let mid = t0 + t1.saturating_since(t0) / 2;
                let parsed = tokio::task::spawn_blocking(move || parse_scrape(&text, mid))
                    .await
                    .map_err(|e| format!("parsing a scrape: {e}"))?;
                got.push(parsed);
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    if got.is_empty() {
        return Err(last_err);
    }
    // The replicas' midpoints averaged.
    let n = got.len() as u64;
    let sum: u64 = got.iter().map(|s| s.at.as_nanos() / n).sum();
    let at = Timestamp::from_nanos(sum);
    let mut s = combine(got).expect("not empty");
    s.at = at;
    Ok(s)
}

/// Check once, before the run, that every URL answers with `vllm:`
/// families: the error says why not (the run then goes without).
pub async fn probe_server_metrics(cfg: &ServerMetricsConfig) -> Result<(), String> {
    for url in &cfg.urls {
        let r = replica(url)?;
        let s = scrape(std::slice::from_ref(&r))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if s.values.is_empty() && s.histograms.is_empty() {
            return Err(format!("{url}: no vllm: metrics in the answer"));
        }
    }
    Ok(())
}

/// One scrape of every URL, now (outside a run: after the last shard of
/// a sharded run has ended).
pub async fn scrape_once(cfg: &ServerMetricsConfig) -> Result<ServerScrape, String> {
    let replicas = cfg
        .urls
        .iter()
        .map(|u| replica(u))
        .collect::<Result<Vec<_>, _>>()?;
    scrape(&replicas).await
}

/// The scrapes of a run so far, and the task taking them.
pub(crate) struct Scraper {
    /// The latest scrape's figures.
    pub(crate) latest: Latest,
    replicas: Arc<Vec<Replica>>,
    samples: Arc<Mutex<Vec<ServerScrape>>>,
    stop: CancellationToken,
}

impl Scraper {
    /// Start scraping every `cfg.interval` (the first scrape at once).
    pub(crate) fn start(cfg: &ServerMetricsConfig) -> Result<Scraper, String> {
        let replicas = Arc::new(
            cfg.urls
                .iter()
                .map(|u| replica(u))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let latest = Latest::default();
        let l = latest.clone();
        let (r, s, st, every) = (
            Arc::clone(&replicas),
            Arc::clone(&samples),
            stop.clone(),
            cfg.interval.max(Duration::from_millis(50)),
        );
        tokio::spawn(async move {
            // Gaps drawn uniformly from [0.5, 1.5] intervals: a fixed period
            // in step with a constant rate (1 s against 2 req/s) would take
            // every sample at the same phase of the load, all busy or all idle.
            let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::from_os_rng();
            loop {
                let gap = every.mul_f64(rand::Rng::random_range(&mut rng, 0.5..1.5));
                tokio::select! {
                    biased;
                    _ = st.cancelled() => return,
                    _ = tokio::time::sleep(gap) => {}
                }
                if let Ok(x) = scrape(&r).await {
                    l.set(&x);
                    s.lock().unwrap_or_else(|e| e.into_inner()).push(x);
                }
            }
        });
        Ok(Scraper {
            latest,
            replicas,
            samples,
            stop,
        })
    }

    /// Scrape now (a benchmark's edge); the scrape's time, if it worked.
    pub(crate) async fn scrape_now(&self) -> Option<Timestamp> {
        let x = scrape(&self.replicas).await.ok()?;
        self.latest.set(&x);
        let at = x.at;
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(x);
        Some(at)
    }

    /// The scrapes taken from `from` to `to`, in time order.
    pub(crate) fn between(&self, from: Timestamp, to: Timestamp) -> Vec<ServerScrape> {
        let mut v: Vec<ServerScrape> = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .cloned()
            .collect();
        v.sort_by_key(|s| s.at);
        v
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

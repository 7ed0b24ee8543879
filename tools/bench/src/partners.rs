//! What partners call, under load at `connections` concurrent keep-alive connections: the widget uncached (a full
//! render), the widget revalidated (`If-None-Match` with its ETag: the 304 a browser or CDN holding the page gets),
//! the needs feed walked end to end by every connection at once (items a second), and the GraphQL Q1 listing at
//! the same concurrency for comparison. Each connection is its own one-connection client, as in the other benches.
use std::path::Path;
use std::time::{Duration, Instant};

use api::Settings;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, HeaderValue, IF_NONE_MATCH};

use crate::matching::{Timing, gather, prepared_database, start_server};

pub struct PartnerBenchOptions {
    /// Seconds each load lasts.
    pub seconds: u64,
    pub connections: usize,
}

pub struct LoadRow {
    pub name: &'static str,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

pub struct FeedWalk {
    pub walkers: usize,
    pub items_each: usize,
    pub pages_each: usize,
    pub seconds: f64,
    pub errors: usize,
}

pub struct PartnerReport {
    pub connections: usize,
    pub rows: Vec<LoadRow>,
    pub feed: FeedWalk,
}

/// The widget a council's page might show: English classes, newest first, as Q1 lists them.
const WIDGET: &str = "/embed/needs?categories=ENGLISH_CLASSES&limit=20";
const Q1: &str = "{ needs(first: 20, filter: {categories: [ENGLISH_CLASSES], status: OPEN}, orderBy: NEWEST) { edges { node { id title organisation { name } } } } }";

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())
}

pub async fn run(settings: &Settings, pitchin: &Path, options: PartnerBenchOptions) -> Result<PartnerReport, String> {
    prepared_database(settings).await?;
    let (_server, graphql, _keys) = start_server(settings, pitchin).await?;
    let base = graphql.url.trim_end_matches("/graphql").to_owned();
    let probe = client()?;
    let widget = format!("{base}{WIDGET}");
    let first = probe.get(&widget).send().await.map_err(|e| e.to_string())?;
    if first.status() != StatusCode::OK {
        return Err(format!("the widget answered {}", first.status()));
    }
    let etag = first.headers().get(ETAG).cloned().ok_or("the widget sent no ETag")?;
    let duration = Duration::from_secs(options.seconds);
    let n = options.connections;
    let mut rows = Vec::new();
    // Warm the server's caches (parsed documents, the read connections) before measuring.
    load(Request::Widget { url: widget.clone(), etag: None }, n, Duration::from_secs(2)).await;
    for (name, request) in [
        ("/embed/needs, uncached (200)", Request::Widget { url: widget.clone(), etag: None }),
        ("/embed/needs, revalidated (304)", Request::Widget { url: widget.clone(), etag: Some(etag.clone()) }),
        ("GraphQL Q1 listing (200)", Request::Graphql { url: graphql.url.clone() }),
    ] {
        let timing = load(request, n, duration).await;
        rows.push(LoadRow {
            name,
            per_second: timing.samples.len() as f64 / options.seconds as f64,
            p50_ms: timing.quantile(0.5),
            p99_ms: timing.quantile(0.99),
            errors: timing.errors,
        });
    }
    let feed = walk(&base, n).await?;
    Ok(PartnerReport { connections: n, rows, feed })
}

#[derive(Clone)]
enum Request {
    Widget { url: String, etag: Option<HeaderValue> },
    Graphql { url: String },
}

impl Request {
    /// Sends it once; whether the answer was the one expected.
    async fn send(&self, http: &reqwest::Client) -> bool {
        match self {
            Request::Widget { url, etag } => {
                let mut request = http.get(url);
                if let Some(etag) = etag {
                    request = request.header(IF_NONE_MATCH, etag.clone());
                }
                let want = if etag.is_some() { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
                match request.send().await {
                    Ok(r) => r.status() == want && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
            Request::Graphql { url } => {
                let body = serde_json::json!({ "query": Q1 }).to_string();
                match http.post(url).header(CONTENT_TYPE, "application/json").body(body).send().await {
                    Ok(r) => r.status() == StatusCode::OK && r.text().await.is_ok_and(|t| !t.contains("\"errors\"")),
                    Err(_) => false,
                }
            }
        }
    }
}

async fn load(request: Request, connections: usize, duration: Duration) -> Timing {
    let deadline = Instant::now() + duration;
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut timing = Timing { name: String::new(), samples: Vec::new(), errors: 0 };
            let Ok(http) = client() else {
                timing.errors += 1;
                return timing;
            };
            while Instant::now() < deadline {
                let start = Instant::now();
                let ok = request.send(&http).await;
                timing.samples.push(start.elapsed());
                if !ok {
                    timing.errors += 1;
                }
            }
            timing
        }));
    }
    gather(workers).await
}

/// Every connection walks the whole needs feed from its start to its last page, at once.
async fn walk(base: &str, walkers: usize) -> Result<FeedWalk, String> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(walkers);
    for _ in 0..walkers {
        let start = format!("{base}/feeds/needs");
        tasks.push(tokio::spawn(async move {
            let http = client()?;
            let (mut url, mut items, mut pages) = (start, 0usize, 0usize);
            loop {
                let bytes =
                    http.get(&url).send().await.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
                let page: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                pages += 1;
                let count = page["items"].as_array().map_or(0, Vec::len);
                items += count;
                let next = page["next"].as_str().ok_or("a page without next")?.to_owned();
                if count == 0 || next == url {
                    return Ok::<_, String>((items, pages));
                }
                url = next;
            }
        }));
    }
    let mut walked = Vec::with_capacity(walkers);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(done)) => walked.push(done),
            _ => errors += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (items_each, pages_each) = walked.first().copied().unwrap_or((0, 0));
    if walked.iter().any(|w| *w != (items_each, pages_each)) {
        return Err("the walkers read different feeds".into());
    }
    Ok(FeedWalk { walkers, items_each, pages_each, seconds, errors })
}

pub fn report(report: &PartnerReport) -> String {
    let mut out = format!("partners' surfaces at {} connections\n", report.connections);
    out.push_str("| request | per second | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- |\n");
    for row in &report.rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |\n",
            row.name, row.per_second, row.p50_ms, row.p99_ms, row.errors
        ));
    }
    let feed = &report.feed;
    let total = (feed.walkers * feed.items_each) as f64;
    out.push_str(&format!(
        "/feeds/needs walked end to end by {} connections at once: {} items in {} pages each, {:.1} s, {:.0} items a second in all ({} errors)\n",
        feed.walkers,
        feed.items_each,
        feed.pages_each,
        feed.seconds,
        total / feed.seconds.max(f64::EPSILON),
        feed.errors
    ));
    out
}

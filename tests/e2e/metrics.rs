//! Prometheus metrics (issue 21 §5): on their own router (`PITCHIN_METRICS_BIND`), never on the public one.
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::{TestApp, data, error_code, get};

/// The value of the first sample line that starts with `series` (name and labels, as Prometheus prints them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

async fn scrape(app: &TestApp) -> String {
    let request = Request::get("/metrics").body(Body::empty()).expect("request");
    let response = app.metrics.clone().oneshot(request).await.expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn metrics_count_operations_by_outcome_and_sample_the_servers_state() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@metrics.example", "Owner").await;
    let organisation = app.organisation(&owner, "Metrics Club").await;
    app.open_need(&owner, &organisation, "Counted need", json!({})).await;
    // The recorder is the process's: these operation names are this test's own.
    for _ in 0..3 {
        let listed = app.gql("query MetricsProbeListing { needs(first: 5) { totalCount } }", json!({})).await;
        assert_eq!(data(&listed)["needs"]["totalCount"], 1);
    }
    let refused = app.gql(r#"query MetricsProbeRefused { need(id: "not-an-id") { title } }"#, json!({})).await;
    let code = error_code(&refused);
    // Turned away before it ran: counted all the same.
    let unauthenticated = app
        .gql_as(Some("not-a-token"), "query MetricsProbeUnauthenticated { needs(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&unauthenticated), "UNAUTHENTICATED");
    // A match brings the matching index up to date.
    let (volunteer, _) = app.volunteer("volunteer@metrics.example", "Volunteer", json!({})).await;
    app.gql_as(Some(&volunteer.token), "{ recommendedNeeds { totalCount } }", json!({})).await;
    let page = get(&app, "/feeds/needs", None).await;
    assert_eq!(page.status, 200);

    let text = scrape(&app).await;
    let ok = sample(&text, r#"pitchin_graphql_requests_total{operation="MetricsProbeListing",outcome="OK"}"#);
    assert_eq!(ok, Some(3.0), "{text}");
    let series = format!(r#"pitchin_graphql_requests_total{{operation="MetricsProbeRefused",outcome="{code}"}}"#);
    assert_eq!(sample(&text, &series), Some(1.0), "{series} in {text}");
    let turned_away = r#"pitchin_graphql_requests_total{operation="MetricsProbeUnauthenticated",outcome="REFUSED"}"#;
    assert_eq!(sample(&text, turned_away), Some(1.0), "{text}");
    let latency = r#"pitchin_graphql_request_duration_seconds_count{operation="MetricsProbeListing"}"#;
    assert_eq!(sample(&text, latency), Some(3.0));
    assert!(
        sample(&text, r#"pitchin_http_requests_total{route="/feeds/needs",status="200"}"#).is_some_and(|n| n >= 1.0),
        "HTTP requests by route pattern"
    );
    for gauge in [
        r#"pitchin_db_connections{pool="main",state="idle"}"#,
        r#"pitchin_outbox_depth{outbox="notifications"}"#,
        r#"pitchin_outbox_depth{outbox="webhooks"}"#,
        "pitchin_live_subscriptions",
        "pitchin_matching_index_age_seconds",
        r#"pitchin_matching_index_entries{kind="needs"}"#,
    ] {
        assert!(sample(&text, gauge).is_some(), "{gauge} in {text}");
    }
}

#[tokio::test]
async fn the_public_address_serves_no_metrics() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/metrics", None).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("pitchin_"), "{}", page.body);
}

/// A `pitchin serve` process of this build, stopped when dropped.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port")
}

/// A GET over a real connection: the status and the body, or `None` if nothing answers.
async fn fetch(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.ok()?;
    tokio::spawn(connection);
    let request = Request::get(path).header("host", addr.to_string()).body(String::new()).ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, String::from_utf8_lossy(&bytes).into_owned()))
}

#[tokio::test]
async fn a_server_shows_metrics_on_their_own_address_and_sends_traces_to_a_collector() {
    use std::sync::{Arc, Mutex};
    let app = TestApp::spawn().await;
    // Not empty, so the embedded database gets no demo data.
    app.register("someone@traces.example", "Someone").await;

    // A collector: OTLP/HTTP, protobuf bodies kept as they come.
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(body.to_vec());
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let collector_addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let (public, metrics) = (free_port(), free_port());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pitchin"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("PITCHIN_BIND", public.to_string())
        .env("PITCHIN_METRICS_BIND", metrics.to_string())
        .env("JWT_SECRET", "test-secret-that-is-at-least-32-bytes-long")
        .env("PITCHIN_DB_MAX_CONNECTIONS", "4")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector_addr}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "warn,pitchin=info,api=info")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("pitchin serve starts");
    let mut served = Served(child);
    let started = std::time::Instant::now();
    while fetch(public, "/readyz").await.is_none_or(|(status, _)| status != 200) {
        // A port taken meanwhile by another test's listener ends the server at once: say so, not after 60 s.
        assert!(matches!(served.0.try_wait(), Ok(None)), "the server stopped (a port taken?)");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the server never became ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let query = serde_urlencoded::to_string([("query", "query TracedProbe { needs(first: 1) { totalCount } }")])
        .expect("a query string");
    let (status, body) = fetch(public, &format!("/graphql?{query}")).await.expect("an answer");
    assert_eq!(status, 200, "{body}");

    let (status, text) = fetch(metrics, "/metrics").await.expect("the metrics address answers");
    assert_eq!(status, 200);
    assert!(text.contains(r#"pitchin_graphql_requests_total{operation="TracedProbe",outcome="OK"} 1"#), "{text}");
    let (status, _) = fetch(public, "/metrics").await.expect("the public address answers");
    assert_eq!(status, 404, "no metrics on the public address");

    // The request's span reaches the collector, named for its operation.
    let started = std::time::Instant::now();
    loop {
        let bodies = received.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let has = |needle: &[u8]| bodies.iter().any(|b| b.windows(needle.len()).any(|w| w == needle));
        if has(b"TracedProbe") && has(b"pitchin") {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "no span reached the collector: {bodies:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

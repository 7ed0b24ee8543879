//! Prometheus metrics (`/metrics`), served on an address of their own (`PITCHIN_METRICS_BIND`) so that the public
//! address never shows them.
//!
//! Counted as requests go: GraphQL requests by operation name and outcome (the first error's code, or `OK`) with
//! their latency, and every HTTP request by route and status with its latency. Sampled at each scrape: the
//! database pools' connections, live subscriptions, the outboxes' depth, the matching index's age and size, and the
//! replica's freshness.
//!
//! The recorder is the process's (`metrics` has one global recorder): installed once, at the first call of
//! `recorder`, however many apps a process runs (the tests run hundreds).
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseBackend;

use super::AppState;

/// Latency buckets, in seconds: the listing answers in about a millisecond, the request timeout is 15 s.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0];
/// Operation names are the client's: beyond this many distinct ones, further names count as `other`, so that no
/// client can grow the metrics without bound.
const MAX_OPERATIONS: usize = 200;
/// The longest a scrape waits for its samples (Prometheus's own scrape timeout is 10 s by default).
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often histograms are folded in between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static OPERATIONS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The process's recorder, installed at the first call (`None` if another recorder was installed first).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                        let upkeep = handle.clone();
                        runtime.spawn(async move {
                            let mut every = tokio::time::interval(UPKEEP_EVERY);
                            loop {
                                every.tick().await;
                                upkeep.run_upkeep();
                            }
                        });
                    }
                    Some(handle)
                }
                Err(err) => {
                    tracing::error!(error = %err, "no metrics: the recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Whether this process records metrics (`recorder` was called and installed one). Without a recorder the
/// `metrics` macros would still build every label, on every request, for nothing.
fn recording() -> bool {
    RECORDER.get().is_some_and(Option::is_some)
}

/// The router of the metrics address: `GET /metrics` only.
pub fn router(state: AppState) -> Router {
    recorder();
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = recorder() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded in this process\n").into_response();
    };
    // Bounded: a database that is slow to count leaves the last counts in place rather than stall the scraper.
    if tokio::time::timeout(SAMPLE_TIMEOUT, sample(&state)).await.is_err() {
        tracing::warn!("sampling the metrics took over 2 s: the last samples stand");
    }
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Sets the gauges sampled at each scrape.
async fn sample(state: &AppState) {
    let (size, idle) = match state.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    pool_gauges("main", size as usize, idle);
    if let Some((size, available)) = state.reads.status() {
        pool_gauges("reads", size, available);
    }
    gauge!("pitchin_live_subscriptions").set(state.live.subscriptions() as f64);
    match domain::notifications::outbox::pending(&state.db).await {
        Ok(n) => gauge!("pitchin_outbox_depth", "outbox" => "notifications").set(n as f64),
        Err(err) => tracing::warn!(error = ?err, "could not count the notifications outbox"),
    }
    match domain::webhooks::outbox::pending(&state.db).await {
        Ok(n) => gauge!("pitchin_outbox_depth", "outbox" => "webhooks").set(n as f64),
        Err(err) => tracing::warn!(error = ?err, "could not count the webhooks outbox"),
    }
    let index = state.matching.freshness();
    if let Some(age) = index.age {
        gauge!("pitchin_matching_index_age_seconds").set(age.as_secs_f64());
    }
    gauge!("pitchin_matching_index_entries", "kind" => "volunteers").set(index.volunteers as f64);
    gauge!("pitchin_matching_index_entries", "kind" => "needs").set(index.needs as f64);
    if let Some(routing) = &state.routing {
        gauge!("pitchin_replica_fresh").set(if routing.replica().fresh() { 1.0 } else { 0.0 });
    }
}

fn pool_gauges(pool: &'static str, size: usize, idle: usize) {
    gauge!("pitchin_db_connections", "pool" => pool, "state" => "idle").set(idle as f64);
    gauge!("pitchin_db_connections", "pool" => pool, "state" => "in_use").set(size.saturating_sub(idle) as f64);
}

/// One GraphQL request, counted when dropped (however the handler ends): its operation's label, its outcome (the
/// first error's code, `OK`, or `REFUSED` if it never ran) and how long it took.
pub struct Counted {
    started: Instant,
    operation: Option<String>,
    outcome: String,
}

impl Counted {
    pub fn start() -> Self {
        Self { started: Instant::now(), operation: None, outcome: "REFUSED".into() }
    }

    /// Labels the request with the operation `name` (bounded: see `operation_label`); the label.
    pub fn operation(&mut self, name: &str) -> &str {
        self.operation.insert(operation_label(Some(name)))
    }

    pub fn outcome(&mut self, outcome: String) {
        self.outcome = outcome;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if !recording() {
            return;
        }
        let operation = self.operation.take().unwrap_or_else(|| operation_label(None));
        let outcome = std::mem::take(&mut self.outcome);
        counter!("pitchin_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome).increment(1);
        histogram!("pitchin_graphql_request_duration_seconds", "operation" => operation)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// The label for an operation name: `anonymous` without one, `other` past `MAX_OPERATIONS` distinct names or for
/// a name that is not a GraphQL name of at most 64 characters.
fn operation_label(operation: Option<&str>) -> String {
    let Some(name) = operation else { return "anonymous".into() };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !valid {
        return "other".into();
    }
    let mut known = OPERATIONS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if known.contains(name) {
        return name.to_owned();
    }
    if known.len() >= MAX_OPERATIONS {
        return "other".into();
    }
    known.insert(name.to_owned());
    name.to_owned()
}

/// Middleware: counts every HTTP request by its route (the pattern, never the path) and status, with its latency.
pub async fn http_requests(request: Request, next: Next) -> Response {
    if !recording() {
        return next.run(request).await;
    }
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!("pitchin_http_requests_total", "route" => route.clone(), "status" => status).increment(1);
    histogram!("pitchin_http_request_duration_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::operation_label;

    #[test]
    fn operation_names_are_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("ListNeeds")), "ListNeeds");
        assert_eq!(operation_label(Some("9lives")), "other");
        assert_eq!(operation_label(Some("drop table; --")), "other");
        assert_eq!(operation_label(Some(&"a".repeat(65))), "other");
        for n in 0..super::MAX_OPERATIONS {
            operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "other");
        assert_eq!(operation_label(Some("ListNeeds")), "ListNeeds", "names seen before stay");
    }
}

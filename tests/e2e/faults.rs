//! Faults: the database going away and coming back, and a pool with no free connection.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{TestApp, data, error_code};

const COUNT: &str = "{ organisations { totalCount } }";
const LISTING: &str = "{ needs(first: 5) { edges { node { title } } } }";

/// A TCP relay on loopback in front of PostgreSQL that can be taken down (dropping every connection through it and
/// refusing new ones, as a stopped server does) and brought back.
struct Relay {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        let (up, watching) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut down = watching.clone();
                if !*down.borrow() {
                    continue; // dropped at once: the client sees its connection closed
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    fn stop(&self) {
        self.up.send_replace(false);
    }

    fn restart(&self) {
        self.up.send_replace(true);
    }
}

async fn ready(app: &TestApp) -> u16 {
    app.raw(Request::get("/readyz").body(Body::empty()).expect("request")).await.0
}

#[tokio::test]
async fn the_api_says_unavailable_while_postgres_is_down_and_recovers_by_itself() {
    let Some(admin_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("PostgreSQL only: set TEST_DATABASE_URL (SQLite is a file, not a server that can go down)");
        return;
    };
    // The host:port between '@' (or '//') and the next '/'.
    let after_scheme = admin_url.split_once("://").map_or(admin_url.as_str(), |(_, rest)| rest);
    let host_port = after_scheme.rsplit_once('@').map_or(after_scheme, |(_, rest)| rest);
    let host_port = host_port.split('/').next().unwrap_or(host_port).to_owned();
    let relay = Relay::start(host_port.clone()).await;
    let relay_addr = relay.addr.to_string();
    let app = TestApp::spawn_with(|s| {
        s.database_url = s.database_url.replacen(&host_port, &relay_addr, 1);
        s.db_acquire_timeout_ms = 500;
    })
    .await;
    assert_eq!(data(&app.gql(COUNT, json!({})).await)["organisations"]["totalCount"], 0);
    assert_eq!(ready(&app).await, 200);

    assert!(app.gql(LISTING, json!({})).await.get("errors").is_none());

    relay.stop();
    let started = Instant::now();
    let resp = app.gql(COUNT, json!({})).await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
    // The listing runs on the read connections (`domain::store::reads`): the same answer, within the same wait.
    let resp = app.gql(LISTING, json!({})).await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
    assert!(started.elapsed() < Duration::from_secs(10), "fails within the acquire wait, not a hang");
    let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Connection") && !message.contains("sqlx"), "no internals: {message}");
    assert_eq!(ready(&app).await, 503);

    relay.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut recovered = false;
    while Instant::now() < deadline {
        let (count, listing) = (app.gql(COUNT, json!({})).await, app.gql(LISTING, json!({})).await);
        if count.get("errors").is_none() && listing.get("errors").is_none() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the server reconnects by itself");
    assert_eq!(ready(&app).await, 200);
}

#[tokio::test]
async fn with_every_connection_busy_a_request_waits_a_bounded_time_then_says_so() {
    use sea_orm::TransactionTrait;
    let app = TestApp::spawn_with(|s| {
        s.db_max_connections = 1;
        s.db_acquire_timeout_ms = 300;
    })
    .await;
    assert!(app.gql(COUNT, json!({})).await.get("errors").is_none());
    // Hold the only connection.
    let held = app.db.begin().await.expect("begin");
    let started = Instant::now();
    let resp = app.gql(COUNT, json!({})).await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
    assert!(started.elapsed() >= Duration::from_millis(250), "it waited for a connection first");
    drop(held);
    assert!(app.gql(COUNT, json!({})).await.get("errors").is_none(), "and works again once one is free");
}

/// The read connections on PostgreSQL with one connection (of a budget of two), waiting at most `wait_ms` for it; `None` on SQLite.
async fn one_read_connection(wait_ms: u64) -> Option<(TestApp, domain::store::Reads)> {
    if std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()).is_none() {
        eprintln!("PostgreSQL only: on SQLite the reads run on sea-orm's own connection");
        return None;
    }
    let app = TestApp::spawn().await;
    let mut settings = api::Settings::for_database("postgres://unused");
    // Two in all: one for sea-orm's pool, one read connection.
    settings.db_max_connections = 2;
    settings.db_acquire_timeout_ms = wait_ms;
    let budget = settings.connection_budget();
    assert_eq!(budget.reads, 1);
    let reads = domain::store::Reads::new(&app.db, budget.reads as usize, std::time::Duration::from_millis(wait_ms));
    Some((app, reads))
}

fn sql(text: &str) -> sea_orm::Statement {
    sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, text)
}

async fn number(reads: &domain::store::Reads, text: &str) -> Result<i32, sea_orm::DbErr> {
    let rows = reads.query_all(sql(text)).await?;
    rows.first().map_or(Err(sea_orm::DbErr::RecordNotFound(text.into())), |row| row.try_get_by_index::<i32>(0))
}

#[tokio::test]
async fn a_read_cancelled_half_way_leaves_its_connection_fit_for_the_next() {
    let Some((_app, reads)) = one_read_connection(5_000).await else { return };
    // The connection is open first: on a busy machine opening it can take longer than the 100 ms below, and the
    // slow statement would then be given up on before it was ever sent.
    assert_eq!(number(&reads, "SELECT 1").await.expect("a first read"), 1);
    // Given up on while PostgreSQL is still working on it (a request past its time, a client gone).
    let slow = reads.query_all(sql("SELECT 7 FROM pg_sleep(0.5)"));
    let started = Instant::now();
    assert!(tokio::time::timeout(Duration::from_millis(100), slow).await.is_err(), "still running when dropped");
    // The one connection is handed out again once the rest of the old answer is read (off the request's path):
    // the next statement gets its own answer, not the old one's.
    assert_eq!(number(&reads, "SELECT 42").await.expect("the next read"), 42);
    assert!(started.elapsed() >= Duration::from_millis(400), "not before the old statement ended");
    // A statement PostgreSQL refuses is an error of its own, and reads go on (on a fresh connection).
    let refused = number(&reads, "SELECT 1 / 0").await.expect_err("division by zero");
    assert_eq!(api::error::AppError::from(refused).code(), "INTERNAL_SERVER_ERROR");
    assert_eq!(number(&reads, "SELECT 43").await.expect("after an error"), 43);
}

#[tokio::test]
async fn with_every_read_connection_busy_a_read_waits_a_bounded_time_then_says_so() {
    let Some((_app, reads)) = one_read_connection(300).await else { return };
    let holder = reads.clone();
    let held = tokio::spawn(async move { number(&holder, "SELECT 1 FROM pg_sleep(1.5)").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let waited = number(&reads, "SELECT 2").await.expect_err("no connection to be had");
    assert!(started.elapsed() >= Duration::from_millis(250), "it waited for the connection first");
    assert!(started.elapsed() < Duration::from_secs(1), "and no longer than it was told");
    assert_eq!(api::error::AppError::from(waited).code(), "SERVICE_UNAVAILABLE");
    assert_eq!(held.await.expect("the holder").expect("the long read"), 1);
    assert_eq!(number(&reads, "SELECT 3").await.expect("once it is free"), 3);
}

/// `PITCHIN_DB_MAX_CONNECTIONS` bounds every connection the server opens, the read connections included: under a
/// burst of reads (on the read connections) and counts (on sea-orm's pool), PostgreSQL sees no more backends for
/// the app's database than the setting. (Before, each pool opened up to the setting: twice as many.)
#[tokio::test]
async fn the_connection_setting_bounds_both_pools_together() {
    use sea_orm::{ConnectionTrait, Statement};
    if std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()).is_none() {
        eprintln!("PostgreSQL only: SQLite has one pool, sized as set");
        return;
    }
    let app = TestApp::spawn_with(|s| s.db_max_connections = 4).await;
    let burst = (0..24).map(|i| app.gql(if i % 2 == 0 { LISTING } else { COUNT }, json!({})));
    for resp in futures::future::join_all(burst).await {
        assert!(resp.get("errors").is_none(), "{resp}");
    }
    // Idle connections stay open for minutes, so the count after the burst is the most that were open at once.
    let backends = app
        .db
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()",
        ))
        .await
        .expect("count backends")
        .expect("a row")
        .try_get::<i32>("", "n")
        .expect("n");
    assert!((2..=4).contains(&backends), "{backends} backends for a setting of 4 (both pools were used)");
}

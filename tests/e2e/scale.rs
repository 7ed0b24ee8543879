//! PostgreSQL scaled out (issue 21 §3): a streaming replica for the public reads (`TEST_REPLICA_URL`) and PgBouncer
//! in transaction pooling mode (`TEST_POOLER_URL`), both set up by `.ci/pg-scale`. Without them (and on SQLite)
//! these tests say that they check nothing.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, get};

const LISTING: &str = "query { needs(first: 50) { edges { node { id title } } } }";

/// The URL of the scaled-out server named by `variable`, when the tests run on PostgreSQL with it set.
fn server(variable: &str) -> Option<String> {
    let on_postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let url = std::env::var(variable).ok().filter(|u| !u.is_empty());
    if !on_postgres || url.is_none() {
        eprintln!("{variable} (and TEST_DATABASE_URL) not set: this test checks nothing (CI sets them)");
        return None;
    }
    url
}

/// `url` with its database replaced by the test database of `app`.
fn same_database(url: &str, app_url: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    let database = app_url.rsplit_once('/').map_or("", |(_, database)| database);
    format!("{base}/{database}")
}

/// A GET from `address`, as the router sees a client there.
async fn get_from(app: &TestApp, address: &str, path: &str) -> (u16, String) {
    let mut request = Request::get(path).body(Body::empty()).expect("request");
    let peer: SocketAddr = format!("{address}:50000").parse().expect("an address");
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.send(request).await;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The titles of the open needs that an anonymous caller at `address` is shown.
async fn listed_from(app: &TestApp, address: &str) -> Vec<String> {
    let query = serde_urlencoded::to_string([("query", LISTING)]).expect("a query string");
    let (status, body) = get_from(app, address, &format!("/graphql?{query}")).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    data(&answer)["needs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn replica_fresh(app: &TestApp) -> bool {
    let ready = get(app, "/readyz", None).await;
    serde_json::from_str::<Value>(&ready.body).is_ok_and(|v| v["replica"]["fresh"] == true)
}

/// Waits (up to 20 s) until `check` holds.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Pauses (or resumes) the replica's replay of the primary's changes, and waits until it has.
async fn pause_replay(replica_url: &str, paused: bool) {
    let replica = sea_orm::Database::connect(replica_url).await.expect("connect to the replica");
    let call = if paused { "SELECT pg_wal_replay_pause()" } else { "SELECT pg_wal_replay_resume()" };
    replica.execute_unprepared(call).await.expect("pause or resume replay");
    let want = if paused { "paused" } else { "not paused" };
    eventually("replay paused or resumed", || {
        let replica = replica.clone();
        async move {
            let sql = "SELECT pg_get_wal_replay_pause_state() AS state";
            let row = replica.query_one_raw(sea_orm::Statement::from_string(replica.get_database_backend(), sql)).await;
            row.ok().flatten().and_then(|r| r.try_get::<String>("", "state").ok()).as_deref() == Some(want)
        }
    })
    .await;
    replica.close().await.ok();
}

/// A need published by `coordinator` (the helpers' requests come from no address: the router's "unknown").
async fn publish(app: &TestApp, coordinator: &Session, organisation: &str, title: &str) -> String {
    app.open_need(coordinator, organisation, title, json!({})).await
}

#[tokio::test]
async fn the_replica_answers_public_reads_and_every_caller_reads_its_own_writes() {
    let Some(replica) = server("TEST_REPLICA_URL") else { return };
    // Whatever an earlier, failed run left.
    pause_replay(&replica, false).await;
    let app = TestApp::spawn_with(|s| {
        s.database_read_url = Some(same_database(&replica, &s.database_url));
        // Long enough that pausing replay below does not make the replica stale.
        s.replica_max_lag_ms = 120_000;
    })
    .await;
    let replica_url = same_database(&replica, &app.database_url);
    eventually("the replica reported fresh", || replica_fresh(&app)).await;

    let coordinator = app.register("coordinator@scale.example", "Coordinator").await;
    let organisation = app.organisation(&coordinator, "Roehampton English").await;
    publish(&app, &coordinator, &organisation, "Conversation club").await;
    let (volunteer, _) = app.volunteer("volunteer@scale.example", "Volunteer", json!({})).await;
    eventually("the replica has the first need", || async {
        listed_from(&app, "192.0.2.10").await.contains(&"Conversation club".to_owned())
    })
    .await;

    pause_replay(&replica_url, true).await;
    let second = publish(&app, &coordinator, &organisation, "Homework club").await;

    // Someone else's public reads come from the replica, which has not seen the second need yet.
    let before = app.replica_statements();
    let listed = listed_from(&app, "192.0.2.10").await;
    assert!(listed.contains(&"Conversation club".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"Homework club".to_owned()), "the replica answered: {listed:?}");
    assert!(app.replica_statements() > before, "the listing ran on the replica");
    let (status, _) = get_from(&app, "192.0.2.10", &format!("/needs/{second}")).await;
    assert_eq!(status, 404, "the replica does not have the need's page yet");
    for path in ["/feeds/needs", "/openreferral/services", "/embed/needs"] {
        let before = app.replica_statements();
        let (status, body) = get_from(&app, "192.0.2.10", path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(app.replica_statements() > before, "{path} ran on the replica");
    }

    // The writer reads its write: signed in (the primary), and from its own address (the page it opens).
    let signed_in = app
        .gql_as(Some(&coordinator.token), "query($id: ID!) { need(id: $id) { title } }", json!({ "id": second }))
        .await;
    assert_eq!(data(&signed_in)["need"]["title"], "Homework club");
    let (status, page) = get_from(&app, "0.0.0.0", &format!("/needs/{second}")).await;
    assert_eq!(status, 200, "the writer's address reads from the primary: {page}");
    assert!(page.contains("Homework club"));

    // An anonymous caller's own write (a registration) sends its next reads to the primary.
    let register = json!({ "query": "mutation { register(input: {email: \"new@scale.example\", password: \"a long enough passphrase\", displayName: \"New\"}) { user { id } } }" });
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(register.to_string()))
        .expect("request");
    request.extensions_mut().insert(ConnectInfo("192.0.2.20:50000".parse::<SocketAddr>().expect("address")));
    let response = app.send(request).await;
    assert_eq!(response.status().as_u16(), 200);
    let listed = listed_from(&app, "192.0.2.20").await;
    assert!(listed.contains(&"Homework club".to_owned()), "after its own write, from the primary: {listed:?}");

    // The matching index reads the replica only once it has replayed every write before the match.
    let recommended = app
        .gql_as(Some(&volunteer.token), "{ recommendedNeeds { edges { node { need { title } } } } }", json!({}))
        .await;
    let titles: Vec<&str> = data(&recommended)["recommendedNeeds"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["need"]["title"].as_str())
        .collect();
    assert!(titles.contains(&"Homework club"), "the index saw the latest need: {titles:?}");

    pause_replay(&replica_url, false).await;
    eventually("the replica caught up", || async {
        listed_from(&app, "192.0.2.10").await.contains(&"Homework club".to_owned())
    })
    .await;

    // A replica further behind than its bound serves nobody until it catches up.
    let strict = TestApp::spawn_with(|s| {
        s.database_read_url = Some(same_database(&replica, &s.database_url));
        s.replica_max_lag_ms = 300;
    })
    .await;
    let strict_replica = same_database(&replica, &strict.database_url);
    eventually("the second replica reported fresh", || replica_fresh(&strict)).await;
    let coordinator = strict.register("coordinator@scale.example", "Coordinator").await;
    let organisation = strict.organisation(&coordinator, "Putney Youth").await;
    pause_replay(&strict_replica, true).await;
    publish(&strict, &coordinator, &organisation, "Football coaching").await;
    eventually("the replica reported behind", || async { !replica_fresh(&strict).await }).await;
    let before = strict.replica_statements();
    let listed = listed_from(&strict, "192.0.2.30").await;
    assert!(listed.contains(&"Football coaching".to_owned()), "a stale replica answers nobody: {listed:?}");
    assert_eq!(strict.replica_statements(), before, "nothing ran on the stale replica");
    pause_replay(&strict_replica, false).await;
    eventually("the replica fresh again", || replica_fresh(&strict)).await;
}

#[tokio::test]
async fn the_api_works_behind_pgbouncer_in_transaction_pooling_mode() {
    let Some(pooler) = server("TEST_POOLER_URL") else { return };
    // Every statement through the pooler, which shares its four server connections among the app's twelve;
    // live signals on a direct connection (LISTEN holds a session). The generic plans are a session setting that
    // a pooler cannot carry: behind one they belong on the database role (README).
    let app = TestApp::spawn_with(|s| {
        s.database_listen_url = Some(s.database_url.clone());
        s.database_url = same_database(&pooler, &s.database_url);
        s.db_max_connections = 12;
        s.db_generic_plans = false;
    })
    .await;
    let coordinator = app.register("coordinator@pooled.example", "Coordinator").await;
    let organisation = app.organisation(&coordinator, "Pooled Projects").await;
    for n in 0..5 {
        publish(&app, &coordinator, &organisation, &format!("Need {n}")).await;
    }
    // Many callers at once, each statement prepared on whichever server connection PgBouncer hands it: the
    // pooler prepares it there again as needed (max_prepared_statements).
    let mut running = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (router, token) = (app.router.clone(), coordinator.token.clone());
        running.spawn(async move {
            use tower::ServiceExt;
            let query = match n % 3 {
                0 => "{ needs(first: 20) { totalCount edges { node { id title organisation { name } } } } }",
                1 => "{ organisations(first: 5) { edges { node { name needs(first: 5) { edges { node { title } } } } } } }",
                _ => "{ me { displayName memberships(first: 5) { edges { node { organisation { name } } } } } }",
            };
            let body = json!({ "query": query }).to_string();
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body))
                .expect("request");
            let response = router.oneshot(request).await.expect("an answer");
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            serde_json::from_slice::<Value>(&bytes).expect("JSON")
        });
    }
    while let Some(answer) = running.join_next().await {
        let answer = answer.expect("the request ran");
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let listed = app.gql("{ needs(first: 20) { totalCount } }", json!({})).await;
    assert_eq!(data(&listed)["needs"]["totalCount"], 5);
    // A write in a transaction (applying takes a place under a lock) and its event, sent through the pooler and
    // heard over the direct line.
    let mut events = app.live.subscribe().await;
    assert!(app.live.listening(), "live signals are heard through DATABASE_LISTEN_URL");
    let (volunteer, _) = app.volunteer("volunteer@pooled.example", "Volunteer", json!({})).await;
    let needs = app.gql("{ needs(first: 1) { edges { node { id } } } }", json!({})).await;
    let need = data(&needs)["needs"]["edges"][0]["node"]["id"].as_str().expect("a need").to_owned();
    app.apply(&volunteer, &need).await;
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(event) if matches!(*event, domain::live::Event::Application { .. }) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(heard, Ok(true), "the application's event was heard");
}

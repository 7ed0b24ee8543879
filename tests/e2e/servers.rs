//! More than one server: rate limits and sign-in attempts counted together in Redis (`TEST_REDIS_URL`, which CI
//! sets; without it these tests say so and check nothing), and each server on its own when Redis is down.
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_code};

fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("TEST_REDIS_URL is not set: the Redis tests check nothing (CI sets it)");
    }
    url
}

/// Two servers sharing `redis` under a prefix of this test's own, with `configure`'s limits.
async fn two_servers(redis: &str, configure: impl Fn(&mut api::Settings) + Copy) -> (TestApp, TestApp) {
    let prefix = format!("pitchin-test-{}", Uuid::new_v4().simple());
    let with = |s: &mut api::Settings| {
        s.redis_url = Some(redis.to_owned());
        s.redis_prefix = prefix.clone();
        configure(s);
    };
    (TestApp::spawn_with(with).await, TestApp::spawn_with(with).await)
}

fn typename_from(ip: [u8; 4]) -> Request<Body> {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
        .expect("a request");
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

#[tokio::test]
async fn a_rate_of_n_a_minute_allows_n_across_servers_not_n_each() {
    let Some(redis) = redis_url() else { return };
    let (a, b) = two_servers(&redis, |s| s.rate_limit_per_ip = 6).await;
    for (i, server) in [&a, &b, &a, &b, &b, &a].into_iter().enumerate() {
        assert_eq!(server.raw(typename_from([10, 0, 0, 1])).await.0, 200, "request {i}");
    }
    for server in [&a, &b] {
        let (status, body) = server.raw(typename_from([10, 0, 0, 1])).await;
        assert_eq!(status, 429, "{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(error_code(&body), "RATE_LIMITED");
    }
    // Another address has its own allowance, on either server.
    assert_eq!(b.raw(typename_from([10, 0, 0, 2])).await.0, 200);
}

#[tokio::test]
async fn sign_in_attempts_add_up_across_servers() {
    let Some(redis) = redis_url() else { return };
    let (a, b) = two_servers(&redis, |s| s.login_attempts_per_hour = 3).await;
    for (server, expected) in [
        (&a, "UNAUTHENTICATED"),
        (&b, "UNAUTHENTICATED"),
        (&a, "UNAUTHENTICATED"),
        (&b, "RATE_LIMITED"),
        (&a, "RATE_LIMITED"),
    ] {
        let resp = server
            .gql(
                "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
                json!({ "input": { "email": "amira@v.example", "password": "not the password at all" } }),
            )
            .await;
        assert_eq!(error_code(&resp), expected, "{resp}");
    }
}

#[tokio::test]
async fn with_redis_down_each_server_still_counts_its_own() {
    // Nothing listens on port 1: every connection is refused at once.
    let app = TestApp::spawn_with(|s| {
        s.redis_url = Some("redis://127.0.0.1:1/".to_owned());
        s.rate_limit_per_ip = 3;
    })
    .await;
    for i in 0..3 {
        assert_eq!(app.raw(typename_from([10, 0, 0, 1])).await.0, 200, "request {i}");
    }
    assert_eq!(app.raw(typename_from([10, 0, 0, 1])).await.0, 429);
}

#[tokio::test]
async fn a_redis_that_does_not_answer_holds_no_request_up() {
    // It accepts connections (the kernel does) and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = silent.local_addr().expect("an address");
    let app = TestApp::spawn_with(|s| {
        s.redis_url = Some(format!("redis://{addr}/"));
        s.rate_limit_per_ip = 3;
    })
    .await;
    let started = tokio::time::Instant::now();
    let answers = futures::future::join_all((0..4).map(|_| app.raw(typename_from([10, 0, 0, 1])))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 200, 429], "counted on this server meanwhile");
    // Each check waits 0.2 s for Redis at most; a stall would be seconds (a connection timeout, a reconnection).
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    drop(silent);
}

/// A `pitchin serve` process of this build, stopped when dropped.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts a server on `database_url` (migrated) counting its limits in `redis` under `prefix`, and waits until
    /// it is ready and listening for live signals.
    async fn start(database_url: &str, redis: &str, prefix: &str) -> Self {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_pitchin"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("PITCHIN_BIND", addr.to_string())
            // The same secret on every server, so a token from one is good on the others.
            .env("JWT_SECRET", "test-secret-that-is-at-least-32-bytes-long")
            .env("PITCHIN_REDIS_URL", redis)
            .env("PITCHIN_REDIS_PREFIX", prefix)
            .env("PITCHIN_RATE_LIMIT_PER_IP", "0")
            .env("PITCHIN_RATE_LIMIT_PER_USER", "9")
            .env("PITCHIN_DB_MAX_CONNECTIONS", "4")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("pitchin serve starts");
        let server = Self { child, addr };
        let started = tokio::time::Instant::now();
        loop {
            if let Ok((200, body)) = server.get("/readyz").await
                && body["listening"] == true
            {
                return server;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "{addr} never became ready");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn request(&self, request: Request<String>) -> Result<(u16, Value, bool), String> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let bytes = http_body_util::BodyExt::collect(response.into_body()).await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), replayed))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), String> {
        let request = Request::get(path).header(header::HOST, self.addr.to_string()).body(String::new());
        self.request(request.map_err(|e| e.to_string())?).await.map(|(status, body, _)| (status, body))
    }

    /// A GraphQL request as `token`, with an idempotency key if given: the status, the body, and whether it was
    /// an earlier answer replayed.
    async fn gql(&self, token: Option<&str>, key: Option<&str>, query: &str, variables: Value) -> (u16, Value, bool) {
        let mut request = Request::post("/graphql")
            .header(header::HOST, self.addr.to_string())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.request(request.body(body).expect("a request")).await.expect("the server answers")
    }
}

fn token_of(resp: &Value, field: &str) -> String {
    resp["data"][field]["accessToken"].as_str().unwrap_or_else(|| panic!("no token: {resp}")).to_owned()
}

/// Three `pitchin serve` processes on one PostgreSQL database and one Redis: a publication through one server is
/// heard by a subscriber on another, a limit of N a minute allows N across the three, and a retry on one server
/// replays the answer another gave.
#[tokio::test]
async fn three_servers_on_one_database_behave_as_one() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let Some(redis) = redis_url() else { return };
    // On the embedded SQLite there is one server by design.
    let app = TestApp::spawn().await;
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let prefix = format!("pitchin-test-{}", Uuid::new_v4().simple());
    let (a, b, c) = (
        Server::start(&app.database_url, &redis, &prefix).await,
        Server::start(&app.database_url, &redis, &prefix).await,
        Server::start(&app.database_url, &redis, &prefix).await,
    );
    let register = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";
    let input = |email: &str| json!({ "input": { "email": email, "password": "a long enough passphrase", "displayName": "Owner" } });
    let (_, owner, _) = a.gql(None, None, register, input("owner@club.example")).await;
    let owner = token_of(&owner, "register");

    // An idempotent retry on B replays A's answer: one organisation, not two.
    let create =
        "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id } } }";
    let org = json!({ "input": { "name": "Putney English Club", "kind": "CHARITY", "description": "Classes" } });
    let (status, first, replayed) = a.gql(Some(&owner), Some("create-club-1"), create, org.clone()).await;
    assert_eq!((status, replayed), (200, false), "{first}");
    let (status, again, replayed) = b.gql(Some(&owner), Some("create-club-1"), create, org).await;
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again, first);
    let org_id = first["data"]["createOrganisation"]["organisation"]["id"].as_str().expect("an id").to_owned();
    let (_, mine, _) = c.gql(Some(&owner), None, "{ me { memberships { totalCount } } }", json!({})).await;
    assert_eq!(mine["data"]["me"]["memberships"]["totalCount"], 1, "{mine}");

    // A subscriber on A hears a need published through C.
    let mut request = format!("ws://{}/graphql/ws", a.addr).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("a header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("a WebSocket");
    let send = |m: Value| Message::text(m.to_string());
    socket.send(send(json!({ "type": "connection_init" }))).await.expect("sent");
    socket
        .send(send(json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { needPublished { id title } }" } })))
        .await
        .expect("sent");
    let started = tokio::time::Instant::now();
    while a.get("/readyz").await.map(|(_, body)| body["subscriptions"] == 1) != Ok(true) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the subscription never started on A");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let draft = "mutation($input: CreateNeedInput!) { createNeed(input: $input) { need { id } } }";
    let need = json!({ "input": { "organisationId": org_id, "title": "ESOL helper", "description": "Help wanted",
        "category": "ENGLISH_CLASSES", "remote": true, "volunteersNeeded": 2 } });
    let (_, need, _) = b.gql(Some(&owner), None, draft, need).await;
    let need_id = need["data"]["createNeed"]["need"]["id"].as_str().unwrap_or_else(|| panic!("{need}")).to_owned();
    let publish = "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { status } } }";
    let (_, published, _) = c.gql(Some(&owner), None, publish, json!({ "id": need_id })).await;
    assert_eq!(published["data"]["publishNeed"]["need"]["status"], "OPEN", "{published}");
    let heard = loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("the publication is heard on A")
            .expect("a message")
            .expect("a frame");
        if let Message::Text(text) = message {
            let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
            if message["type"] == "next" {
                break message;
            }
        }
    };
    assert_eq!(heard["payload"]["data"]["needPublished"]["id"], need_id.as_str());

    // Nine requests a minute for one user, across the three servers: the tenth is refused wherever it goes.
    let (_, busy, _) = a.gql(None, None, register, input("busy@club.example")).await;
    let busy = token_of(&busy, "register");
    for (i, server) in [&a, &b, &c, &a, &b, &c, &a, &b, &c].into_iter().enumerate() {
        let (status, body, _) = server.gql(Some(&busy), None, "{ me { id } }", json!({})).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    for server in [&a, &b, &c] {
        let (status, body, _) = server.gql(Some(&busy), None, "{ me { id } }", json!({})).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(error_code(&body), "RATE_LIMITED");
    }
}

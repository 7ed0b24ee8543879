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

//! Abuse limits and cross-site safety: query shape and cost, body size, batching, content types, GET, timeouts,
//! introspection and suggestions, rate limits, CORS.
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

fn post(body: impl Into<Body>, content_type: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql");
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    request.body(body.into()).expect("request")
}

fn query_body(query: &str) -> String {
    json!({ "query": query }).to_string()
}

async fn organisations(app: &TestApp) -> i64 {
    let resp = app.gql("{ organisations { totalCount } }", json!({})).await;
    data(&resp)["organisations"]["totalCount"].as_i64().unwrap_or(-1)
}

const CREATE_ORG: &str =
    r#"mutation { createOrganisation(input: {name: "Forged", kind: COMMUNITY_GROUP}) { organisation { id } } }"#;

fn limit(resp: &Value) -> (String, i64, i64) {
    let ext = &resp["errors"][0]["extensions"];
    (
        ext["limit"].as_str().unwrap_or_default().to_owned(),
        ext["measured"].as_i64().unwrap_or(-1),
        ext["max"].as_i64().unwrap_or(-1),
    )
}

#[tokio::test]
async fn queries_over_depth_cost_or_size_are_refused_before_they_run() {
    let app = TestApp::spawn().await;

    let deep = "{ needs { edges { node { organisation { needs { edges { node { organisation { needs { edges { node { organisation { name } } } } } } } } } } } } }";
    let resp = app.gql(deep, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert_eq!(limit(&resp), ("depth".to_owned(), 13, 12));

    // 100 needs × 100 applications each: the cost is stated with the limit, and nothing touches the database.
    let costly =
        "{ needs(first: 100) { edges { node { title applications(first: 100) { edges { node { status } } } } } } }";
    app.reset_statements();
    let resp = app.gql(costly, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    let (which, cost, max) = limit(&resp);
    assert_eq!((which.as_str(), max), ("cost", 20_000));
    assert!(cost > 20_000, "{cost}");
    let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&cost.to_string()) && message.contains("20000"), "{message}");
    assert_eq!(app.statements(), 0, "refused before it ran");

    // The coordinator dashboard of issue 5 fits the budget.
    let owner = app.register("owner@limits.example", "Owner").await;
    let org = app.organisation(&owner, "Limits Club").await;
    let dashboard = "query($id: ID!) { organisation(id: $id) { needs(first: 50) { edges { node { title applications(first: 10) { edges { node { status volunteer { displayName } } } } } } } } }";
    let resp = app.gql_as(Some(&owner.token), dashboard, json!({ "id": org })).await;
    assert!(resp.get("errors").is_none(), "{resp}");

    // Alias overloading with __typename, which costs nothing to async-graphql itself.
    let aliases: String = (0..2001).map(|i| format!("t{i}: __typename ")).collect();
    let resp = app.gql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert_eq!(limit(&resp), ("aliases".to_owned(), 2001, 50));

    let roots: String = (0..21).map(|i| format!("n{i}: needs(first: 1) {{ totalCount }} ")).collect();
    let resp = app.gql(&format!("{{ {roots} }}"), json!({})).await;
    assert_eq!(limit(&resp), ("rootFields".to_owned(), 21, 20));

    let fields = "title ".repeat(1_001);
    let resp = app.gql(&format!("{{ needs(first: 1) {{ edges {{ node {{ {fields} }} }} }} }}"), json!({})).await;
    assert_eq!(limit(&resp).0, "fields");

    // Directive overloading (CVE-2024-47614).
    let directives = "@include(if: true) ".repeat(50);
    let resp = app.gql(&format!("{{ __typename {directives} }}"), json!({})).await;
    assert!(resp.get("errors").is_some(), "{resp}");
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
}

#[tokio::test]
async fn mutations_run_only_from_json_posts() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@csrf.example", "Owner").await;
    let before = organisations(&app).await;

    // A cross-site form or "simple" fetch: text/plain, form encoding, or no content type at all.
    for content_type in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), None]
    {
        let mut request = post(query_body(CREATE_ORG), content_type);
        request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {}", owner.token).parse().expect("header"));
        let (status, body) = app.raw(request).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
        let body: Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(error_code(&body), "UNSUPPORTED_MEDIA_TYPE");
    }
    // GET runs queries only (and carries no credentials a browser would add): a mutation is refused.
    let get = Request::get(format!("/graphql?query={}", "mutation%20%7B%20__typename%20%7D"))
        .body(Body::empty())
        .expect("request");
    let (status, body) = app.raw(get).await;
    assert_eq!(status, 405, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(error_code(&body), "METHOD_NOT_ALLOWED");
    // A batch is refused whole (batching is off).
    let batch = json!([{ "query": CREATE_ORG }, { "query": CREATE_ORG }]).to_string();
    let mut request = post(batch, Some("application/json"));
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {}", owner.token).parse().expect("header"));
    let (status, text) = app.raw(request).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&serde_json::from_str(&text).expect("JSON")), "BATCH_NOT_SUPPORTED");
    let (status, text) = app.raw(post("{\"query\": ", Some("application/json"))).await;
    assert_eq!((status, error_code(&serde_json::from_str(&text).expect("JSON")).as_str()), (400, "BAD_REQUEST"));
    assert_eq!(organisations(&app).await, before, "nothing was created");

    // JSON with a charset is fine.
    let mut request = post(query_body(CREATE_ORG), Some("application/json; charset=utf-8"));
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {}", owner.token).parse().expect("header"));
    let (status, body) = app.raw(request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(organisations(&app).await, before + 1);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = TestApp::spawn_with(|s| s.max_body_bytes = 64 * 1024).await;
    let padding = " ".repeat(100 * 1024);
    let body = format!("{{\"query\": \"{{ __typename }}\"{padding}}}");
    // With a Content-Length, as clients send it: refused before it is read.
    let mut request = post(body.clone(), Some("application/json"));
    request.headers_mut().insert(header::CONTENT_LENGTH, body.len().into());
    let (status, _) = app.raw(request).await;
    assert_eq!(status, 413);
    // Without one: cut off while it is read, with the same answer.
    let (status, text) = app.raw(post(body, Some("application/json"))).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&serde_json::from_str(&text).expect("JSON")), "PAYLOAD_TOO_LARGE");
    let small = app.gql("{ __typename }", json!({})).await;
    assert_eq!(data(&small)["__typename"], "Query");
    // The default is 1 MiB.
    let app = TestApp::spawn().await;
    let padding = " ".repeat(2 * 1024 * 1024);
    let (status, _) =
        app.raw(post(format!("{{\"query\": \"{{ __typename }}\"{padding}}}"), Some("application/json"))).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn a_request_past_its_time_is_stopped_and_leaves_nothing_half_written() {
    let app = TestApp::spawn_with(|s| s.request_timeout_ms = 0).await;
    let resp = app
        .gql(
            r#"mutation { register(input: {email: "slow@example.org", password: "a long enough passphrase", displayName: "Slow"}) { accessToken } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "TIMEOUT");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(entity::user::Entity::find().count(&app.db).await.expect("count"), 0);
}

#[tokio::test]
async fn introspection_and_suggestions_are_switchable() {
    let introspect = "{ __schema { queryType { name } } }";
    let typo = "{ needz { id } }";
    let app = TestApp::spawn().await;
    assert_eq!(data(&app.gql(introspect, json!({})).await)["__schema"]["queryType"]["name"], "Query");
    let resp = app.gql(typo, json!({})).await;
    assert!(resp["errors"][0]["message"].as_str().unwrap_or_default().contains("Did you mean"), "{resp}");
    // The standard introspection query (GraphiQL's, code generators') is 15 deep through its ofType chains.
    let of_type = "ofType { kind name ".repeat(8) + &"}".repeat(8);
    let standard = format!(
        "{{ __schema {{ types {{ name fields {{ name args {{ name }} type {{ kind name {of_type} }} }} }} }} }}"
    );
    let resp = app.gql(&standard, json!({})).await;
    assert!(data(&resp)["__schema"]["types"].as_array().is_some_and(|t| t.len() > 20), "{resp}");
    let circular =
        format!("{{ __schema {{ types {{ {} name {} }} }} }}", "fields { type { ".repeat(12), "} }".repeat(12));
    assert_eq!(limit(&app.gql(&circular, json!({})).await), ("introspectionDepth".to_owned(), 27, 20));

    let app = TestApp::spawn_with(|s| {
        s.introspection = false;
        s.environment = api::config::Environment::Production;
    })
    .await;
    let resp = app.gql(introspect, json!({})).await;
    assert_eq!(data(&resp)["__schema"], Value::Null, "introspection is off: {resp}");
    let resp = app.gql(typo, json!({})).await;
    let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean") && !message.is_empty(), "production hides suggestions: {message}");
}

fn from(ip: [u8; 4], mut request: Request<Body>) -> Request<Body> {
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

#[tokio::test]
async fn callers_over_their_rate_are_told_when_to_retry() {
    let app = TestApp::spawn_with(|s| s.rate_limit_per_ip = 3).await;
    let typename = || post(query_body("{ __typename }"), Some("application/json"));
    for _ in 0..3 {
        let (status, _) = app.raw(from([10, 0, 0, 1], typename())).await;
        assert_eq!(status, 200);
    }
    let response = app.send(from([10, 0, 0, 1], typename())).await;
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()[header::RETRY_AFTER].to_str().ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error_code(&body), "RATE_LIMITED");
    // Another address has its own allowance.
    assert_eq!(app.raw(from([10, 0, 0, 2], typename())).await.0, 200);

    // Per user: a signed-in caller is limited whatever address they come from; others are not.
    let app = TestApp::spawn_with(|s| s.rate_limit_per_user = 3).await;
    let user = app.register("busy@example.org", "Busy").await;
    let me = "{ me { id } }";
    for _ in 0..3 {
        assert!(app.gql_as(Some(&user.token), me, json!({})).await.get("errors").is_none());
    }
    let mut request = post(query_body(me), Some("application/json"));
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {}", user.token).parse().expect("header"));
    let (status, body) = app.raw(from([10, 9, 9, 9], request)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(data(&app.gql("{ __typename }", json!({})).await)["__typename"], "Query", "anonymous callers are not");
}

#[tokio::test]
async fn browsers_may_call_from_allowed_origins_only() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/graphql")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,authorization")
            .body(Body::empty())
            .expect("request")
    };
    let app = TestApp::spawn_with(|s| s.cors_origins = vec!["https://partner.example".into()]).await;
    let allowed = app.send(preflight("https://partner.example")).await;
    assert_eq!(
        allowed.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()),
        Some("https://partner.example")
    );
    let other = app.send(preflight("https://evil.example")).await;
    assert!(other.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // With no origins configured, no browser origin is allowed.
    let app = TestApp::spawn().await;
    let none = app.send(preflight("https://partner.example")).await;
    assert!(none.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_email_whether_or_not_it_is_registered() {
    let app = TestApp::spawn_with(|s| s.login_attempts_per_hour = 3).await;
    app.register("known@example.org", "Known").await;
    app.register("other@example.org", "Other").await;
    let login = |email: &str, password: &str| {
        let app = &app;
        let vars = json!({ "input": { "email": email, "password": password } });
        async move { app.gql("mutation($input: LoginInput!) { login(input: $input) { accessToken } }", vars).await }
    };
    for email in ["known@example.org", "nobody@example.org"] {
        for _ in 0..3 {
            assert_eq!(error_code(&login(email, "not the password at all").await), "UNAUTHENTICATED");
        }
        // The fourth attempt is refused before the password is checked, even the right one, and the same way
        // for an address with no account: the answer says nothing about which exist.
        let resp = login(email, "a long enough passphrase").await;
        assert_eq!(error_code(&resp), "RATE_LIMITED", "{resp}");
        assert!(resp["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some_and(|s| s > 0));
    }
    assert_eq!(error_code(&login(" KNOWN@Example.org ", "a long enough passphrase").await), "RATE_LIMITED");
    let resp = login("other@example.org", "a long enough passphrase").await;
    assert!(data(&resp)["login"]["accessToken"].is_string(), "other addresses are not affected");
}

/// A document both too costly and invalid is answered by the schema that states the cost, which must not offer
/// "did you mean" suggestions where the main schema would not (they map the schema when introspection is off).
#[tokio::test]
async fn cost_refusals_offer_no_suggestions_when_suggestions_are_off() {
    let app = TestApp::spawn_with(|s| s.field_suggestions = Some(false)).await;
    let costly =
        "{ needs(first: 100) { edges { node { titl applications(first: 100) { edges { node { status } } } } } } }";
    let resp = app.gql(costly, json!({})).await;
    assert!(resp.get("errors").is_some(), "{resp}");
    assert!(!resp.to_string().contains("Did you mean"), "{resp}");
    let app = TestApp::spawn().await;
    let resp = app.gql(costly, json!({})).await;
    assert!(resp.to_string().contains("Did you mean"), "suggestions are on by default in development: {resp}");
}

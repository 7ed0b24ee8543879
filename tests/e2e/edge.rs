//! Public reads at the edge: queries over GET, automatic persisted queries, and cache headers that let a shared
//! cache keep anonymous listings and nothing else. (Every query the rest of the suite asks goes over GET through
//! `TestApp::gql_as`, which checks each answer's header: `private, no-store` when signed in or failed, public
//! otherwise.)
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, data, error_code};

const LISTING: &str = "query($first: Int) { needs(first: $first) { totalCount edges { node { id title } } } }";

fn get(query: &[(&str, String)], headers: &[(header::HeaderName, String)]) -> Request<Body> {
    let url = format!("/graphql?{}", serde_urlencoded::to_string(query).expect("a query string"));
    let mut request = Request::get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::empty()).expect("a request")
}

/// Status, the headers that matter to caches, and the body as JSON (null when empty).
async fn answer(app: &TestApp, request: Request<Body>) -> (u16, header::HeaderMap, Value) {
    let response = app.send(request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn cache_control(headers: &header::HeaderMap) -> &str {
    headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn anonymous_listings_over_get_are_public_and_revalidate() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    app.open_need(&owner, &org, "ESOL helper", json!({})).await;

    let params = [("query", LISTING.to_owned()), ("variables", json!({ "first": 5 }).to_string())];
    let (status, headers, body) = answer(&app, get(&params, &[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data(&body)["needs"]["totalCount"], 1);
    assert_eq!(cache_control(&headers), "public, max-age=60");
    assert_eq!(headers[header::VARY], "Authorization, X-Api-Key");
    let etag = headers[header::ETAG].to_str().expect("an ETag").to_owned();

    // The same answer again is not sent again.
    let (status, headers, body) = answer(&app, get(&params, &[(header::IF_NONE_MATCH, etag.clone())])).await;
    assert_eq!((status, &body), (304, &Value::Null));
    assert_eq!(headers[header::ETAG], etag.as_str());
    // A change makes a new one.
    app.open_need(&owner, &org, "Jobs club mentor", json!({})).await;
    let (status, headers, body) = answer(&app, get(&params, &[(header::IF_NONE_MATCH, etag.clone())])).await;
    assert_eq!(status, 200);
    assert_eq!(data(&body)["needs"]["totalCount"], 2);
    assert_ne!(headers[header::ETAG], etag.as_str());

    // Signed in, or as a partner, the same query is private; so is an error, and anything over POST.
    let (_, headers, body) =
        answer(&app, get(&params, &[(header::AUTHORIZATION, format!("Bearer {}", owner.token))])).await;
    assert_eq!(data(&body)["needs"]["totalCount"], 2);
    assert_eq!(cache_control(&headers), "private, no-store");
    assert!(headers.get(header::ETAG).is_none());
    let (_, headers, body) =
        answer(&app, get(&[("query", "{ needs(first: 500) { totalCount } }".to_owned())], &[])).await;
    assert!(body["errors"].is_array(), "{body}");
    assert_eq!(cache_control(&headers), "private, no-store");
    let post = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "query": LISTING }).to_string()))
        .expect("a request");
    let (status, headers, _) = answer(&app, post).await;
    assert_eq!((status, cache_control(&headers)), (200, "private, no-store"));
    let key = app.listings_key().await;
    let (status, headers, _) = answer(&app, get(&params, &[(header::HeaderName::from_static("x-api-key"), key)])).await;
    assert_eq!((status, cache_control(&headers)), (200, "private, no-store"));
    // Credentials that are not a bearer token, or an empty key: never public, whatever they turn out to be.
    for (name, value) in [
        (header::AUTHORIZATION, "Basic b3duZXI6c2VjcmV0".to_owned()),
        (header::AUTHORIZATION, "Bearer".to_owned()),
        (header::HeaderName::from_static("x-api-key"), String::new()),
    ] {
        let (_, headers, body) = answer(&app, get(&params, &[(name.clone(), value.clone())])).await;
        assert_eq!(cache_control(&headers), "private, no-store", "{name}: {value:?}: {body}");
        assert!(headers.get(header::ETAG).is_none());
    }
    // A signed-in caller holding the public answer's tag still gets their own answer, privately.
    let (status, headers, _) = answer(
        &app,
        get(&params, &[(header::IF_NONE_MATCH, etag), (header::AUTHORIZATION, format!("Bearer {}", owner.token))]),
    )
    .await;
    assert_eq!((status, cache_control(&headers)), (200, "private, no-store"));
    // Refusals before a request runs are private too: a misspelt parameter here.
    let (status, headers, _) = answer(&app, get(&[("qeury", LISTING.to_owned())], &[])).await;
    assert_eq!((status, cache_control(&headers)), (400, "private, no-store"));
}

#[tokio::test]
async fn a_caller_over_the_rate_limit_is_refused_privately_over_get() {
    let app = TestApp::spawn_with(|s| s.rate_limit_per_ip = 1).await;
    let params = [("query", "{ __typename }".to_owned())];
    assert_eq!(cache_control(&answer(&app, get(&params, &[])).await.1), "public, max-age=60");
    let (status, headers, body) = answer(&app, get(&params, &[])).await;
    assert_eq!((status, error_code(&body).as_str()), (429, "RATE_LIMITED"));
    assert_eq!(cache_control(&headers), "private, no-store");
}

#[tokio::test]
async fn mutations_never_run_over_get() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let create = r#"mutation { createOrganisation(input: {name: "Over GET", kind: CHARITY, description: "No"}) { organisation { id } } }"#;
    let (status, headers, body) = answer(
        &app,
        get(&[("query", create.to_owned())], &[(header::AUTHORIZATION, format!("Bearer {}", owner.token))]),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(error_code(&body), "METHOD_NOT_ALLOWED");
    assert_eq!(headers[header::ALLOW], "GET, POST");
    let mine = app.gql_as(Some(&owner.token), "{ me { memberships { totalCount } } }", json!({})).await;
    assert_eq!(data(&mine)["me"]["memberships"]["totalCount"], 0, "nothing was created");
    // A misspelt parameter is refused, not ignored; so is a query string with no query.
    let (status, _, body) = answer(&app, get(&[("qeury", LISTING.to_owned())], &[])).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"), "{body}");
    let (status, _, body) = answer(&app, get(&[("variables", "{}".to_owned())], &[])).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"), "{body}");
    // Without a query string, GET is still GraphiQL.
    let (status, page) = app.raw(Request::get("/graphql").body(Body::empty()).expect("a request")).await;
    assert_eq!(status, 200);
    assert!(page.to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn persisted_queries_are_learnt_by_hash_and_served_over_get() {
    let app = TestApp::spawn().await;
    let hash = sha256(LISTING);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let by_hash = [("extensions", extensions.clone()), ("variables", json!({ "first": 3 }).to_string())];

    // Unknown: the client is told to send the document (as Apollo's clients expect).
    let (status, headers, body) = answer(&app, get(&by_hash, &[])).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(cache_control(&headers), "private, no-store");

    // A document whose hash is not the one given is refused and not kept.
    let wrong = [("query", "{ __typename }".to_owned()), ("extensions", extensions.clone())];
    let (status, _, body) = answer(&app, get(&wrong, &[])).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"), "{body}");
    assert_eq!(error_code(&answer(&app, get(&by_hash, &[])).await.2), "PERSISTED_QUERY_NOT_FOUND");

    // Sent with its hash (here over POST), it is learnt; from then on the hash alone is enough, and public.
    let post = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "query": LISTING, "variables": { "first": 3 },
                "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
            .to_string(),
        ))
        .expect("a request");
    let (status, _, body) = answer(&app, post).await;
    assert_eq!(status, 200);
    assert_eq!(data(&body)["needs"]["totalCount"], 0);
    let (status, headers, body) = answer(&app, get(&by_hash, &[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data(&body)["needs"]["totalCount"], 0);
    assert_eq!(cache_control(&headers), "public, max-age=60");

    // A mutation learnt by its hash still runs only over POST.
    let owner = app.register("owner@club.example", "Owner").await;
    let create = r#"mutation { createOrganisation(input: {name: "By hash", kind: CHARITY, description: "No"}) { organisation { id } } }"#;
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(create) } }).to_string();
    let (_, _, first) =
        answer(&app, get(&[("query", create.to_owned()), ("extensions", persisted.clone())], &[])).await;
    assert_eq!(error_code(&first), "METHOD_NOT_ALLOWED");
    let learn = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
        .body(Body::from(json!({ "query": create, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(create) } } }).to_string()))
        .expect("a request");
    let (status, _, created) = answer(&app, learn).await;
    assert_eq!(status, 200, "{created}");
    let (status, _, body) =
        answer(&app, get(&[("extensions", persisted)], &[(header::AUTHORIZATION, format!("Bearer {}", owner.token))]))
            .await;
    assert_eq!((status, error_code(&body).as_str()), (405, "METHOD_NOT_ALLOWED"), "{body}");

    let unsupported = json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }).to_string();
    let (status, _, body) = answer(&app, get(&[("extensions", unsupported)], &[])).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"), "{body}");
}

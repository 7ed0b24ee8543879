//! Partner API keys: issued by platform admins only, shown once, scoped, rate-limited on their own, revocable.
use axum::body::Body;
use axum::http::{Request, header};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};

const ISSUE: &str = "mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { key apiKey { id prefix scopes rateLimitPerMinute lastUsedAt revokedAt } } }";
const LISTING: &str = "{ needs(first: 5) { edges { node { title organisation { name } } } } }";

/// Sends a query with `X-Api-Key` (and a bearer token when given); returns the HTTP status and the body.
async fn with_key(app: &TestApp, key: &str, bearer: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let mut request =
        Request::post("/graphql").header(header::CONTENT_TYPE, "application/json").header("x-api-key", key);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let (status, text) = app.raw(request.body(Body::from(body)).expect("request")).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text}")))
}

async fn issue(app: &TestApp, admin: &Session, input: Value) -> (String, Value) {
    let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": input })).await;
    let issued = &data(&resp)["issueApiKey"];
    (issued["key"].as_str().expect("key").to_owned(), issued["apiKey"].clone())
}

#[tokio::test]
async fn only_platform_admins_issue_keys_and_a_key_is_shown_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let member = app.register("member@keys.example", "Member").await;
    let input = json!({ "input": { "name": "Partner site", "scopes": ["READ_PUBLIC_LISTINGS"] } });
    assert_eq!(error_code(&app.gql(ISSUE, input.clone()).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.gql_as(Some(&member.token), ISSUE, input.clone()).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql_as(Some(&member.token), "{ apiKeys { id } }", json!({})).await), "FORBIDDEN");

    let (key, issued) =
        issue(&app, &admin, json!({ "name": "Partner site", "scopes": ["READ_PUBLIC_LISTINGS"] })).await;
    assert!(key.starts_with(issued["prefix"].as_str().expect("prefix")), "the prefix is the key's start");
    assert_eq!(issued["rateLimitPerMinute"], 600);
    let listed = app.gql_as(Some(&admin.token), "{ apiKeys { id prefix name } }", json!({})).await;
    let text = listed.to_string();
    assert!(text.contains("Partner site") && !text.contains(&key), "listed without the key itself: {text}");
    let stored: Vec<String> = entity::api_key::Entity::find()
        .all(&app.db)
        .await
        .expect("keys")
        .into_iter()
        .map(|k| format!("{k:?}"))
        .collect();
    assert!(!stored.join(" ").contains(&key), "only a hash of the key is stored");

    // Bad requests for keys.
    for (input, field) in [
        (json!({ "name": "x", "scopes": [] }), "input.scopes"),
        (json!({ "name": "x", "scopes": ["READ_ORGANISATION_MATCHES"] }), "input.organisationId"),
        (
            json!({ "name": "x", "scopes": ["READ_PUBLIC_LISTINGS"], "rateLimitPerMinute": 0 }),
            "input.rateLimitPerMinute",
        ),
    ] {
        let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": input })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn a_listings_key_reads_listings_and_nothing_else_until_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@keys.example", "Owner").await;
    let org = app.organisation(&owner, "Key Club").await;
    app.open_need(&owner, &org, "Conversation club helper", json!({})).await;
    let (key, issued) =
        issue(&app, &admin, json!({ "name": "Listings widget", "scopes": ["READ_PUBLIC_LISTINGS"] })).await;
    assert_eq!(issued["lastUsedAt"], Value::Null);

    let (status, resp) = with_key(&app, &key, None, LISTING, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(data(&resp)["needs"]["edges"][0]["node"]["organisation"]["name"], "Key Club");
    let listed = app.gql_as(Some(&admin.token), "{ apiKeys { lastUsedAt } }", json!({})).await;
    assert!(data(&listed)["apiKeys"][0]["lastUsedAt"].is_string(), "last use recorded");

    // Keys never write, and never act as a user.
    let (_, resp) = with_key(
        &app,
        &key,
        None,
        "mutation { register(input: {email: \"k@keys.example\", password: \"a long enough passphrase\", displayName: \"K\"}) { accessToken } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    // Named, alone or beside a query, with or without an operation name: still refused.
    for (document, operation) in [
        ("mutation M { verifyEmail(input: {token: \"x\"}) { emailVerifiedAt } }", None),
        (
            "query Q { needs { totalCount } } mutation M { verifyEmail(input: {token: \"x\"}) { emailVerifiedAt } }",
            Some("M"),
        ),
    ] {
        let request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json").header("x-api-key", &key);
        let body = json!({ "query": document, "operationName": operation }).to_string();
        let (_, text) = app.raw(request.body(Body::from(body)).expect("request")).await;
        let resp: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(error_code(&resp), "FORBIDDEN", "{document}");
    }
    let (_, resp) =
        with_key(&app, &key, None, "{ recommendedNeeds(first: 3) { edges { node { score } } } }", json!({})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "a key is no volunteer");
    let (_, resp) = with_key(&app, &key, None, "{ exportMyData }", json!({})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "a key is nobody's account");

    // A key and a user's token together are refused; so are unknown keys.
    let (_, resp) = with_key(&app, &key, Some(&owner.token), LISTING, json!({})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let (_, resp) = with_key(&app, "pik_not-a-real-key", None, LISTING, json!({})).await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");

    let id = issued["id"].as_str().expect("id");
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "only platform admins revoke");
    let resp = app
        .gql_as(
            Some(&admin.token),
            "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(data(&resp)["revokeApiKey"]["revokedAt"].is_string());
    let (status, resp) = with_key(&app, &key, None, LISTING, json!({})).await;
    assert_eq!((status, error_code(&resp).as_str()), (200, "UNAUTHENTICATED"), "revoked at once");
}

#[tokio::test]
async fn a_matches_key_reads_one_organisations_matches_without_contact_details() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@match-keys.example", "Owner").await;
    let ours = app.organisation(&owner, "Our Club").await;
    let theirs = app.organisation(&owner, "Their Club").await;
    let our_need = app.open_need(&owner, &ours, "ESOL helper", json!({})).await;
    let their_need = app.open_need(&owner, &theirs, "ESOL helper too", json!({})).await;
    app.volunteer("amira@match-keys.example", "Amira", json!({})).await;
    let (key, _) = issue(
        &app,
        &admin,
        json!({ "name": "Our Club CRM", "scopes": ["READ_ORGANISATION_MATCHES"], "organisationId": ours }),
    )
    .await;

    let matches = "query($id: ID!) { matchesForNeed(needId: $id, first: 5) { edges { node { score volunteer { displayName } } } } }";
    let (_, resp) = with_key(&app, &key, None, matches, json!({ "id": our_need })).await;
    assert_eq!(data(&resp)["matchesForNeed"]["edges"][0]["node"]["volunteer"]["displayName"], "Amira");
    let (_, resp) = with_key(&app, &key, None, matches, json!({ "id": their_need })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "another organisation's matches");
    let with_email = "query($id: ID!) { matchesForNeed(needId: $id, first: 5) { edges { node { volunteer { displayName email dbsCheck { level } } } } } }";
    let (_, resp) = with_key(&app, &key, None, with_email, json!({ "id": our_need })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "no contact details or DBS status through a key");
    assert!(!resp.to_string().contains("amira@match-keys.example"));
    let (_, resp) = with_key(&app, &key, None, LISTING, json!({})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "listings need their own scope");
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (slow, _) = issue(
        &app,
        &admin,
        json!({ "name": "Slow partner", "scopes": ["READ_PUBLIC_LISTINGS"], "rateLimitPerMinute": 2 }),
    )
    .await;
    let (other, _) = issue(&app, &admin, json!({ "name": "Other partner", "scopes": ["READ_PUBLIC_LISTINGS"] })).await;
    for _ in 0..2 {
        assert_eq!(with_key(&app, &slow, None, LISTING, json!({})).await.0, 200);
    }
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-api-key", &slow)
        .body(Body::from(json!({ "query": LISTING }).to_string()))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get(header::RETRY_AFTER).is_some(), "says when to come back");
    let (status, resp) = with_key(&app, &slow, None, LISTING, json!({})).await;
    assert_eq!((status, error_code(&resp).as_str()), (429, "RATE_LIMITED"));
    assert_eq!(with_key(&app, &other, None, LISTING, json!({})).await.0, 200, "other keys are not slowed");
}

//! Retried mutations carrying the same Idempotency-Key run once and answer the same.
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

/// Sends a GraphQL request with an Idempotency-Key; returns the response and whether it was a replay.
async fn keyed(app: &TestApp, token: Option<&str>, key: &str, query: &str, variables: Value) -> (Value, bool) {
    let mut request =
        Request::post("/graphql").header(header::CONTENT_TYPE, "application/json").header("idempotency-key", key);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let response = app.send(request.body(Body::from(body)).expect("request")).await;
    assert_eq!(response.status().as_u16(), 200);
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (serde_json::from_slice(&bytes).expect("JSON"), replayed)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .expect("count")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

const REGISTER: &str = r#"mutation { register(input: {email: "retry@example.org", password: "a long enough passphrase", displayName: "Retry"}) { accessToken user { id } } }"#;
const CREATE_NEED: &str = r#"mutation($org: ID!) { createNeed(input: {organisationId: $org, title: "Befriender", category: BEFRIENDING, volunteersNeeded: 1, remote: true}) { need { id } } }"#;
const CREATE_OFFER: &str = r#"mutation($org: ID!) { createOffer(input: {organisationId: $org, kind: TIME, title: "Saturday mornings", remote: true}) { offer { id } } }"#;
const CREATE_ORG: &str =
    r#"mutation { createOrganisation(input: {name: "Same Name", kind: COMMUNITY_GROUP}) { organisation { id } } }"#;
const APPLY: &str =
    r#"mutation($id: ID!) { applyToNeed(input: {needId: $id, message: "Happy to help"}) { application { id } } }"#;

#[tokio::test]
async fn a_retried_mutation_runs_once_and_answers_the_same() {
    let app = TestApp::spawn().await;

    // register (anonymous)
    let (first, replayed) = keyed(&app, None, "k-register", REGISTER, json!({})).await;
    assert!(!replayed && first.get("errors").is_none(), "{first}");
    let (again, replayed) = keyed(&app, None, "k-register", REGISTER, json!({})).await;
    assert!(replayed);
    assert_eq!(again, first, "the same answer, token and all");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 1);
    // Stored sealed: neither the key nor the live token it answered with can be read from the database.
    use sea_orm::EntityTrait;
    let stored = format!("{:?}", entity::idempotency_key::Entity::find().all(&app.db).await.expect("rows"));
    let token = first["data"]["register"]["accessToken"].as_str().expect("token");
    assert!(!stored.contains("k-register") && !stored.contains(token) && !stored.contains("retry@example.org"));

    // createNeed and createOffer (signed in)
    let owner = app.register("owner@retry.example", "Owner").await;
    let org = app.organisation(&owner, "Retry Club").await;
    let vars = json!({ "org": org });
    let (first, _) = keyed(&app, Some(&owner.token), "k-need", CREATE_NEED, vars.clone()).await;
    let (again, replayed) = keyed(&app, Some(&owner.token), "k-need", CREATE_NEED, vars.clone()).await;
    assert!(replayed && again == first, "{first} {again}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM needs").await, 1);
    let (first, _) = keyed(&app, Some(&owner.token), "k-offer", CREATE_OFFER, vars.clone()).await;
    let (again, replayed) = keyed(&app, Some(&owner.token), "k-offer", CREATE_OFFER, vars.clone()).await;
    assert!(first.get("errors").is_none() && replayed && again == first, "{first}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM offers").await, 1);

    // Without a key, the same mutation runs each time.
    app.gql_as(Some(&owner.token), CREATE_NEED, vars.clone()).await;
    app.gql_as(Some(&owner.token), CREATE_NEED, vars.clone()).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM needs").await, 3);

    // applyToNeed
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let (volunteer, _) = app.volunteer("vol@retry.example", "Vol", json!({})).await;
    let (first, _) = keyed(&app, Some(&volunteer.token), "k-apply", APPLY, json!({ "id": need })).await;
    let (again, replayed) = keyed(&app, Some(&volunteer.token), "k-apply", APPLY, json!({ "id": need })).await;
    assert!(first.get("errors").is_none() && replayed && again == first, "{first}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM applications").await, 1);

    // A key is the caller's own: another user's identical request under the same key is another request.
    let other = app.register("other@retry.example", "Other").await;
    let (mine, _) = keyed(&app, Some(&owner.token), "k-org", CREATE_ORG, json!({})).await;
    let (theirs, replayed) = keyed(&app, Some(&other.token), "k-org", CREATE_ORG, json!({})).await;
    assert!(!replayed && mine.get("errors").is_none() && theirs.get("errors").is_none(), "{theirs}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM organisations WHERE name = 'Same Name'").await, 2);
}

#[tokio::test]
async fn a_key_is_for_one_request_and_a_failed_one_gives_it_back() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@keys.example", "Owner").await;
    let org = app.organisation(&owner, "Keys Club").await;

    keyed(&app, Some(&owner.token), "k1", CREATE_NEED, json!({ "org": org })).await;
    let other_org = app.organisation(&owner, "Other Club").await;
    let (resp, _) = keyed(&app, Some(&owner.token), "k1", CREATE_NEED, json!({ "org": other_org })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "a different request under a used key: {resp}");

    // A request that fails keeps nothing: its retry runs again (and fails again, not replayed).
    let bad = r#"mutation($org: ID!) { createOffer(input: {organisationId: $org, kind: TIME, title: "", remote: true}) { offer { id } } }"#;
    let (first, _) = keyed(&app, Some(&owner.token), "k2", bad, json!({ "org": org })).await;
    assert_eq!(error_code(&first), "BAD_USER_INPUT");
    let (_, replayed) = keyed(&app, Some(&owner.token), "k2", bad, json!({ "org": org })).await;
    assert!(!replayed);

    let (resp, _) = keyed(&app, Some(&owner.token), " ", CREATE_OFFER, json!({ "org": org })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "an empty key");
    // Queries are not stored.
    let (resp, replayed) = keyed(&app, None, "k3", "{ __typename }", json!({})).await;
    let (_, replayed_again) = keyed(&app, None, "k3", "{ __typename }", json!({})).await;
    assert!(!replayed && !replayed_again && data(&resp)["__typename"] == "Query");
}

#[tokio::test]
async fn racing_retries_run_the_mutation_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@race.example", "Owner").await;
    let org = app.organisation(&owner, "Race Club").await;
    let vars = json!({ "org": org });
    let attempts = (0..6).map(|_| keyed(&app, Some(&owner.token), "k-race", CREATE_NEED, vars.clone()));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(r, _)| r.get("errors").is_none()).count();
    let busy = results.iter().filter(|(r, _)| r["errors"][0]["extensions"]["code"] == "CONFLICT").count();
    assert_eq!(ok + busy, 6, "each attempt either has the answer or is told to retry: {results:?}");
    assert!(ok >= 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM needs").await, 1);
}

#[tokio::test]
async fn a_claim_left_by_a_dead_server_is_taken_over_but_a_live_one_is_not() {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = TestApp::spawn().await;
    let owner = app.register("owner@stale.example", "Owner").await;
    let org = app.organisation(&owner, "Stale Club").await;
    let user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("owner@stale.example"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the owner");
    let pending = |key: &str, minutes_ago: u64| entity::idempotency_key::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        principal: Set(format!("user:{}", user.id)),
        key: Set(api::idempotency::stored_key(key)),
        request_hash: Set("from a request that never answered".to_owned()),
        response: Set(None),
        created_at: Set(api::now() - std::time::Duration::from_secs(60 * minutes_ago)),
    };
    pending("k-dead", 60).insert(&app.db).await.expect("insert");
    pending("k-live", 0).insert(&app.db).await.expect("insert");

    let (resp, replayed) = keyed(&app, Some(&owner.token), "k-dead", CREATE_NEED, json!({ "org": org })).await;
    assert!(!replayed && resp.get("errors").is_none(), "taken over and run: {resp}");
    let (resp, _) = keyed(&app, Some(&owner.token), "k-live", CREATE_NEED, json!({ "org": org })).await;
    // A claim still within its time stays bound to its own request (a matching one would be told to retry).
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "not taken over: {resp}");
}

/// A keyed request runs one mutation: with two, the first could commit and the second fail, and the retry that the
/// key is for would run the first again. Without a key, several mutation fields run as before.
#[tokio::test]
async fn a_keyed_request_holds_one_mutation_field() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@one-field.example", "Owner").await;
    let before = count(&app, "SELECT COUNT(*) FROM organisations").await;
    let two = r#"mutation { a: createOrganisation(input: {name: "First Of Two", kind: COMMUNITY_GROUP}) { organisation { id } } b: createOrganisation(input: {name: "Second Of Two", kind: COMMUNITY_GROUP}) { organisation { id } } }"#;
    let (resp, _) = keyed(&app, Some(&owner.token), "two-fields", two, json!({})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM organisations").await, before, "nothing ran");
    // Nor can the second hide behind a chain of fragments.
    let mut hidden = String::from(
        r#"mutation { a: createOrganisation(input: {name: "First Of Two", kind: COMMUNITY_GROUP}) { organisation { id } } ...F0 }"#,
    );
    for i in 0..12 {
        hidden.push_str(&format!(" fragment F{i} on Mutation {{ ...F{} }}", i + 1));
    }
    hidden.push_str(r#" fragment F12 on Mutation { b: createOrganisation(input: {name: "Second Of Two", kind: COMMUNITY_GROUP}) { organisation { id } } }"#);
    let (resp, _) = keyed(&app, Some(&owner.token), "hidden-field", &hidden, json!({})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM organisations").await, before, "nothing ran");
    // One mutation field (with __typename beside it) is fine.
    let one = r#"mutation { __typename createOrganisation(input: {name: "Only One", kind: COMMUNITY_GROUP}) { organisation { id } } }"#;
    let (resp, _) = keyed(&app, Some(&owner.token), "one-field", one, json!({})).await;
    assert!(resp.get("errors").is_none(), "{resp}");
    let resp = app.gql_as(Some(&owner.token), two, json!({})).await;
    assert!(resp.get("errors").is_none(), "{resp}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM organisations").await, before + 3);
}

/// A keyed request stopped at its time limit may or may not have committed: its retries get the same TIMEOUT answer
/// (replayed) rather than running it again. A new key runs it anew.
#[tokio::test]
async fn a_keyed_request_that_timed_out_is_not_run_again_by_its_retry() {
    let app = TestApp::spawn_with(|s| s.request_timeout_ms = 0).await;
    let (first, replayed) = keyed(&app, None, "slow-register", REGISTER, json!({})).await;
    assert_eq!((error_code(&first).as_str(), replayed), ("TIMEOUT", false), "{first}");
    let (again, replayed) = keyed(&app, None, "slow-register", REGISTER, json!({})).await;
    assert_eq!((error_code(&again).as_str(), replayed), ("TIMEOUT", true), "{again}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 0, "stopped before it committed, here");
    let (other, replayed) = keyed(&app, None, "another-key", REGISTER, json!({})).await;
    assert_eq!((error_code(&other).as_str(), replayed), ("TIMEOUT", false), "{other}");
}

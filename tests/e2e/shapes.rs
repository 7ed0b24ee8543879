//! The shape of answers from lists, whose objects are resolved by `graphql::eager` rather than by async-graphql:
//! the same values, errors and statements as async-graphql gives, with fields in the order they were asked for.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data};

/// An organisation with three needs, each with two applications.
async fn dashboard() -> (TestApp, Session, String) {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@shapes.example", "Owner").await;
    let org_id = app.organisation(&owner, "Shapes Org").await;
    let mut needs = Vec::new();
    for n in 0..3 {
        needs.push(app.open_need(&owner, &org_id, &format!("Need {n}"), json!({"volunteersNeeded": 3})).await);
    }
    for v in 0..2 {
        let (volunteer, _) = app.volunteer(&format!("v{v}@shapes.example"), &format!("Volunteer {v}"), json!({})).await;
        for need in &needs {
            app.apply(&volunteer, need).await;
        }
    }
    (app, owner, org_id)
}

/// The response as text, so that the order of its keys can be seen.
async fn raw_answer(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let mut request = axum::http::Request::post("/graphql").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let (status, text) = app.raw(request.body(axum::body::Body::from(body)).expect("request")).await;
    assert_eq!(status, 200, "{text}");
    text
}

/// Where each of `keys` first appears in `text` after `from`, in order; panics if one is missing or out of order.
fn assert_in_order(text: &str, from: usize, keys: &[&str]) {
    let mut at = from;
    for key in keys {
        let quoted = format!("\"{key}\":");
        let found = text[at..].find(&quoted).unwrap_or_else(|| panic!("{key} missing or out of order in {text}"));
        at += found + quoted.len();
    }
}

#[tokio::test]
async fn fields_come_back_in_the_order_they_were_selected() {
    let (app, owner, org_id) = dashboard().await;
    // The applications wait on a loader and finish last; they still come back where they were asked for.
    let query = "query($org: ID!) { organisation(id: $org) { needs(first: 2) { edges { node { zTitle: title
        applications(first: 5) { edges { node { status volunteer { displayName } id } } } aId: id __typename }
        cursor } pageInfo { hasNextPage } totalCount } } }";
    let text = raw_answer(&app, Some(&owner.token), query, json!({ "org": org_id })).await;
    let needs = text.find("\"needs\":").expect("needs");
    assert_in_order(&text, needs, &["edges", "node", "zTitle", "applications", "aId", "__typename", "cursor"]);
    assert_in_order(&text, needs, &["edges", "pageInfo", "totalCount"]);
    let first_application = text.find("\"applications\":").expect("applications");
    assert_in_order(&text, first_application, &["status", "volunteer", "displayName", "id"]);
    let resp: Value = serde_json::from_str(&text).expect("JSON");
    let needs = &data(&resp)["organisation"]["needs"];
    assert_eq!(needs["totalCount"], 3);
    assert_eq!(needs["pageInfo"]["hasNextPage"], true);
    assert_eq!(needs["edges"][0]["node"]["__typename"], "Need");
    assert_eq!(needs["edges"][0]["node"]["applications"]["edges"].as_array().map(Vec::len), Some(2));
}

/// A copy of `resp` with its errors sorted by path, so that two answers can be compared whatever order their
/// fields were resolved in.
fn normalised(mut resp: Value) -> Value {
    if let Some(errors) = resp.get_mut("errors").and_then(Value::as_array_mut) {
        errors.sort_by_key(|e| e["path"].to_string());
    }
    resp
}

/// `query` with `{dup}` replaced: by nothing for the eager resolver, or by a field the selection already has for
/// async-graphql's own (a response key given twice sends an object the standard way), at every level.
fn both_ways(query: &str, duplicates: &[&str]) -> (String, String) {
    let mut standard = query.to_owned();
    for duplicate in duplicates {
        standard = standard.replacen("{dup}", duplicate, 1);
    }
    (query.replace("{dup}", ""), standard)
}

#[tokio::test]
async fn lists_answer_as_async_graphql_does() {
    let (app, owner, org_id) = dashboard().await;
    let (eager, standard) = both_ways(
        "query($org: ID!) { organisation(id: $org) { needs(first: 3) { totalCount {dup} edges { cursor {dup} node {
            id {dup} ...NeedFields ... on Need { placesLeft } kind: __typename remote @include(if: true)
            description @skip(if: true) applications(first: 1) { pageInfo { hasNextPage endCursor } {dup}
            nodes { id {dup} } edges { cursor {dup} node { id {dup} ...ApplicationFields volunteer { displayName {dup} } } } } } } } } }
        fragment NeedFields on Need { title status }
        fragment ApplicationFields on Application { status }",
        &["totalCount", "cursor", "id", "pageInfo { hasNextPage }", "id", "cursor", "id", "displayName"],
    );
    let eager = app.gql_as(Some(&owner.token), &eager, json!({ "org": org_id })).await;
    let standard = app.gql_as(Some(&owner.token), &standard, json!({ "org": org_id })).await;
    assert!(eager.get("errors").is_none(), "{eager}");
    assert_eq!(eager, standard);
    let need = &data(&eager)["organisation"]["needs"]["edges"][0]["node"];
    assert_eq!(need["kind"], "Need");
    assert_eq!(need["placesLeft"], 3);
    assert_eq!(need["remote"], false);
    assert!(need.get("description").is_none(), "a skipped field is left out: {need}");
    assert_eq!(need["applications"]["edges"][0]["node"]["volunteer"]["displayName"], "Volunteer 1");

    // Errors inside list items: anonymous callers may not see applications. Each need still answers its other
    // fields, and each refusal is reported once, at its own path and place in the document (the duplicate comes
    // after the field, so that it does not move it).
    let (eager, standard) = both_ways(
        "{ needs(first: 3, orderBy: NEWEST) { edges { node { id title applications { totalCount } {dup} } } } }",
        &["title"],
    );
    let eager = normalised(app.gql(&eager, json!({})).await);
    assert_eq!(eager, normalised(app.gql(&standard, json!({})).await));
    let errors = eager["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 3, "{eager}");
    assert!(errors.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN"), "{eager}");
    assert_eq!(errors[0]["path"], json!(["needs", "edges", 0, "node", "applications"]));
    assert_eq!(eager["data"]["needs"]["edges"][2]["node"]["title"], "Need 0");
}

#[tokio::test]
async fn scalars_that_wait_batch_as_async_graphql_does() {
    let (app, owner, org_id) = dashboard().await;
    // A volunteer's email and postcode each wait on a privacy check (a loader; the postcode is then refused to the
    // organisation): both, on each of six volunteers, must still be one batch, as with async-graphql.
    let (eager, standard) = both_ways(
        "query($org: ID!) { organisation(id: $org) { needs(first: 3) { edges { node { applications(first: 5) {
            edges { node { volunteer { email postcode {dup} } } } } } } } } }",
        &["email"],
    );
    let mut answers = Vec::new();
    for query in [eager, standard] {
        app.reset_statements();
        let resp = app.gql_as(Some(&owner.token), &query, json!({ "org": org_id })).await;
        answers.push((normalised(resp), app.statements()));
    }
    let (eager, standard) = (&answers[0], &answers[1]);
    assert_eq!(eager, standard, "answers and statements, eager and standard");
    let volunteer =
        &eager.0["data"]["organisation"]["needs"]["edges"][0]["node"]["applications"]["edges"][0]["node"]["volunteer"];
    assert_eq!(volunteer["email"], "v1@shapes.example");
    assert_eq!(eager.0["errors"].as_array().map(Vec::len), Some(6), "each postcode refused: {}", eager.0);
}

#[tokio::test]
async fn a_scalar_waiting_on_a_sibling_object_does_not_hang() {
    let (app, owner, _) = dashboard().await;
    // `viewerRole` waits for the viewer's memberships, which `needs` has started reading; the memberships are not
    // read ahead for a document that also holds a mutation. The scalar must not stop `needs` from being polled.
    let document =
        "query Q { organisations(first: 5) { edges { node { viewerRole needs(first: 1) { totalCount } } } } }
        mutation M { logoutEverywhere { sessionsEnded } }";
    let body = json!({ "query": document, "operationName": "Q" }).to_string();
    let request = axum::http::Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", owner.token))
        .body(axum::body::Body::from(body))
        .expect("request");
    let answered = tokio::time::timeout(std::time::Duration::from_secs(5), app.raw(request)).await;
    let (status, text) = answered.expect("answered within 5 s, not at the request timeout");
    assert_eq!(status, 200, "{text}");
    let resp: Value = serde_json::from_str(&text).expect("JSON");
    let organisation = &data(&resp)["organisations"]["edges"][0]["node"];
    assert_eq!(organisation["viewerRole"], "OWNER", "{resp}");
    assert_eq!(organisation["needs"]["totalCount"], 3, "{resp}");
}

#[tokio::test]
async fn a_field_asked_for_twice_has_both_selections() {
    let (app, owner, org_id) = dashboard().await;
    // async-graphql merges the two selections of `volunteer`; the eager resolver leaves such objects to it.
    let query = "query($org: ID!) { organisation(id: $org) { needs(first: 1) { edges { node {
        applications(first: 1) { edges { node { volunteer { displayName } volunteer { id } } } } } } } } }";
    let resp = app.gql_as(Some(&owner.token), query, json!({ "org": org_id })).await;
    let volunteer =
        &data(&resp)["organisation"]["needs"]["edges"][0]["node"]["applications"]["edges"][0]["node"]["volunteer"];
    assert_eq!(volunteer["displayName"], "Volunteer 1");
    assert!(volunteer["id"].as_str().is_some_and(|id| !id.is_empty()), "{resp}");
}

//! Bad input gets BAD_USER_INPUT naming the field (or CONFLICT / NOT_FOUND), and nothing is half-written.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

fn field(resp: &serde_json::Value) -> String {
    resp["errors"][0]["extensions"]["field"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn registration_and_login_refuse_bad_credentials() {
    let app = TestApp::spawn().await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";
    for (input, expected_field) in [
        (json!({"email": "not-an-email", "password": "a long enough passphrase", "displayName": "X"}), "email"),
        (json!({"email": "a@example.org", "password": "short", "displayName": "X"}), "password"),
        (json!({"email": "a@example.org", "password": "password123", "displayName": "X"}), "password"),
        (json!({"email": "a@example.org", "password": "a long enough passphrase", "displayName": "  "}), "displayName"),
    ] {
        let resp = app.gql(register, json!({ "input": input })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{input}");
        assert_eq!(field(&resp), expected_field);
    }
    app.register("taken@example.org", "First").await;
    let resp = app.gql(register, json!({"input": {"email": "TAKEN@example.org", "password": "another long passphrase", "displayName": "Second"}})).await;
    assert_eq!(error_code(&resp), "CONFLICT");

    // A wrong password and an unknown email give the same answer.
    let login = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }";
    let wrong_password = app.gql(login, json!({"e": "taken@example.org", "p": "not the passphrase"})).await;
    let unknown = app.gql(login, json!({"e": "nobody@example.org", "p": "not the passphrase"})).await;
    assert_eq!(error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(wrong_password["errors"][0]["message"], unknown["errors"][0]["message"]);
}

#[tokio::test]
async fn needs_and_profiles_validate_their_fields() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org_id = app.organisation(&owner, "IT Skills Club").await;
    let create = "mutation($input: CreateNeedInput!) { createNeed(input: $input) { need { id } } }";
    let base = json!({"organisationId": org_id, "title": "Basic IT class helper", "category": "IT_SKILLS", "location": {"lat": 51.5, "lng": -0.1}});
    let with = |patch: serde_json::Value| {
        let mut input = base.clone();
        crate::helpers::merge(&mut input, &patch);
        json!({ "input": input })
    };
    for (patch, expected_field) in [
        (json!({"title": "x".repeat(141)}), "input.title"),
        (json!({"volunteersNeeded": 0}), "input.volunteersNeeded"),
        (json!({"location": {"lat": 91.0, "lng": 0.0}}), "input.location.lat"),
        (json!({"location": null}), "input.location"),
        (json!({"postcode": "NOT A POSTCODE"}), "input.postcode"),
        (
            json!({"schedule": {"weekly": [{"day": "MONDAY", "start": "21:00", "end": "19:00"}]}}),
            "input.schedule.weekly[0].end",
        ),
        (json!({"schedule": {"startDate": "2027-05-02", "endDate": "2027-05-01"}}), "input.schedule.endDate"),
        (json!({"requiredSkills": ["  "]}), "input.requiredSkills[0]"),
        (json!({"organisationId": "bm9wZQ"}), "input.organisationId"),
    ] {
        let resp = app.gql_as(Some(&owner.token), create, with(patch.clone())).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{patch}: {resp}");
        assert_eq!(field(&resp), expected_field, "{patch}");
    }
    // Nothing half-written: none of those created a need.
    let resp = app.gql_as(Some(&owner.token), "{ needs { totalCount } }", json!({})).await;
    assert_eq!(data(&resp)["needs"]["totalCount"], 0);

    // Right kind of id, but nothing there.
    let missing_org = app.organisation(&owner, "Temp").await.replace('A', "B");
    let resp = app.gql_as(Some(&owner.token), create, with(json!({"organisationId": missing_org}))).await;
    assert!(["NOT_FOUND", "BAD_USER_INPUT"].contains(&error_code(&resp).as_str()), "{resp}");

    // Search radius bounds.
    for radius in [0.0, 500.0] {
        let resp = app
            .gql(
                "query($r: Float!) { needs(filter: {near: {lat: 52.0, lng: 1.0, radiusKm: $r}}) { totalCount } }",
                json!({ "r": radius }),
            )
            .await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT");
        assert_eq!(field(&resp), "filter.near.radiusKm");
    }

    // Volunteer profiles: travel radius, DBS dates, overlapping availability.
    let volunteer = app.register("v@volunteer.example", "Vee").await;
    let upsert = "mutation($input: UpsertVolunteerProfileInput!) { upsertVolunteerProfile(input: $input) { volunteerProfile { id } } }";
    for (input, expected_field) in [
        (json!({"displayName": "Vee", "travelRadiusKm": -1.0}), "input.travelRadiusKm"),
        (json!({"displayName": "Vee", "dbsCheck": {"level": "ENHANCED"}}), "input.dbsCheck.issuedOn"),
        (
            json!({"displayName": "Vee", "dbsCheck": {"level": "BASIC", "issuedOn": "2099-01-01"}}),
            "input.dbsCheck.issuedOn",
        ),
        (
            json!({"displayName": "Vee", "availability": [{"day": "MONDAY", "start": "09:00", "end": "12:00"}, {"day": "MONDAY", "start": "11:00", "end": "13:00"}]}),
            "input.availability",
        ),
    ] {
        let resp = app.gql_as(Some(&volunteer.token), upsert, json!({ "input": input })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{input}");
        assert_eq!(field(&resp), expected_field);
    }
    // Applying needs a profile first, and only once.
    let need_id = app.open_need(&owner, &org_id, "Tablet basics", json!({})).await;
    let apply = "mutation($id: ID!) { applyToNeed(input: {needId: $id}) { application { id } } }";
    let resp = app.gql_as(Some(&volunteer.token), apply, json!({ "id": need_id })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let (applicant, _) = app.volunteer("a@volunteer.example", "Ay", json!({})).await;
    app.apply(&applicant, &need_id).await;
    let resp = app.gql_as(Some(&applicant.token), apply, json!({ "id": need_id })).await;
    assert_eq!(error_code(&resp), "CONFLICT");
    // Places cannot drop below those already taken.
    let resp = app
        .gql_as(
            Some(&owner.token),
            "query($id: ID!) { need(id: $id) { applications { edges { node { id } } } } }",
            json!({ "id": need_id }),
        )
        .await;
    let application_id = data(&resp)["need"]["applications"]["edges"][0]["node"]["id"].clone();
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { need { placesTaken } } }",
            json!({ "id": application_id }),
        )
        .await;
    assert_eq!(data(&resp)["acceptApplication"]["need"]["placesTaken"], 1);
    let resp = app.gql_as(Some(&owner.token), "mutation($id: ID!) { updateNeed(input: {needId: $id, volunteersNeeded: 1}) { need { status volunteersNeeded } } }", json!({ "id": need_id })).await;
    assert_eq!(data(&resp)["updateNeed"]["need"], json!({"status": "FILLED", "volunteersNeeded": 1}));
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { updateNeed(input: {needId: $id, volunteersNeeded: 3}) { need { status } } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(data(&resp)["updateNeed"]["need"]["status"], "OPEN");
    // Closed needs take no applications.
    app.gql_as(
        Some(&owner.token),
        "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
        json!({ "id": need_id }),
    )
    .await;
    let (late, _) = app.volunteer("late@volunteer.example", "Late", json!({})).await;
    let resp = app.gql_as(Some(&late.token), apply, json!({ "id": need_id })).await;
    assert_eq!(error_code(&resp), "CONFLICT");
}

#[tokio::test]
async fn internal_errors_do_not_leak_and_unknown_ids_are_refused() {
    let app = TestApp::spawn().await;
    let resp = app.gql("{ node(id: \"garbage\") { id } }", json!({})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let resp = app.gql("{ organisation { id } }", json!({})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    // Documents async-graphql itself refuses (unknown fields, bad scalars and enum values) carry a code too.
    let resp = app.gql("{ needs { edges { node { secretField } } } }", json!({})).await;
    assert!(resp["errors"][0]["message"].as_str().unwrap_or_default().contains("secretField"));
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    for bad in
        ["{ needs(first: 99999999999) { totalCount } }", "{ needs(filter: {categories: [KNITTING]}) { totalCount } }"]
    {
        let resp = app.gql(bad, json!({})).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{bad}");
    }
    // A cursor from another list is refused, not run.
    let owner = app.register("o@example.org", "O").await;
    app.organisation(&owner, "Cursor Org").await;
    let resp = app.gql("{ organisations(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let cursor = data(&resp)["organisations"]["pageInfo"]["endCursor"].clone();
    let resp = app.gql("query($c: String) { needs(after: $c) { totalCount } }", json!({ "c": cursor })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
}

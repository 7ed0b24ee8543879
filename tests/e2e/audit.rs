//! The audit log: others' personal data seen or changed is logged, one's own is not, only platform admins read it,
//! and personal data goes out only when its viewing is logged.
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const LOG: &str = "query($id: ID!) { auditEvents(first: 20, filter: {subjectId: $id}) { totalCount edges { node { action fields detail actor { id } subject { id } } } } }";
const APPLICANTS: &str = "query($id: ID!) { node(id: $id) { ... on Need { applications(first: 10) { edges { node { id volunteer { displayName email dbsCheck { level } } } } } } } }";

fn events(resp: &Value) -> Vec<Value> {
    data(resp)["auditEvents"]["edges"]
        .as_array()
        .map(|e| e.iter().map(|x| x["node"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn seeing_or_changing_someone_elses_data_is_logged_for_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@audit.example", "Owner").await;
    let org = app.organisation(&owner, "Audit Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let (amira, _) = app.volunteer("amira@audit.example", "Amira", json!({})).await;
    let application = app.apply(&amira, &need).await;

    // Her own data, seen by her: not logged.
    let own = "{ me { email volunteerProfile { email dbsCheck { level } postcode } } }";
    data(&app.gql_as(Some(&amira.token), own, json!({})).await);
    assert_eq!(
        data(&app.gql_as(Some(&admin.token), LOG, json!({ "id": amira.user_id })).await)["auditEvents"]["totalCount"],
        0
    );

    // The organisation she applied to sees her contact details and DBS status: one entry, both fields.
    let resp = app.gql_as(Some(&owner.token), APPLICANTS, json!({ "id": need })).await;
    let seen = &data(&resp)["node"]["applications"]["edges"][0]["node"]["volunteer"];
    assert_eq!(seen["email"], "amira@audit.example");
    app.gql_as(
        Some(&owner.token),
        "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }",
        json!({ "id": application }),
    )
    .await;

    let log = app.gql_as(Some(&admin.token), LOG, json!({ "id": amira.user_id })).await;
    let entries = events(&log);
    let viewed = entries.iter().find(|e| e["action"] == "VIEWED").expect("a VIEWED entry");
    assert_eq!(viewed["fields"], json!(["volunteerProfile.dbsCheck", "volunteerProfile.email"]));
    assert_eq!(viewed["actor"]["id"], owner.user_id.as_str());
    assert_eq!(viewed["subject"]["id"], amira.user_id.as_str());
    let changed = entries.iter().find(|e| e["action"] == "CHANGED").expect("a CHANGED entry");
    assert_eq!(changed["fields"], json!(["application.status"]));
    assert!(changed["detail"].as_str().is_some_and(|d| d.contains("accepted")), "{changed}");
    assert_eq!(entries.len(), 2);

    // Nobody else reads the log.
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), LOG, json!({ "id": amira.user_id })).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql_as(Some(&amira.token), LOG, json!({ "id": amira.user_id })).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql(LOG, json!({ "id": amira.user_id })).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn personal_data_is_withheld_when_its_viewing_cannot_be_logged() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@withheld.example", "Owner").await;
    let org = app.organisation(&owner, "Withheld Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let (amira, _) = app.volunteer("amira@withheld.example", "Amira", json!({})).await;
    app.apply(&amira, &need).await;

    app.db.execute_unprepared("DROP TABLE audit_events").await.expect("break the audit log");
    let resp = app.gql_as(Some(&owner.token), APPLICANTS, json!({ "id": need })).await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE");
    assert!(!resp.to_string().contains("amira@withheld.example"), "nothing unlogged goes out: {resp}");
    // Reads with no one else's personal data in them are unaffected.
    let public = "query($id: ID!) { node(id: $id) { ... on Need { title } } }";
    assert_eq!(
        data(&app.gql_as(Some(&owner.token), public, json!({ "id": need })).await)["node"]["title"],
        "ESOL helper"
    );
}

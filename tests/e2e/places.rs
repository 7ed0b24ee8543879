//! Places are never exceeded, however many acceptances arrive at once.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_acceptances_never_overbook() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org_id = app.organisation(&owner, "Befriending Network").await;
    let need_id = app.open_need(&owner, &org_id, "Befrienders", json!({"volunteersNeeded": 3})).await;
    let mut applications = Vec::new();
    for i in 0..12 {
        let (volunteer, _) =
            app.volunteer(&format!("v{i}@volunteer.example"), &format!("Volunteer {i}"), json!({})).await;
        applications.push(app.apply(&volunteer, &need_id).await);
    }

    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    let results = futures::future::join_all(applications.iter().map(|id| {
        let (app, token) = (&app, owner.token.clone());
        async move { app.gql_as(Some(&token), accept, json!({ "id": id })).await }
    }))
    .await;
    let accepted = results.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = results.iter().filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT").count();
    assert_eq!((accepted, conflicts), (3, 9), "{results:?}");

    let resp = app
        .gql_as(Some(&owner.token), "query($id: ID!) { need(id: $id) { status placesTaken placesLeft applications(status: ACCEPTED) { totalCount } } }", json!({ "id": need_id }))
        .await;
    assert_eq!(
        data(&resp)["need"],
        json!({"status": "FILLED", "placesTaken": 3, "placesLeft": 0, "applications": {"totalCount": 3}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_on_one_application_release_one_place() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org_id = app.organisation(&owner, "Youth Club").await;
    let need_id = app.open_need(&owner, &org_id, "Helpers", json!({"volunteersNeeded": 1})).await;
    let (volunteer, _) = app.volunteer("v@volunteer.example", "Vee", json!({})).await;
    let application_id = app.apply(&volunteer, &need_id).await;
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { need { status } } }",
            json!({ "id": application_id }),
        )
        .await;
    assert_eq!(data(&resp)["acceptApplication"]["need"]["status"], "FILLED");

    // The organisation declines while the volunteer withdraws: one wins, and the place is freed once.
    let decline = app.gql_as(
        Some(&owner.token),
        "mutation($id: ID!) { declineApplication(input: {applicationId: $id}) { application { status } } }",
        json!({ "id": application_id }),
    );
    let withdraw = app.gql_as(
        Some(&volunteer.token),
        "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }",
        json!({ "id": application_id }),
    );
    let (a, b) = tokio::join!(decline, withdraw);
    let wins = [&a, &b].iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(wins, 1, "{a} {b}");
    let resp = app
        .gql_as(
            Some(&owner.token),
            "query($id: ID!) { need(id: $id) { status placesTaken } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(data(&resp)["need"], json!({"status": "OPEN", "placesTaken": 0}));
}

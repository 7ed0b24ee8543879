//! Fair invitations through GraphQL: `dispatchUrgentNeed` asks in waves and its coordinators watch it on
//! `Need.urgentDispatch` (nobody else sees it); `Organisation.outreach` reports how evenly the organisation asked;
//! a volunteer lowers their weekly cap of invitations in their preferences.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

const DISPATCH: &str = "mutation($input: DispatchUrgentNeedInput!) { dispatchUrgentNeed(input: $input) {
    dispatch { status waveSize offerMinutes waves invitations need { title placesLeft } } } }";
const WATCH: &str = "query($id: ID!) { need(id: $id) { urgentDispatch { status waves invitations } } }";
const OUTREACH: &str = "query($id: ID!, $from: NaiveDate!, $to: NaiveDate!) { organisation(id: $id) { outreach(from: $from, to: $to) {
    invitations volunteersInvited volunteersAskedMoreThanOnce mostInvitationsToOneVolunteer matchingVolunteersNeverAsked } } }";

#[tokio::test]
async fn an_urgent_need_is_dispatched_in_waves_watched_by_its_coordinators_alone() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@foodbank.example", "Lead").await;
    let org = app.organisation(&owner, "Roehampton Food Bank").await;
    let need = app.open_need(&owner, &org, "Deliveries tonight", json!({"volunteersNeeded": 1})).await;
    for i in 0..7 {
        app.volunteer(&format!("v{i}@volunteer.example"), &format!("Volunteer {i}"), json!({})).await;
    }
    // Their addresses confirmed, so the invitations are sent to them.
    app.deliver_mail().await;
    for i in 0..7 {
        let code = app.mail.verification_code(&format!("v{i}@volunteer.example")).expect("a code");
        let resp = app
            .gql("mutation($t: String!) { verifyEmail(input: {token: $t}) { emailVerifiedAt } }", json!({"t": code}))
            .await;
        data(&resp);
    }
    let (stranger, _) = app
        .volunteer(
            "nosy@volunteer.example",
            "Nosy",
            json!({"postcode": "M1 1AE", "location": {"lat": 53.48, "lng": -2.24}}),
        )
        .await;

    let resp = app.gql_as(Some(&stranger.token), DISPATCH, json!({"input": {"needId": need}})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let resp = app.gql_as(Some(&owner.token), DISPATCH, json!({"input": {"needId": need, "waveSize": 0}})).await;
    assert_eq!(
        (error_code(&resp).as_str(), resp["errors"][0]["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("input.waveSize"))
    );

    let resp = app.gql_as(Some(&owner.token), DISPATCH, json!({"input": {"needId": need, "offerMinutes": 30}})).await;
    let dispatch = &data(&resp)["dispatchUrgentNeed"]["dispatch"];
    assert_eq!(
        (
            dispatch["status"].as_str(),
            dispatch["waveSize"].as_i64(),
            dispatch["offerMinutes"].as_i64(),
            dispatch["waves"].as_i64()
        ),
        (Some("ACTIVE"), Some(5), Some(30), Some(1)),
        "{resp}"
    );
    assert_eq!(dispatch["invitations"], 5, "five asked for one place");
    assert_eq!(dispatch["need"]["placesLeft"], 1, "the invitations hold no place");
    // Each of the five is told it is urgent, first come first served, and for how long it stays open.
    app.deliver_mail().await;
    let urgent: Vec<api::mail::Email> =
        app.mail.sent().into_iter().filter(|m| m.subject.starts_with("Urgent: Roehampton Food Bank")).collect();
    assert_eq!(urgent.len(), 5, "{:?}", app.mail.sent().iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert!(
        urgent.iter().all(|m| m.text.contains("The first to accept take the places") && m.text.contains("30 minutes"))
    );
    let again = app.gql_as(Some(&owner.token), DISPATCH, json!({"input": {"needId": need}})).await;
    assert_eq!(error_code(&again), "CONFLICT");

    let watched = app.gql_as(Some(&owner.token), WATCH, json!({"id": need})).await;
    assert_eq!(data(&watched)["need"]["urgentDispatch"]["invitations"], 5);
    for token in [Some(stranger.token.as_str()), None] {
        let hidden = app.gql_as(token, WATCH, json!({"id": need})).await;
        assert!(data(&hidden)["need"]["urgentDispatch"].is_null(), "{hidden}");
    }

    // The outreach shows five asked once each, and the two matching volunteers not asked yet.
    let today = chrono::Utc::now().date_naive();
    let range = json!({"id": org, "from": today.to_string(), "to": today.to_string()});
    let resp = app.gql_as(Some(&owner.token), OUTREACH, range.clone()).await;
    let o = &data(&resp)["organisation"]["outreach"];
    assert_eq!(
        (
            o["invitations"].as_i64(),
            o["volunteersInvited"].as_i64(),
            o["volunteersAskedMoreThanOnce"].as_i64(),
            o["mostInvitationsToOneVolunteer"].as_i64()
        ),
        (Some(5), Some(5), Some(0), Some(1)),
        "{resp}"
    );
    assert_eq!(o["matchingVolunteersNeverAsked"], 2, "{resp}");
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), OUTREACH, range).await), "FORBIDDEN");
}

#[tokio::test]
async fn a_volunteer_lowers_their_weekly_cap_of_invitations() {
    let app = TestApp::spawn().await;
    let (kwame, _) = app.volunteer("kwame@volunteer.example", "Kwame", json!({})).await;
    let prefs = "{ notificationPreferences { invitationsPerWeek } }";
    assert_eq!(
        data(&app.gql_as(Some(&kwame.token), prefs, json!({})).await)["notificationPreferences"]["invitationsPerWeek"],
        3
    );
    let update =
        "mutation($n: Int) { updateNotificationPreferences(input: {invitationsPerWeek: $n}) { invitationsPerWeek } }";
    let resp = app.gql_as(Some(&kwame.token), update, json!({"n": 1})).await;
    assert_eq!(data(&resp)["updateNotificationPreferences"]["invitationsPerWeek"], 1);
    let resp = app.gql_as(Some(&kwame.token), update, json!({"n": 4})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "never above the platform's cap");
    let resp = app.gql_as(Some(&kwame.token), update, json!({"n": null})).await;
    assert_eq!(data(&resp)["updateNotificationPreferences"]["invitationsPerWeek"], 3, "back to the platform's");
}

//! Waitlists: a full need takes applications onto its waitlist, in order and up to its cap; a freed place is
//! offered to the first in line, once, also when places free at the same moment; an offer lapses after its hours
//! and passes on. The clock is the sweep's argument, never a sleep.
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};

const APPLY: &str = "mutation($id: ID!) { applyToNeed(input: {needId: $id}) {
    application { id status waitlistPosition waitlistedAt offerExpiresAt } } }";
const WITHDRAW: &str =
    "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { need { status } } }";
const MINE: &str = "query($id: ID!) { node(id: $id) { ... on Application {
    status waitlistPosition invitedAt offerExpiresAt expiredAt } } }";
const NEED: &str = "query($id: ID!) { need(id: $id) { status placesTaken placesLeft waitlistCap } }";

async fn apply(app: &TestApp, volunteer: &Session, need: &str) -> Value {
    app.gql_as(Some(&volunteer.token), APPLY, json!({ "id": need })).await
}

async fn mine(app: &TestApp, volunteer: &Session, application: &str) -> Value {
    data(&app.gql_as(Some(&volunteer.token), MINE, json!({ "id": application })).await)["node"].clone()
}

/// `n` volunteers, numbered from `from`.
async fn volunteers(app: &TestApp, from: usize, n: usize) -> Vec<Session> {
    let mut out = Vec::new();
    for i in from..from + n {
        out.push(app.volunteer(&format!("v{i}@volunteer.example"), &format!("Volunteer {i}"), json!({})).await.0);
    }
    out
}

/// Applies each of `volunteers` and accepts them: the need's places taken.
async fn fill(app: &TestApp, owner: &Session, need: &str, volunteers: &[Session]) -> Vec<String> {
    let mut ids = Vec::new();
    for v in volunteers {
        let id = app.apply(v, need).await;
        let resp = app.gql_as(Some(&owner.token), ACCEPT, json!({ "id": id })).await;
        assert!(resp.get("errors").is_none(), "{resp}");
        ids.push(id);
    }
    ids
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc()).expect("a time")
}

#[tokio::test]
async fn a_full_need_waitlists_in_order_and_offers_each_freed_place_to_the_next() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let need = app.open_need(&owner, &org, "English conversation", json!({"volunteersNeeded": 2})).await;
    // Somewhere else the turned-away can help, and one of another kind.
    let elsewhere = app.open_need(&owner, &org, "Homework club English", json!({})).await;
    let other_kind =
        app.open_need(&owner, &org, "Tea and a chat", json!({"category": "BEFRIENDING", "requiredSkills": []})).await;
    let people = volunteers(&app, 0, 5).await;
    let accepted = fill(&app, &owner, &need, &people[..2]).await;
    assert_eq!(
        data(&app.gql(NEED, json!({ "id": need })).await)["need"],
        json!({"status": "FILLED", "placesTaken": 2, "placesLeft": 0, "waitlistCap": 2})
    );

    // Full: the next two wait, in order.
    let mut waiting = Vec::new();
    for (i, v) in people[2..4].iter().enumerate() {
        let resp = apply(&app, v, &need).await;
        let application = &data(&resp)["applyToNeed"]["application"];
        assert_eq!(application["status"], "WAITLISTED", "{resp}");
        assert_eq!(application["waitlistPosition"], i + 1);
        assert_eq!(application["offerExpiresAt"], Value::Null);
        waiting.push(application["id"].as_str().expect("id").to_owned());
    }
    // Past the cap (as many again as its places): refused, with open needs the volunteer matches, like kinds first.
    let refused = apply(&app, &people[4], &need).await;
    assert_eq!(error_code(&refused), "NEED_FULL", "{refused}");
    let similar: Vec<&str> = refused["errors"][0]["extensions"]["similarNeeds"]
        .as_array()
        .expect("similar needs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(similar.first(), Some(&elsewhere.as_str()), "{refused}");
    assert!(!similar.contains(&need.as_str()), "never the full need itself");
    assert!(similar.len() <= 5);
    let _ = other_kind;

    // An accepted volunteer withdraws: the first in line is offered the place, held for 48 hours.
    let resp = app.gql_as(Some(&people[0].token), WITHDRAW, json!({ "id": accepted[0] })).await;
    assert_eq!(data(&resp)["withdrawApplication"]["application"]["status"], "WITHDRAWN");
    let offered = mine(&app, &people[2], &waiting[0]).await;
    assert_eq!(offered["status"], "INVITED", "{offered}");
    assert_eq!(offered["waitlistPosition"], Value::Null);
    assert_eq!(at(&offered["offerExpiresAt"]) - at(&offered["invitedAt"]), TimeDelta::hours(48));
    assert_eq!(mine(&app, &people[3], &waiting[1]).await["waitlistPosition"], 1, "moved up");
    // The offer holds the place: still full.
    assert_eq!(data(&app.gql(NEED, json!({ "id": need })).await)["need"]["placesTaken"], 2);
    // Someone else may not read where another stands.
    let peek = app.gql_as(Some(&people[4].token), MINE, json!({ "id": waiting[1] })).await;
    assert_eq!(data(&peek)["node"], Value::Null, "{peek}");

    // The offer is accepted: an ordinary accepted place.
    let answer =
        "mutation($id: ID!) { respondToInvitation(applicationId: $id, accept: true) { application { status } } }";
    let resp = app.gql_as(Some(&people[2].token), answer, json!({ "id": waiting[0] })).await;
    assert_eq!(data(&resp)["respondToInvitation"]["application"]["status"], "ACCEPTED", "{resp}");

    // Another leaves; the next is offered the place, lets it lapse, and it passes on (nobody left: it is free).
    app.gql_as(Some(&people[1].token), WITHDRAW, json!({ "id": accepted[1] })).await;
    let offered = mine(&app, &people[3], &waiting[1]).await;
    assert_eq!(offered["status"], "INVITED");
    let offer_for = TimeDelta::hours(48);
    let deadline = at(&offered["offerExpiresAt"]);
    let sweep = |when| domain::applications::waitlist::expire_offers(&app.db, when, offer_for);
    assert_eq!(sweep(deadline - TimeDelta::minutes(1)).await.expect("sweep"), 0, "not before its deadline");
    assert_eq!(sweep(deadline).await.expect("sweep"), 1);
    assert_eq!(sweep(deadline + TimeDelta::hours(1)).await.expect("sweep"), 0, "once");
    let lapsed = mine(&app, &people[3], &waiting[1]).await;
    assert_eq!(lapsed["status"], "EXPIRED");
    assert!(at(&lapsed["expiredAt"]) >= at(&lapsed["invitedAt"]));
    assert_eq!(
        data(&app.gql(NEED, json!({ "id": need })).await)["need"],
        json!({"status": "OPEN", "placesTaken": 1, "placesLeft": 1, "waitlistCap": 2})
    );
    // Someone whose offer lapsed may apply again: with a place free, an ordinary application.
    let again = apply(&app, &people[3], &need).await;
    assert_eq!(data(&again)["applyToNeed"]["application"]["status"], "APPLIED", "{again}");
    assert_eq!(data(&again)["applyToNeed"]["application"]["waitlistedAt"], Value::Null);
}

#[tokio::test]
async fn more_places_and_a_lower_cap_are_the_organisations_to_set() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Jobs Club").await;
    let need = app.open_need(&owner, &org, "CV helpers", json!({"volunteersNeeded": 1, "waitlistCap": 3})).await;
    let people = volunteers(&app, 0, 4).await;
    fill(&app, &owner, &need, &people[..1]).await;
    let mut waiting = Vec::new();
    for v in &people[1..4] {
        let resp = apply(&app, v, &need).await;
        waiting.push(data(&resp)["applyToNeed"]["application"]["id"].as_str().expect("id").to_owned());
    }
    // Two more places: the first two in line are offered them, the third waits on, now first.
    let update = "mutation($input: UpdateNeedInput!) { updateNeed(input: $input) { need { placesTaken status } } }";
    let resp = app.gql_as(Some(&owner.token), update, json!({"input": {"needId": need, "volunteersNeeded": 3}})).await;
    assert_eq!(data(&resp)["updateNeed"]["need"], json!({"placesTaken": 3, "status": "FILLED"}), "{resp}");
    assert_eq!(mine(&app, &people[1], &waiting[0]).await["status"], "INVITED");
    assert_eq!(mine(&app, &people[2], &waiting[1]).await["status"], "INVITED");
    assert_eq!(mine(&app, &people[3], &waiting[2]).await["waitlistPosition"], 1);

    // A volunteer leaves the waitlist; a cap out of range is refused with the field named; only members set it.
    let resp = app.gql_as(Some(&people[3].token), WITHDRAW, json!({ "id": waiting[2] })).await;
    assert_eq!(data(&resp)["withdrawApplication"]["application"]["status"], "WITHDRAWN");
    let resp = app.gql_as(Some(&owner.token), update, json!({"input": {"needId": need, "waitlistCap": -1}})).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "input.waitlistCap");
    let resp = app.gql_as(Some(&people[1].token), update, json!({"input": {"needId": need, "waitlistCap": 0}})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    // A cap of 0: no waitlist at all.
    let resp = app.gql_as(Some(&owner.token), update, json!({"input": {"needId": need, "waitlistCap": 0}})).await;
    assert!(resp.get("errors").is_none(), "{resp}");
    let late = volunteers(&app, 10, 1).await;
    assert_eq!(error_code(&apply(&app, &late[0], &need).await), "NEED_FULL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn places_freed_at_once_go_to_the_first_in_line_once_each() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Befriending Network").await;
    let need = app.open_need(&owner, &org, "Befrienders", json!({"volunteersNeeded": 6, "waitlistCap": 8})).await;
    let holders = volunteers(&app, 0, 6).await;
    let accepted = fill(&app, &owner, &need, &holders).await;
    let queue = volunteers(&app, 100, 6).await;
    let mut waiting = Vec::new();
    for v in &queue {
        let resp = apply(&app, v, &need).await;
        waiting.push(data(&resp)["applyToNeed"]["application"]["id"].as_str().expect("id").to_owned());
    }

    // Four leave at the same moment, and eight more apply at the same moment to a waitlist with two spaces.
    let late = volunteers(&app, 200, 8).await;
    let leaving = futures::future::join_all(
        holders[..4].iter().zip(&accepted).map(|(v, id)| app.gql_as(Some(&v.token), WITHDRAW, json!({ "id": id }))),
    );
    let arriving = futures::future::join_all(late.iter().map(|v| apply(&app, v, &need)));
    let (left, arrived) = tokio::join!(leaving, arriving);
    assert!(left.iter().all(|r| r.get("errors").is_none()), "{left:?}");
    let statuses: Vec<String> = arrived
        .iter()
        .map(|r| match r.get("errors") {
            None => data(r)["applyToNeed"]["application"]["status"].as_str().unwrap_or_default().to_owned(),
            Some(_) => error_code(r),
        })
        .collect();
    // The four places went to the four first in line: the waitlist then had 2 waiting and room for 6 more, so
    // every late applicant got in, wherever their application fell among the withdrawals; never past the cap.
    let waitlisted_late = statuses.iter().filter(|s| *s == "WAITLISTED").count();
    let applied_late = statuses.iter().filter(|s| *s == "APPLIED").count();
    let refused_late = statuses.iter().filter(|s| *s == "NEED_FULL").count();
    assert_eq!(waitlisted_late + applied_late + refused_late, 8, "{statuses:?}");
    assert_eq!(applied_late, 0, "the need never had a place that was not offered at once: {statuses:?}");

    for (i, (v, id)) in queue.iter().zip(&waiting).enumerate() {
        let got = mine(&app, v, id).await;
        if i < 4 {
            assert_eq!(got["status"], "INVITED", "place {i}: {got}");
        } else {
            assert_eq!(got["status"], "WAITLISTED", "place {i}: {got}");
            assert_eq!(got["waitlistPosition"], i - 3);
        }
    }
    // Exactly the places there are: two still accepted, four offers holding theirs.
    let need_now = data(&app.gql(NEED, json!({ "id": need })).await)["need"].clone();
    assert_eq!(need_now["placesTaken"], 6, "{need_now}");
    let counts = "query($id: ID!) { need(id: $id) {
        invited: applications(status: INVITED) { totalCount }
        waiting: applications(status: WAITLISTED) { totalCount } } }";
    let resp = app.gql_as(Some(&owner.token), counts, json!({ "id": need })).await;
    assert_eq!(data(&resp)["need"]["invited"]["totalCount"], 4, "{resp}");
    let waiting_now = data(&resp)["need"]["waiting"]["totalCount"].as_u64().expect("count");
    assert!(waiting_now <= 8, "never past the cap: {waiting_now}");
    assert_eq!(waiting_now, 2 + waitlisted_late as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waitlist_never_takes_more_than_its_cap_however_many_apply_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Youth Club").await;
    let need = app.open_need(&owner, &org, "Helpers", json!({"volunteersNeeded": 1, "waitlistCap": 3})).await;
    fill(&app, &owner, &need, &volunteers(&app, 0, 1).await).await;
    let crowd = volunteers(&app, 1, 10).await;
    let answers = futures::future::join_all(crowd.iter().map(|v| apply(&app, v, &need))).await;
    let waitlisted: Vec<i64> =
        answers.iter().filter_map(|r| r["data"]["applyToNeed"]["application"]["waitlistPosition"].as_i64()).collect();
    let refused = answers.iter().filter(|r| r.get("errors").is_some() && error_code(r) == "NEED_FULL").count();
    assert_eq!((waitlisted.len(), refused), (3, 7), "{answers:?}");
}

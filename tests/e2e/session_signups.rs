//! Sign-ups per session: a need taken session by session lets its accepted volunteers sign up for the sessions
//! they will come to, never past the session's capacity however many sign up at once; who comes is seen by the
//! need's organisation and by each attendee for themselves, nobody else.
use serde_json::{Value, json};

use crate::calendars::ymd;
use crate::helpers::{Session, TestApp, data, error_code};

const SESSIONS: &str = "query($id: ID!, $from: DateTime!, $to: DateTime!) { need(id: $id) { signupMode sessionCapacity
    sessions(from: $from, to: $to) { id startsAt capacity signedUp placesLeft attendees { volunteer { displayName } signedUpAt } } } }";
const SIGN_UP: &str =
    "mutation($id: ID!) { signUpForSession(input: {sessionId: $id}) { session { id signedUp placesLeft } } }";
const LEAVE: &str =
    "mutation($id: ID!) { cancelSessionSignup(input: {sessionId: $id}) { session { signedUp placesLeft } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";

struct Rota {
    app: TestApp,
    owner: Session,
    org: String,
    need: String,
    volunteers: Vec<Session>,
    applications: Vec<String>,
}

/// A youth club rota: six volunteers accepted, two a session, Tuesdays from today for eight weeks.
async fn rota() -> Rota {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Kirton Youth Club").await;
    let today = chrono::Utc::now().date_naive();
    let need = app
        .open_need(
            &owner,
            &org,
            "Youth club helpers",
            json!({ "volunteersNeeded": 6, "signupMode": "PER_SESSION", "sessionCapacity": 2,
                "schedule": { "weekly": [{ "day": "TUESDAY", "start": "19:00", "end": "21:00" }],
                    "startDate": ymd(today + chrono::Days::new(1)), "endDate": ymd(today + chrono::Days::new(56)) } }),
        )
        .await;
    let mut volunteers = Vec::new();
    let mut applications = Vec::new();
    for i in 0..6 {
        let (v, _) = app.volunteer(&format!("v{i}@example.org"), &format!("Helper {i}"), json!({})).await;
        let application = app.apply(&v, &need).await;
        data(&app.gql_as(Some(&owner.token), ACCEPT, json!({ "id": application })).await);
        volunteers.push(v);
        applications.push(application);
    }
    Rota { app, owner, org, need, volunteers, applications }
}

fn window() -> Value {
    let now = chrono::Utc::now();
    json!({ "from": now.to_rfc3339(), "to": (now + chrono::TimeDelta::days(60)).to_rfc3339() })
}

async fn sessions_as(app: &TestApp, token: Option<&str>, need: &str) -> Value {
    let mut vars = window();
    vars["id"] = json!(need);
    data(&app.gql_as(token, SESSIONS, vars).await)["need"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sessions_capacity_holds_however_many_sign_up_at_once() {
    let Rota { app, owner, volunteers, need, .. } = rota().await;
    let listed = sessions_as(&app, Some(&owner.token), &need).await;
    assert_eq!((listed["signupMode"].as_str(), listed["sessionCapacity"].as_i64()), (Some("PER_SESSION"), Some(2)));
    let first = listed["sessions"][0].clone();
    assert_eq!(
        (first["capacity"].as_i64(), first["signedUp"].as_i64(), first["placesLeft"].as_i64()),
        (Some(2), Some(0), Some(2))
    );

    // All six at once for the first session: two get in.
    let answers = futures::future::join_all(
        volunteers.iter().map(|v| app.gql_as(Some(&v.token), SIGN_UP, json!({ "id": first["id"] }))),
    )
    .await;
    let in_ = answers.iter().filter(|r| r.get("errors").is_none()).count();
    let full = answers.iter().filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT").count();
    assert_eq!((in_, full), (2, 4), "{answers:?}");
    let listed = sessions_as(&app, Some(&owner.token), &need).await;
    let session = &listed["sessions"][0];
    assert_eq!((session["signedUp"].as_i64(), session["placesLeft"].as_i64()), (Some(2), Some(0)));
    assert_eq!(session["attendees"].as_array().map(Vec::len), Some(2), "the organisation sees who comes");
    assert_eq!(listed["sessions"][1]["signedUp"], 0, "the next session is untouched");
}

#[tokio::test]
async fn signing_up_is_for_accepted_volunteers_and_coming_sessions_and_who_comes_is_private() {
    let Rota { app, owner, org, need, volunteers, applications } = rota().await;
    let listed = sessions_as(&app, Some(&owner.token), &need).await;
    let (first, second) = (listed["sessions"][0]["id"].clone(), listed["sessions"][1]["id"].clone());

    let resp = app.gql_as(Some(&volunteers[0].token), SIGN_UP, json!({ "id": first })).await;
    assert_eq!(data(&resp)["signUpForSession"]["session"], json!({"id": first, "signedUp": 1, "placesLeft": 1}));
    let again = app.gql_as(Some(&volunteers[0].token), SIGN_UP, json!({ "id": first })).await;
    assert_eq!(error_code(&again), "CONFLICT", "once");
    data(&app.gql_as(Some(&volunteers[1].token), SIGN_UP, json!({ "id": first })).await);
    data(&app.gql_as(Some(&volunteers[1].token), SIGN_UP, json!({ "id": second })).await);

    // Someone not accepted on the need may not sign up; nor for a need whose volunteers come to everything.
    let (outsider, _) = app.volunteer("outsider@example.org", "Outsider", json!({})).await;
    assert_eq!(error_code(&app.gql_as(Some(&outsider.token), SIGN_UP, json!({ "id": second })).await), "FORBIDDEN");
    let ongoing = app.open_need(&owner, &org, "Conversation club", json!({})).await;
    let ongoing_sessions = sessions_as(&app, Some(&owner.token), &ongoing).await;
    let resp =
        app.gql_as(Some(&volunteers[0].token), SIGN_UP, json!({ "id": ongoing_sessions["sessions"][0]["id"] })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert_eq!(ongoing_sessions["sessions"][0]["capacity"], Value::Null);
    // Not a session id, or not one of the need's sessions: the field is named.
    for wrong in [json!(need), json!("U2Vzc2lvbjp4OjE")] {
        let resp = app.gql_as(Some(&volunteers[0].token), SIGN_UP, json!({ "id": wrong })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT");
        assert_eq!(resp["errors"][0]["extensions"]["field"], "input.sessionId");
    }

    // Who comes: the organisation sees both; each attendee only themselves; strangers and the public nobody.
    let names = |v: &Value| -> Vec<String> {
        v["sessions"][0]["attendees"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["volunteer"]["displayName"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(&sessions_as(&app, Some(&owner.token), &need).await), ["Helper 0", "Helper 1"]);
    assert_eq!(names(&sessions_as(&app, Some(&volunteers[0].token), &need).await), ["Helper 0"]);
    assert!(names(&sessions_as(&app, Some(&outsider.token), &need).await).is_empty());
    let public = sessions_as(&app, None, &need).await;
    assert!(names(&public).is_empty());
    assert_eq!(public["sessions"][0]["signedUp"], 2, "how many is public; who is not");

    // A cancelled session takes no sign-ups; taking one back frees the place.
    let cancel = "mutation($input: CancelSessionInput!) { cancelSession(input: $input) { session { status } } }";
    let starts = sessions_as(&app, Some(&owner.token), &need).await["sessions"][2]["startsAt"].clone();
    data(
        &app.gql_as(
            Some(&owner.token),
            cancel,
            json!({"input": {"needId": need, "startsAt": starts, "reason": "Hall booked"}}),
        )
        .await,
    );
    let third = sessions_as(&app, Some(&owner.token), &need).await["sessions"][2]["id"].clone();
    assert_eq!(error_code(&app.gql_as(Some(&volunteers[2].token), SIGN_UP, json!({ "id": third })).await), "CONFLICT");
    let resp = app.gql_as(Some(&volunteers[0].token), LEAVE, json!({ "id": first })).await;
    assert_eq!(data(&resp)["cancelSessionSignup"]["session"], json!({"signedUp": 1, "placesLeft": 1}));
    assert_eq!(error_code(&app.gql_as(Some(&volunteers[0].token), LEAVE, json!({ "id": first })).await), "CONFLICT");

    // The volunteer's upcoming sessions are the ones they signed up for; withdrawing drops their sign-ups.
    let upcoming = "{ me { upcomingSessions(first: 10) { id } } }";
    let mine =
        data(&app.gql_as(Some(&volunteers[1].token), upcoming, json!({})).await)["me"]["upcomingSessions"].clone();
    assert_eq!(mine, json!([{ "id": first }, { "id": second }]));
    let withdraw = "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }";
    data(&app.gql_as(Some(&volunteers[1].token), withdraw, json!({ "id": applications[1] })).await);
    let listed = sessions_as(&app, Some(&owner.token), &need).await;
    assert_eq!(
        (listed["sessions"][0]["signedUp"].as_i64(), listed["sessions"][1]["signedUp"].as_i64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn an_ongoing_needs_sessions_are_attended_by_its_accepted_volunteers_in_the_same_statements_for_two_needs_as_four()
 {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let query = "query($o: ID!, $from: DateTime!, $to: DateTime!) { needs(filter: {organisationId: $o}, first: 20) {
        nodes { sessions(from: $from, to: $to) { signedUp placesLeft attendees { volunteer { displayName } } } } } }";
    let mut vars = window();
    vars["o"] = json!(org);
    let mut counts = Vec::new();
    let mut made = 0;
    for n in [2, 4] {
        while made < n {
            let need = app.open_need(&owner, &org, "Conversation club", json!({})).await;
            let (v, _) = app.volunteer(&format!("v{made}@example.org"), &format!("Volunteer {made}"), json!({})).await;
            let application = app.apply(&v, &need).await;
            data(&app.gql_as(Some(&owner.token), ACCEPT, json!({ "id": application })).await);
            made += 1;
        }
        app.reset_statements();
        let resp = app.gql_as(Some(&owner.token), query, vars.clone()).await;
        let nodes = data(&resp)["needs"]["nodes"].as_array().cloned().unwrap_or_default();
        assert_eq!(nodes.len(), n);
        assert!(
            nodes.iter().all(|n| n["sessions"][0]["signedUp"] == 1
                && n["sessions"][0]["placesLeft"].is_null()
                && n["sessions"][0]["attendees"].as_array().map(Vec::len) == Some(1)),
            "{nodes:?}"
        );
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "no statement per need or session");
}

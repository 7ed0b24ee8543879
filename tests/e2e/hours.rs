//! Attendance and hours through GraphQL: a volunteer checks in and out of today's session, logs hours, the
//! organisation approves and rejects them, and the totals show where they should and nowhere else.
use serde_json::{Value, json};

use crate::calendars::ymd;
use crate::helpers::{TestApp, data, error_code};

const CHECK_IN: &str =
    "mutation($id: ID!) { checkIn(input: {sessionId: $id}) { attendance { status checkedInAt } session { id } } }";
const CHECK_OUT: &str =
    "mutation($id: ID!) { checkOut(input: {sessionId: $id}) { attendance { checkedOutAt } hoursEntry { minutes } } }";
const LOG: &str = "mutation($input: LogHoursInput!) { logHours(input: $input) { hoursEntry { id minutes status source date note } } }";
const APPROVE: &str =
    "mutation($id: ID!) { approveHours(input: {hoursEntryId: $id}) { hoursEntry { status decidedAt } } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { rejectHours(input: {hoursEntryId: $id, reason: $reason}) { hoursEntry { status rejectionReason } } }";
const MY_HOURS: &str = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { hours {
    approvedMinutes approvedHours pendingMinutes byMonth { month minutes } byNeed { need { title } minutes }
    byOrganisation { organisation { name } minutes } entries { minutes status rejectionReason } } } } }";
const IMPACT: &str = "query($id: ID!, $from: NaiveDate!, $to: NaiveDate!) { organisation(id: $id) { impact(from: $from, to: $to) {
    approvedMinutes approvedHours activeVolunteers sessionsHeld byMonth { month minutes } byNeed { need { title } minutes } } } }";
const QUEUE: &str = "query($id: ID!) { organisation(id: $id) { hoursEntries(status: PENDING) { id minutes volunteer { displayName } } } }";

fn entry_id(resp: &Value) -> String {
    data(resp)["logHours"]["hoursEntry"]["id"].as_str().expect("an entry id").to_owned()
}

#[tokio::test]
async fn a_volunteers_hours_from_check_in_to_approved_totals() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@jobsclub.example", "Lead").await;
    let org = app.organisation(&owner, "Roehampton Jobs Club").await;
    let today = domain::hours::service::today();
    // A one-off need today: one session, the whole day, so check-in is open whenever the test runs.
    let need = app
        .open_need(
            &owner,
            &org,
            "CV clinic",
            json!({"schedule": {"weekly": [], "startDate": ymd(today), "endDate": ymd(today)}}),
        )
        .await;
    let (volunteer, profile) = app.volunteer("kwame@volunteer.example", "Kwame", json!({})).await;
    let application = app.apply(&volunteer, &need).await;
    let sessions =
        "query($id: ID!, $from: DateTime!, $to: DateTime!) { need(id: $id) { sessions(from: $from, to: $to) { id } } }";
    let window = json!({"id": need, "from": format!("{}T00:00:00Z", ymd(today - chrono::TimeDelta::days(1))), "to": format!("{}T00:00:00Z", ymd(today + chrono::TimeDelta::days(2)))});
    let session = data(&app.gql(sessions, window).await)["need"]["sessions"][0]["id"].clone();

    // Applied is not enough to check in.
    assert_eq!(error_code(&app.gql_as(Some(&volunteer.token), CHECK_IN, json!({"id": session})).await), "FORBIDDEN");
    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    data(&app.gql_as(Some(&owner.token), accept, json!({"id": application})).await);
    let resp = app.gql_as(Some(&volunteer.token), CHECK_IN, json!({"id": session})).await;
    assert_eq!(data(&resp)["checkIn"]["attendance"]["status"], "ATTENDED", "{resp}");
    assert_eq!(data(&resp)["checkIn"]["session"]["id"], session);
    assert_eq!(error_code(&app.gql_as(Some(&volunteer.token), CHECK_IN, json!({"id": session})).await), "CONFLICT");
    let resp = app.gql_as(Some(&volunteer.token), CHECK_OUT, json!({"id": session})).await;
    assert!(data(&resp)["checkOut"]["attendance"]["checkedOutAt"].is_string(), "{resp}");
    // Someone else cannot check out of it.
    let (stranger, _) = app.volunteer("nosy@volunteer.example", "Nosy", json!({})).await;
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CHECK_OUT, json!({"id": session})).await), "FORBIDDEN");
    // The coordinator sees the attendance on the session.
    let attendees = "query($id: ID!, $from: DateTime!, $to: DateTime!) { need(id: $id) { sessions(from: $from, to: $to) { attendees { volunteer { displayName } attendance { status checkedInAt checkedOutAt } } } } }";
    let window = json!({"id": need, "from": format!("{}T00:00:00Z", ymd(today - chrono::TimeDelta::days(1))), "to": format!("{}T00:00:00Z", ymd(today + chrono::TimeDelta::days(2)))});
    let resp = app.gql_as(Some(&owner.token), attendees, window).await;
    let seen = &data(&resp)["need"]["sessions"][0]["attendees"][0];
    assert_eq!(
        (seen["volunteer"]["displayName"].as_str(), seen["attendance"]["status"].as_str()),
        (Some("Kwame"), Some("ATTENDED"))
    );

    // Logged hours wait for the organisation, which approves one and rejects another.
    let log = |minutes: i32, note: &str| json!({"input": {"applicationId": application, "date": ymd(today), "minutes": minutes, "note": note}});
    let first = app.gql_as(Some(&volunteer.token), LOG, log(150, "CV workshop")).await;
    assert_eq!(data(&first)["logHours"]["hoursEntry"]["status"], "PENDING", "{first}");
    let second = app.gql_as(Some(&volunteer.token), LOG, log(45, "Phone calls")).await;
    let bad = app.gql_as(Some(&volunteer.token), LOG, log(0, "")).await;
    assert_eq!(
        (error_code(&bad).as_str(), bad["errors"][0]["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("input.minutes"))
    );
    let queue = app.gql_as(Some(&owner.token), QUEUE, json!({"id": org})).await;
    assert_eq!(data(&queue)["organisation"]["hoursEntries"].as_array().map(Vec::len), Some(2), "{queue}");
    // The queue is the organisation's: the volunteer and strangers are refused.
    assert_eq!(error_code(&app.gql_as(Some(&volunteer.token), QUEUE, json!({"id": org})).await), "FORBIDDEN");
    // Only the organisation decides.
    assert_eq!(
        error_code(&app.gql_as(Some(&volunteer.token), APPROVE, json!({"id": entry_id(&first)})).await),
        "FORBIDDEN"
    );
    let resp = app.gql_as(Some(&owner.token), APPROVE, json!({"id": entry_id(&first)})).await;
    assert_eq!(data(&resp)["approveHours"]["hoursEntry"]["status"], "APPROVED");
    let resp = app
        .gql_as(Some(&owner.token), REJECT, json!({"id": entry_id(&second), "reason": "Another project's calls"}))
        .await;
    assert_eq!(data(&resp)["rejectHours"]["hoursEntry"]["rejectionReason"], "Another project's calls");
    assert_eq!(
        error_code(&app.gql_as(Some(&owner.token), APPROVE, json!({"id": entry_id(&second)})).await),
        "CONFLICT"
    );

    // The volunteer's totals: approved only (the check-out's proposal, if any minutes, still pending).
    let resp = app.gql_as(Some(&volunteer.token), MY_HOURS, json!({"id": profile})).await;
    let hours = &data(&resp)["node"]["hours"];
    assert_eq!(hours["approvedMinutes"], 150, "{resp}");
    assert_eq!(hours["approvedHours"], 2.5);
    assert_eq!(hours["byNeed"], json!([{"need": {"title": "CV clinic"}, "minutes": 150}]));
    assert_eq!(hours["byOrganisation"], json!([{"organisation": {"name": "Roehampton Jobs Club"}, "minutes": 150}]));
    assert_eq!(hours["byMonth"][0]["month"], today.format("%Y-%m").to_string());
    // Nobody else reads them, not even the organisation (its view is the queue and the impact).
    let resp = app.gql_as(Some(&owner.token), MY_HOURS, json!({"id": profile})).await;
    assert!(
        resp.get("errors").is_some() || data(&resp)["node"].is_null() || data(&resp)["node"]["hours"].is_null(),
        "{resp}"
    );

    // The organisation's impact is public totals: 2.5 hours, one volunteer, one session held.
    let span = json!({"id": org, "from": ymd(today - chrono::TimeDelta::days(30)), "to": ymd(today)});
    let resp = app.gql(IMPACT, span).await;
    let impact = &data(&resp)["organisation"]["impact"];
    assert_eq!(
        (impact["approvedMinutes"].as_i64(), impact["activeVolunteers"].as_i64(), impact["sessionsHeld"].as_i64()),
        (Some(150), Some(1), Some(1)),
        "{resp}"
    );
    let wrong =
        app.gql(IMPACT, json!({"id": org, "from": ymd(today), "to": ymd(today - chrono::TimeDelta::days(1))})).await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    // Under four weeks it could show one volunteer's day: only for the organisation's members.
    let one_day = json!({"id": org, "from": ymd(today), "to": ymd(today)});
    assert_eq!(error_code(&app.gql(IMPACT, one_day.clone()).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql_as(Some(&volunteer.token), IMPACT, one_day.clone()).await), "FORBIDDEN");
    let resp = app.gql_as(Some(&owner.token), IMPACT, one_day).await;
    assert_eq!(data(&resp)["organisation"]["impact"]["approvedMinutes"], 150);
}

#[tokio::test]
async fn a_statement_shows_only_what_the_volunteer_chose_until_they_revoke_it() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@jobsclub.example", "Lead").await;
    let org = app.organisation(&owner, "Roehampton Jobs Club").await;
    let today = domain::hours::service::today();
    let cv = app.open_need(&owner, &org, "CV <b>clinic</b> & interview practice", json!({})).await;
    let private = app.open_need(&owner, &org, "Food bank deliveries", json!({})).await;
    let (volunteer, profile) = app.volunteer("kwame@volunteer.example", "Kwame", json!({})).await;
    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    let mut applications = Vec::new();
    for need in [&cv, &private] {
        let application = app.apply(&volunteer, need).await;
        data(&app.gql_as(Some(&owner.token), accept, json!({"id": application})).await);
        applications.push(application);
    }
    for (application, minutes, note) in
        [(&applications[0], 150, "Secret note about a client"), (&applications[1], 90, "")]
    {
        let logged = app
            .gql_as(
                Some(&volunteer.token),
                LOG,
                json!({"input": {"applicationId": application, "date": ymd(today), "minutes": minutes, "note": note}}),
            )
            .await;
        data(&app.gql_as(Some(&owner.token), APPROVE, json!({"id": entry_id(&logged)})).await);
    }

    let create = "mutation($input: CreateVolunteeringStatementInput!) { createVolunteeringStatement(input: $input) {
        statement { id url name totalMinutes totalHours lines { organisation role minutes hours } revokedAt } } }";
    let span = |extra: Value| {
        let mut input = json!({"from": ymd(today - chrono::TimeDelta::days(30)), "to": ymd(today)});
        crate::helpers::merge(&mut input, &extra);
        json!({"input": input})
    };
    // Only the CV clinic, under the name Kwame chose.
    let resp = app.gql_as(Some(&volunteer.token), create, span(json!({"needIds": [cv], "name": "Kwame Mensah"}))).await;
    let statement = data(&resp)["createVolunteeringStatement"]["statement"].clone();
    assert_eq!(
        (statement["totalMinutes"].as_i64(), statement["totalHours"].as_f64()),
        (Some(150), Some(2.5)),
        "{resp}"
    );
    assert_eq!(statement["lines"].as_array().map(Vec::len), Some(1));
    let url = statement["url"].as_str().expect("a url").to_owned();
    let code = url.rsplit('/').next().expect("a code").to_owned();
    assert_eq!(code.len(), 43, "32 random bytes");

    let page = crate::helpers::get(&app, &format!("/statements/{code}"), None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Kwame Mensah") && page.body.contains("Roehampton Jobs Club") && page.body.contains("2.5")
    );
    // Escaped, however the template writes its entities.
    assert!(page.body.contains("CV &#60;b&#62;clinic&#60;/b&#62; &#38; interview practice"), "escaped: {}", page.body);
    for absent in ["Food bank", "kwame@volunteer.example", "SW15", "Secret note", "<b>clinic"] {
        assert!(!page.body.contains(absent), "{absent} is not on the statement");
    }
    let cache = crate::helpers::header_of(&page, axum::http::header::CACHE_CONTROL);
    assert_eq!(cache, "no-store");
    assert_eq!(crate::helpers::header_of(&page, axum::http::header::REFERRER_POLICY), "no-referrer");

    // Denials: a need without approved hours in the span, a span with none, someone else revoking it.
    let resp = app.gql_as(Some(&volunteer.token), create, span(json!({"needIds": [org]}))).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let empty = json!({"input": {"from": ymd(today - chrono::TimeDelta::days(400)), "to": ymd(today - chrono::TimeDelta::days(300))}});
    assert_eq!(error_code(&app.gql_as(Some(&volunteer.token), create, empty).await), "BAD_USER_INPUT");
    let revoke =
        "mutation($id: ID!) { revokeVolunteeringStatement(input: {statementId: $id}) { statement { revokedAt } } }";
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), revoke, json!({"id": statement["id"]})).await), "NOT_FOUND");
    // Listed for the volunteer alone.
    let mine = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { statements { url } } } }";
    let listed = app.gql_as(Some(&volunteer.token), mine, json!({"id": profile})).await;
    assert_eq!(data(&listed)["node"]["statements"][0]["url"], url.as_str());
    let peek = app.gql_as(Some(&owner.token), mine, json!({"id": profile})).await;
    assert!(peek.get("errors").is_some() || data(&peek)["node"]["statements"].is_null(), "{peek}");

    // Revoked: the page says so, 410; an unknown or malformed code is not found.
    let resp = app.gql_as(Some(&volunteer.token), revoke, json!({"id": statement["id"]})).await;
    assert!(data(&resp)["revokeVolunteeringStatement"]["statement"]["revokedAt"].is_string());
    let gone = crate::helpers::get(&app, &format!("/statements/{code}"), None).await;
    assert_eq!(gone.status, 410);
    assert!(gone.body.contains("withdrawn") && !gone.body.contains("Kwame Mensah"));
    let other_last = if code.ends_with('A') { 'B' } else { 'A' };
    for wrong in ["x".repeat(43), "short".to_owned(), format!("{}{other_last}", &code[..42])] {
        let missing = crate::helpers::get(&app, &format!("/statements/{wrong}"), None).await;
        assert_eq!(missing.status, 404, "{wrong}");
    }
}

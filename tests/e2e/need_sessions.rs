//! A need's sessions: computed from its weekly windows on the wall clock in Europe/London across both clock
//! changes; cancelled by its coordinators (and restored), still listed as cancelled and marked in its calendar, never
//! silently gone; and a volunteer's upcoming sessions across the needs they are accepted on.
use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use serde_json::{Value, json};

use crate::calendars::{Year, expand, occurrences, ymd};
use crate::helpers::{TestApp, data, error_code};

const SESSIONS: &str = "query($id: ID!, $from: DateTime!, $to: DateTime!) { need(id: $id) { sessions(from: $from, to: $to) { id startsAt endsAt status cancellationReason need { title } } } }";
const CANCEL: &str = "mutation($input: CancelSessionInput!) { cancelSession(input: $input) { session { id startsAt status cancellationReason } } }";
const RESTORE: &str = "mutation($input: RestoreSessionInput!) { restoreSession(input: $input) { session { id status cancellationReason } } }";

fn midnight(date: NaiveDate) -> String {
    format!("{}T00:00:00Z", ymd(date))
}

async fn sessions(app: &TestApp, need: &str, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
    let resp = app.gql(SESSIONS, json!({ "id": need, "from": midnight(from), "to": midnight(to) })).await;
    data(&resp)["need"]["sessions"].as_array().cloned().unwrap_or_default()
}

/// A session's start on the wall clock in London.
fn london(at: &Value) -> chrono::NaiveDateTime {
    let at: chrono::DateTime<chrono::Utc> = at.as_str().and_then(|s| s.parse().ok()).expect("a time");
    at.with_timezone(&domain::values::schedule::TIME_ZONE).naive_local()
}

#[tokio::test]
async fn sessions_keep_their_wall_clock_time_and_a_cancelled_one_stays_listed_and_in_the_calendar() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let stranger = app.register("stranger@example.org", "Stranger").await;
    let year = Year::next();
    let (first, last) = (year.on_or_after(1, 5, Weekday::Tue), year.on_or_after(12, 15, Weekday::Tue));
    let need = app
        .open_need(
            &owner,
            &org,
            "Conversation club",
            json!({ "schedule": { "weekly": [{ "day": "TUESDAY", "start": "19:00", "end": "21:00" }],
                "startDate": ymd(first), "endDate": ymd(last) } }),
        )
        .await;

    // Both clock changes: every session at 19:00–21:00 in London, so an hour apart in UTC across each change.
    for month in [3, 10] {
        let change = year.last_sunday(month);
        let listed = sessions(&app, &need, change - chrono::Days::new(14), change + chrono::Days::new(14)).await;
        assert_eq!(listed.len(), 4, "{listed:?}");
        let utc_hours: Vec<u32> = listed
            .iter()
            .map(|s| {
                s["startsAt"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                    .expect("a time")
                    .hour()
            })
            .collect();
        assert_eq!(utc_hours, if month == 3 { [19, 19, 18, 18] } else { [18, 18, 19, 19] });
        for s in &listed {
            let (starts, ends) = (london(&s["startsAt"]), london(&s["endsAt"]));
            assert_eq!((starts.weekday(), starts.hour(), ends.hour()), (Weekday::Tue, 19, 21), "{s}");
            assert_eq!((&s["status"], &s["need"]["title"]), (&json!("SCHEDULED"), &json!("Conversation club")));
        }
    }
    // None before the start date or after the end date; none past `to`.
    let edges = sessions(&app, &need, year.day(1, 1), Year(year.0 + 1).day(1, 1)).await;
    assert_eq!(london(&edges[0]["startsAt"]).date(), first);
    assert_eq!(london(&edges[edges.len() - 1]["startsAt"]).date(), last);
    assert_eq!(edges.len(), ((last - first).num_days() / 7 + 1) as usize);
    let resp = app
        .gql(
            SESSIONS,
            json!({ "id": need, "from": midnight(year.day(1, 1)), "to": midnight(Year(year.0 + 2).day(1, 2)) }),
        )
        .await;
    assert_eq!(resp["errors"][0]["extensions"]["field"], "to", "at most a year at once");

    // The coordinators call one off, with a reason; it stays listed, as cancelled, with the same id.
    let june = sessions(&app, &need, year.day(6, 1), year.day(7, 1)).await;
    let target = june[1].clone();
    let input = |extra: Value| {
        let mut input =
            json!({ "needId": need, "startsAt": target["startsAt"], "reason": "The hall is booked for a wedding" });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CANCEL, input(json!({}))).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql(CANCEL, input(json!({}))).await), "UNAUTHENTICATED");
    let off_by_an_hour = format!("{}T20:00:00+01:00", &target["startsAt"].as_str().expect("a start")[..10]);
    for (extra, field) in [
        (json!({ "startsAt": off_by_an_hour }), "input.startsAt"),
        (json!({ "startsAt": "2020-01-07T19:00:00Z" }), "input.startsAt"),
        (json!({ "reason": "" }), "input.reason"),
    ] {
        let resp = app.gql_as(Some(&owner.token), CANCEL, input(extra)).await;
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    let cancelled = app.gql_as(Some(&owner.token), CANCEL, input(json!({}))).await;
    let session = &data(&cancelled)["cancelSession"]["session"];
    assert_eq!((&session["id"], &session["status"]), (&target["id"], &json!("CANCELLED")));
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), CANCEL, input(json!({}))).await), "CONFLICT");
    let june_again = sessions(&app, &need, year.day(6, 1), year.day(7, 1)).await;
    assert_eq!(june_again.len(), june.len(), "a cancelled session is never silently gone");
    assert_eq!(
        (&june_again[1]["status"], &june_again[1]["cancellationReason"]),
        (&json!("CANCELLED"), &json!("The hall is booked for a wedding"))
    );
    assert_eq!(june_again[0]["status"], "SCHEDULED");

    // The calendar marks it with an EXDATE on the window's event, which the validator's expansion honours.
    let cancelled_day = london(&target["startsAt"]).date();
    let body = crate::helpers::get(&app, &format!("/needs/{need}/calendar.ics"), None).await.body;
    let exdate = format!("EXDATE;TZID=Europe/London:{}T190000", cancelled_day.format("%Y%m%d"));
    assert!(body.replace("\r\n ", "").contains(&exdate), "{body}");
    let expanded = occurrences(&expand(&body, &ymd(year.day(6, 1)), &ymd(year.day(7, 1))));
    let days: Vec<&str> = expanded.iter().filter_map(|o| o["start"].as_str()).map(|s| &s[..10]).collect();
    assert_eq!(days.len(), june.len() - 1, "{expanded:?}");
    assert!(!days.contains(&ymd(cancelled_day).as_str()));

    // Restored: scheduled again, and gone from the calendar's exceptions.
    let by = json!({ "input": { "needId": need, "startsAt": target["startsAt"] } });
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), RESTORE, by.clone()).await), "FORBIDDEN");
    let restored = app.gql_as(Some(&owner.token), RESTORE, by.clone()).await;
    assert_eq!(data(&restored)["restoreSession"]["session"]["status"], "SCHEDULED");
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), RESTORE, by).await), "CONFLICT");
    let body = crate::helpers::get(&app, &format!("/needs/{need}/calendar.ics"), None).await.body;
    assert!(!body.contains("EXDATE"), "{body}");
}

#[tokio::test]
async fn a_volunteers_upcoming_sessions_are_their_own_and_show_cancellations() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let today = chrono::Utc::now().date_naive();
    let weekly = |day: &str, start: &str, end: &str| json!({ "schedule": { "weekly": [{ "day": day, "start": start, "end": end }], "startDate": ymd(today) } });
    let tuesdays = app.open_need(&owner, &org, "Tuesday conversation club", weekly("TUESDAY", "19:00", "21:00")).await;
    let saturdays = app.open_need(&owner, &org, "Saturday homework club", weekly("SATURDAY", "10:00", "12:00")).await;
    let other = app.open_need(&owner, &org, "Not accepted here", weekly("WEDNESDAY", "10:00", "12:00")).await;
    let (volunteer, _) = app.volunteer("vol@example.org", "Volunteer", json!({})).await;
    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    for need in [&tuesdays, &saturdays] {
        let application = app.apply(&volunteer, need).await;
        data(&app.gql_as(Some(&owner.token), accept, json!({ "id": application })).await);
    }
    app.apply(&volunteer, &other).await;

    let upcoming = "query($first: Int) { me { upcomingSessions(first: $first) { startsAt status cancellationReason need { title } } } }";
    let resp = app.gql_as(Some(&volunteer.token), upcoming, json!({ "first": 4 })).await;
    let listed = data(&resp)["me"]["upcomingSessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 4);
    let titles: Vec<&str> = listed.iter().filter_map(|s| s["need"]["title"].as_str()).collect();
    assert!(!titles.contains(&"Not accepted here"), "applied is not accepted: {titles:?}");
    // Alternating clubs, by start.
    let starts: Vec<chrono::NaiveDateTime> = listed.iter().map(|s| london(&s["startsAt"])).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert!(titles.contains(&"Tuesday conversation club") && titles.contains(&"Saturday homework club"));

    // A cancelled session shows as cancelled, with its reason, where the volunteer looks.
    let first = &listed[0];
    let need = if first["need"]["title"] == "Tuesday conversation club" { &tuesdays } else { &saturdays };
    let input = json!({ "input": { "needId": need, "startsAt": first["startsAt"], "reason": "Heating broken" } });
    data(&app.gql_as(Some(&owner.token), CANCEL, input).await);
    let resp = app.gql_as(Some(&volunteer.token), upcoming, json!({ "first": 1 })).await;
    assert_eq!(
        data(&resp)["me"]["upcomingSessions"][0],
        json!({ "startsAt": first["startsAt"], "status": "CANCELLED", "cancellationReason": "Heating broken", "need": first["need"] })
    );

    // Nobody else's: the owner has none, and strangers reach no one's.
    let resp = app.gql_as(Some(&owner.token), upcoming, json!({})).await;
    assert_eq!(data(&resp)["me"]["upcomingSessions"], json!([]));
    assert_eq!(data(&app.gql(upcoming, json!({})).await)["me"], Value::Null);
}

#[tokio::test]
async fn a_one_off_need_is_one_session_and_cancelling_it_cancels_its_calendar_event() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let day = Year::next().on_or_after(5, 1, Weekday::Sat);
    let fair = app
        .open_need(
            &owner,
            &org,
            "Summer fair",
            json!({ "schedule": { "weekly": [], "startDate": ymd(day), "endDate": ymd(day) } }),
        )
        .await;
    let listed = sessions(&app, &fair, day - chrono::Days::new(7), day + chrono::Days::new(7)).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (starts, ends) = (london(&listed[0]["startsAt"]), london(&listed[0]["endsAt"]));
    assert_eq!((starts.date(), starts.hour(), ends.date()), (day, 0, day + chrono::Days::new(1)), "the whole day");
    let input = json!({ "input": { "needId": fair, "startsAt": listed[0]["startsAt"], "reason": "Rained off" } });
    data(&app.gql_as(Some(&owner.token), CANCEL, input).await);
    let body = crate::helpers::get(&app, &format!("/needs/{fair}/calendar.ics"), None).await.body;
    assert!(body.contains("STATUS:CANCELLED"), "{body}");
}

#[tokio::test]
async fn listing_needs_with_their_sessions_takes_the_same_statements_for_two_as_for_five() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let year = Year::next();
    let query = "query($o: ID!, $from: DateTime!, $to: DateTime!) { needs(filter: {organisationId: $o}, first: 20) { nodes { title sessions(from: $from, to: $to) { startsAt status } } } }";
    let (from, to) = (midnight(year.day(3, 1)), midnight(year.day(4, 1)));
    let mut counts = Vec::new();
    for n in [2, 5] {
        while app.gql(query, json!({ "o": org, "from": from, "to": to })).await["data"]["needs"]["nodes"]
            .as_array()
            .map_or(0, Vec::len)
            < n
        {
            let need = app.open_need(&owner, &org, "Conversation club", json!({})).await;
            let first = sessions(&app, &need, year.day(3, 1), year.day(4, 1)).await;
            let input =
                json!({ "input": { "needId": need, "startsAt": first[0]["startsAt"], "reason": "Hall closed" } });
            data(&app.gql_as(Some(&owner.token), CANCEL, input).await);
        }
        app.reset_statements();
        let listed = app.gql(query, json!({ "o": org, "from": from, "to": to })).await;
        let nodes = data(&listed)["needs"]["nodes"].as_array().cloned().unwrap_or_default();
        assert!(
            nodes
                .iter()
                .all(|n| n["sessions"][0]["status"] == "CANCELLED" && n["sessions"][1]["status"] == "SCHEDULED")
        );
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "no statement per need");
}

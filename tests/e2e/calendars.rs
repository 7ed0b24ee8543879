//! Calendars: a need's sessions and a volunteer's private feed as iCalendar, read back by PyPI's `icalendar` and
//! expanded by `recurring-ical-events` across the UK's clock changes; who may see a feed's address, and how it
//! stops working.
use axum::http::header;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde_json::{Value, json};

use crate::helpers::{Got, Session, TestApp, data, error_code, header_of};
use crate::standards;

const PUBLIC: &str = "https://pitchin.example";

async fn get(app: &TestApp, path: &str) -> Got {
    crate::helpers::get(app, path, None).await
}

/// Dates in next year, so that no need here has ended whenever the tests run, found by weekday as each test needs.
pub(crate) struct Year(pub i32);

impl Year {
    pub(crate) fn next() -> Self {
        Self(chrono::Utc::now().year() + 1)
    }

    pub(crate) fn day(&self, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, month, day).expect("a date")
    }

    /// The first `weekday` on or after `month`/`day`.
    pub(crate) fn on_or_after(&self, month: u32, day: u32, weekday: Weekday) -> NaiveDate {
        let date = self.day(month, day);
        let ahead = (7 + weekday.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
        date + Days::new(u64::from(ahead))
    }

    /// The last Sunday of a month: the UK's clocks change on March's and October's.
    pub(crate) fn last_sunday(&self, month: u32) -> NaiveDate {
        let last = NaiveDate::from_ymd_opt(self.0, month + 1, 1).expect("a date") - Days::new(1);
        last - Days::new(u64::from(last.weekday().num_days_from_sunday()))
    }
}

pub(crate) fn ymd(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn plus(date: NaiveDate, days: i64) -> String {
    ymd(date + chrono::TimeDelta::days(days))
}

/// The path of a URL under `PUBLIC`.
fn path_of(url: &str) -> &str {
    url.strip_prefix(PUBLIC).expect("an address under the public URL")
}

/// RFC 5545 §3.1: every line ends with CRLF and is at most 75 octets; longer ones continue on lines that start
/// with a space.
fn assert_rfc5545_lines(body: &str) {
    assert!(body.ends_with("\r\n"), "the last line ends with CRLF");
    assert!(!body.replace("\r\n", "").contains('\n'), "no bare line feeds");
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "a line over 75 octets: {line:?}");
    }
}

/// What the validators make of a calendar, between two dates.
pub(crate) fn expand(body: &str, from: &str, to: &str) -> Value {
    let path = standards::file("calendar.ics", body);
    standards::python("ics_occurrences.py", &[path.to_str().expect("a path"), from, to])
}

pub(crate) fn occurrences(parsed: &Value) -> Vec<Value> {
    parsed["occurrences"].as_array().cloned().unwrap_or_default()
}

async fn app() -> TestApp {
    TestApp::spawn_with(|s| s.public_url = PUBLIC.to_owned()).await
}

#[tokio::test]
async fn a_needs_weekly_sessions_keep_their_wall_clock_time_across_the_clock_changes() {
    let app = app().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    // Commas, semicolons and a line break must survive iCalendar's TEXT escaping; markup is only text here.
    let title = "English; conversation, <b>Tuesdays</b>";
    let year = Year::next();
    // The first Tuesday from 5 January to the last on or before 21 December.
    let (first, last) = (year.on_or_after(1, 5, Weekday::Tue), year.on_or_after(12, 15, Weekday::Tue));
    let need = app
        .open_need(
            &owner,
            &org,
            title,
            json!({"description": "Bring a friend.\nTea, biscuits; a warm room.",
                "schedule": {"weekly": [{"day": "TUESDAY", "start": "19:00", "end": "21:00"}],
                    "startDate": ymd(first), "endDate": ymd(last)}}),
        )
        .await;
    let got = get(&app, &format!("/needs/{need}/calendar.ics")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(header_of(&got, header::CONTENT_TYPE), "text/calendar; charset=utf-8");
    assert_eq!(header_of(&got, header::CACHE_CONTROL), "public, max-age=300");
    assert_rfc5545_lines(&got.body);
    let unfolded = got.body.replace("\r\n ", "");
    let until = format!("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL={}T235959Z", last.format("%Y%m%d"));
    assert!(unfolded.contains(&until), "{unfolded}");
    let start = format!("DTSTART;TZID=Europe/London:{}T190000", first.format("%Y%m%d"));
    assert!(unfolded.contains(&start), "{unfolded}");
    assert!(unfolded.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/London"), "{unfolded}");

    // The Tuesdays either side of the last Sunday of March and of October: 19:00 each time, GMT before the spring
    // change and after the autumn one, BST between.
    for (change, offsets) in [(year.last_sunday(3), [0, 60]), (year.last_sunday(10), [60, 0])] {
        let parsed = expand(&got.body, &plus(change, -6), &plus(change, 4));
        assert_eq!(parsed["timeZones"], json!(["Europe/London"]));
        let sessions = occurrences(&parsed);
        assert_eq!(sessions.len(), 2, "{parsed}");
        for (session, offset) in sessions.iter().zip(offsets) {
            let start = session["start"].as_str().expect("a start");
            assert_eq!(&start[11..19], "19:00:00", "{session}");
            assert_eq!(session["end"].as_str().map(|e| &e[11..19]), Some("21:00:00"));
            assert_eq!(session["utcOffsetMinutes"], offset, "{session}");
            assert_eq!(session["summary"], title);
            assert!(session["description"].as_str().is_some_and(|d| d.contains("Tea, biscuits; a warm room.")));
        }
    }
    // UNTIL is inclusive: the last session is on the end date, and none follows.
    let end = occurrences(&expand(&got.body, &plus(last, -7), &ymd(Year(year.0 + 1).day(1, 31))));
    let starts: Vec<&str> = end.iter().filter_map(|s| s["start"].as_str()).map(|s| &s[..10]).collect();
    assert_eq!(starts, [plus(last, -7), ymd(last)]);

    // UIDs stay when the need's text changes, so calendars update the event rather than add another.
    let (january, mid_january) = (ymd(year.day(1, 1)), ymd(year.day(1, 12)));
    let uid = occurrences(&expand(&got.body, &january, &mid_january))[0]["uid"].clone();
    let renamed = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { updateNeed(input: {needId: $id, title: \"Conversation club\"}) { need { title } } }",
            json!({"id": need}),
        )
        .await;
    assert_eq!(data(&renamed)["updateNeed"]["need"]["title"], "Conversation club");
    let again =
        occurrences(&expand(&get(&app, &format!("/needs/{need}/calendar.ics")).await.body, &january, &mid_january));
    assert_eq!((again[0]["uid"].clone(), again[0]["summary"].clone()), (uid, json!("Conversation club")));
}

#[tokio::test]
async fn one_off_needs_are_single_events_and_drafts_have_no_calendar() {
    let app = app().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Putney Pavilion Friends").await;
    // A Saturday in June, 10:00–13:00 (BST); and a day with no times, which is all day.
    let year = Year::next();
    let saturday = ymd(year.on_or_after(6, 5, Weekday::Sat));
    let repaint = app
        .open_need(
            &owner,
            &org,
            "Pavilion repaint",
            json!({"schedule": {"weekly": [{"day": "SATURDAY", "start": "10:00", "end": "13:00"}],
                "startDate": saturday, "endDate": saturday}}),
        )
        .await;
    let body = get(&app, &format!("/needs/{repaint}/calendar.ics")).await.body;
    assert!(!body.contains("RRULE:FREQ=WEEKLY"), "a one-off does not repeat: {body}");
    let parsed = expand(&body, &ymd(year.day(1, 1)), &ymd(year.day(12, 31)));
    let sessions = occurrences(&parsed);
    assert_eq!(sessions.len(), 1, "{parsed}");
    assert_eq!(sessions[0]["start"], format!("{saturday}T10:00:00+01:00"));
    assert_eq!(sessions[0]["end"], format!("{saturday}T13:00:00+01:00"));

    let fair = app
        .open_need(
            &owner,
            &org,
            "Summer fair stalls",
            json!({"schedule": {"weekly": [], "startDate": ymd(year.day(7, 10)), "endDate": ymd(year.day(7, 10))}}),
        )
        .await;
    let all_day = occurrences(&expand(
        &get(&app, &format!("/needs/{fair}/calendar.ics")).await.body,
        &ymd(year.day(7, 1)),
        &ymd(year.day(7, 31)),
    ));
    assert_eq!(all_day.len(), 1);
    assert_eq!(
        (all_day[0]["start"].clone(), all_day[0]["end"].clone()),
        (json!(ymd(year.day(7, 10))), json!(ymd(year.day(7, 11))))
    );

    // A draft is its organisation's business, and a wrong id is nothing: both 404, with a code.
    let draft = app.draft_need(&owner, &org, "Not yet", json!({})).await;
    for path in [
        format!("/needs/{draft}/calendar.ics"),
        "/needs/not-an-id/calendar.ics".to_owned(),
        format!("/needs/{org}/calendar.ics"),
    ] {
        let got = get(&app, &path).await;
        assert_eq!(got.status, 404, "{path}");
        let error: Value = serde_json::from_str(&got.body).expect("a JSON error");
        assert_eq!(error["errors"][0]["extensions"]["code"], "NOT_FOUND", "{path}");
    }
}

const CALENDAR_URL: &str = "query { me { volunteerProfile { calendarUrl } } }";
const ROTATE: &str = "mutation { rotateCalendarToken { calendarUrl volunteerProfile { id } } }";

async fn calendar_url(app: &TestApp, volunteer: &Session) -> String {
    let resp = app.gql_as(Some(&volunteer.token), CALENDAR_URL, json!({})).await;
    data(&resp)["me"]["volunteerProfile"]["calendarUrl"].as_str().expect("a calendar address").to_owned()
}

#[tokio::test]
async fn a_volunteers_feed_holds_the_needs_they_are_accepted_on_and_only_they_see_its_address() {
    let app = app().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    // From a Monday early next year: a Tuesday, a Saturday and a Tuesday follow in the nine days from it.
    let monday = Year::next().on_or_after(1, 4, Weekday::Mon);
    let schedule = |day: &str| json!({"schedule": {"weekly": [{"day": day, "start": "19:00", "end": "21:00"}], "startDate": ymd(monday)}});
    let accepted_need = app.open_need(&owner, &org, "Tuesday conversation club", schedule("TUESDAY")).await;
    let applied_need = app.open_need(&owner, &org, "Thursday homework club", schedule("THURSDAY")).await;
    let free = json!({"availability": [{"day": "TUESDAY", "start": "18:00", "end": "22:00"},
        {"day": "SATURDAY", "start": "09:00", "end": "22:00"}]});
    let (volunteer, profile_id) = app.volunteer("amira@example.org", "Amira", free).await;
    let application = app.apply(&volunteer, &accepted_need).await;
    app.apply(&volunteer, &applied_need).await;
    let accept = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }",
            json!({"id": application}),
        )
        .await;
    assert_eq!(data(&accept)["acceptApplication"]["application"]["status"], "ACCEPTED");
    // An invitation holds a place while the volunteer decides: in the calendar, as tentative.
    let invited_need = app.open_need(&owner, &org, "Saturday drop-in", schedule("SATURDAY")).await;
    let confirm = app
        .gql_as(
            Some(&owner.token),
            "mutation($p: [ProposedAssignmentInput!]!) { confirmAssignments(proposals: $p) { applications { status } } }",
            json!({"p": [{"needId": invited_need, "volunteerId": profile_id}]}),
        )
        .await;
    assert_eq!(data(&confirm)["confirmAssignments"]["applications"][0]["status"], "INVITED", "{confirm}");

    let url = calendar_url(&app, &volunteer).await;
    assert!(url.starts_with(&format!("{PUBLIC}/calendar/")) && url.ends_with(".ics"), "{url}");
    assert_eq!(calendar_url(&app, &volunteer).await, url, "the address stays until it is rotated");
    app.reset_statements();
    let got = get(&app, path_of(&url)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    // The token's feed, its applications, their needs, their organisations, their cancelled sessions: however many
    // needs it holds.
    assert_eq!(app.statements(), 5, "{:#?}", app.statement_texts());
    assert_eq!(header_of(&got, header::CACHE_CONTROL), "private, no-cache", "never in a shared cache");
    assert_eq!(header_of(&got, header::REFERRER_POLICY), "no-referrer");
    assert_rfc5545_lines(&got.body);
    let parsed = expand(&got.body, &ymd(monday), &plus(monday, 9));
    let seen: Vec<(String, String)> = occurrences(&parsed)
        .iter()
        .map(|o| (o["summary"].as_str().unwrap_or("").to_owned(), o["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    let seen: Vec<(&str, &str)> = seen.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    // Two Tuesdays and the Saturday between; the application still waiting for an answer is not there.
    let (tuesday, saturday) = (("Tuesday conversation club", "CONFIRMED"), ("Saturday drop-in", "TENTATIVE"));
    assert_eq!(seen, [tuesday, saturday, tuesday], "{parsed}");
    assert!(!got.body.contains("Amira") && !got.body.contains("amira@"), "the feed names no one");

    // Nobody else sees the address: not the organisation they applied to, not a platform admin, not a stranger.
    let admin = app.admin().await;
    let stranger = app.register("someone@example.org", "Someone").await;
    let query = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { displayName calendarUrl } } }";
    for who in [&owner, &admin] {
        let resp = app.gql_as(Some(&who.token), query, json!({"id": profile_id})).await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{resp}");
        assert!(!resp.to_string().contains("/calendar/"), "{resp}");
    }
    let resp = app.gql_as(Some(&stranger.token), query, json!({"id": profile_id})).await;
    assert!(!resp.to_string().contains("/calendar/"), "{resp}");

    // A changed, cut or made-up token is not found, and says no more than that.
    let token = url.rsplit('/').next().and_then(|t| t.strip_suffix(".ics")).expect("a token").to_owned();
    let flipped = format!("{}{}", &token[..40], if &token[40..41] == "A" { "B" } else { "A" }) + &token[41..];
    for bad in [
        format!("/calendar/{flipped}.ics"),
        format!("/calendar/{}.ics", &token[..63]),
        format!("/calendar/{token}"),
        "/calendar/00000000000000000000000000000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics".to_owned(),
    ] {
        let got = get(&app, &bad).await;
        assert_eq!(got.status, 404, "{bad}");
        assert!(got.body.contains("NOT_FOUND"), "{bad}: {}", got.body);
    }
}

#[tokio::test]
async fn rotating_or_erasing_ends_the_old_address_at_once() {
    let app = app().await;
    let (volunteer, _) = app.volunteer("amira@example.org", "Amira", json!({})).await;
    let old = calendar_url(&app, &volunteer).await;
    assert_eq!(get(&app, path_of(&old)).await.status, 200);

    let rotated = app.gql_as(Some(&volunteer.token), ROTATE, json!({})).await;
    let new = data(&rotated)["rotateCalendarToken"]["calendarUrl"].as_str().expect("a new address").to_owned();
    assert_ne!(new, old);
    assert_eq!(calendar_url(&app, &volunteer).await, new);
    assert_eq!(get(&app, path_of(&old)).await.status, 404, "the old address stops working");
    assert_eq!(get(&app, path_of(&new)).await.status, 200);

    // Rotating needs a signed-in volunteer with a profile.
    assert_eq!(error_code(&app.gql(ROTATE, json!({})).await), "UNAUTHENTICATED");
    let no_profile = app.register("organiser@example.org", "Organiser").await;
    assert_eq!(error_code(&app.gql_as(Some(&no_profile.token), ROTATE, json!({})).await), "FORBIDDEN");

    let erase = app
        .gql_as(
            Some(&volunteer.token),
            "mutation { deleteMyAccount(input: {password: \"a long enough passphrase\"}) { erasedAt } }",
            json!({}),
        )
        .await;
    assert!(data(&erase)["deleteMyAccount"]["erasedAt"].is_string(), "{erase}");
    assert_eq!(get(&app, path_of(&new)).await.status, 404, "an erased account has no calendar");
}

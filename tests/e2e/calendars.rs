//! Calendars: a need's sessions and a volunteer's private feed as iCalendar, read back by PyPI's `icalendar` and
//! expanded by `recurring-ical-events` across the UK's clock changes; who may see a feed's address, and how it
//! stops working.
use axum::http::header;
use serde_json::{Value, json};

use crate::helpers::{Got, Session, TestApp, data, error_code, header_of};
use crate::standards;

const PUBLIC: &str = "https://pitchin.example";

async fn get(app: &TestApp, path: &str) -> Got {
    crate::helpers::get(app, path, None).await
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
fn expand(body: &str, from: &str, to: &str) -> Value {
    let path = standards::file("calendar.ics", body);
    standards::python("ics_occurrences.py", &[path.to_str().expect("a path"), from, to])
}

fn occurrences(parsed: &Value) -> Vec<Value> {
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
    let need = app
        .open_need(
            &owner,
            &org,
            title,
            json!({"description": "Bring a friend.\nTea, biscuits; a warm room.",
                "schedule": {"weekly": [{"day": "TUESDAY", "start": "19:00", "end": "21:00"}],
                    "startDate": "2027-01-05", "endDate": "2027-12-21"}}),
        )
        .await;
    let got = get(&app, &format!("/needs/{need}/calendar.ics")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(header_of(&got, header::CONTENT_TYPE), "text/calendar; charset=utf-8");
    assert_eq!(header_of(&got, header::CACHE_CONTROL), "public, max-age=300");
    assert_rfc5545_lines(&got.body);
    let unfolded = got.body.replace("\r\n ", "");
    assert!(unfolded.contains("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20271221T235959Z"), "{unfolded}");
    assert!(unfolded.contains("DTSTART;TZID=Europe/London:20270105T190000"), "{unfolded}");
    assert!(unfolded.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/London"), "{unfolded}");

    // Either side of the last Sunday of March (28 March 2027) and of October (31 October 2027): 19:00 each time,
    // GMT before the spring change and after the autumn one, BST between.
    for (from, to, offsets) in [("2027-03-20", "2027-04-04", [0, 60]), ("2027-10-24", "2027-11-07", [60, 0])] {
        let parsed = expand(&got.body, from, to);
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
    // UNTIL is inclusive: the last session is 21 December, and none follows.
    let end = occurrences(&expand(&got.body, "2027-12-14", "2028-01-31"));
    let starts: Vec<&str> = end.iter().filter_map(|s| s["start"].as_str()).map(|s| &s[..10]).collect();
    assert_eq!(starts, ["2027-12-14", "2027-12-21"]);

    // UIDs stay when the need's text changes, so calendars update the event rather than add another.
    let uid = occurrences(&expand(&got.body, "2027-01-01", "2027-01-10"))[0]["uid"].clone();
    let renamed = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { updateNeed(input: {needId: $id, title: \"Conversation club\"}) { need { title } } }",
            json!({"id": need}),
        )
        .await;
    assert_eq!(data(&renamed)["updateNeed"]["need"]["title"], "Conversation club");
    let again =
        occurrences(&expand(&get(&app, &format!("/needs/{need}/calendar.ics")).await.body, "2027-01-01", "2027-01-10"));
    assert_eq!((again[0]["uid"].clone(), again[0]["summary"].clone()), (uid, json!("Conversation club")));
}

#[tokio::test]
async fn one_off_needs_are_single_events_and_drafts_have_no_calendar() {
    let app = app().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Putney Pavilion Friends").await;
    // Saturday 5 June 2027, 10:00–13:00 (BST); and a day with no times, which is all day.
    let repaint = app
        .open_need(
            &owner,
            &org,
            "Pavilion repaint",
            json!({"schedule": {"weekly": [{"day": "SATURDAY", "start": "10:00", "end": "13:00"}],
                "startDate": "2027-06-05", "endDate": "2027-06-05"}}),
        )
        .await;
    let body = get(&app, &format!("/needs/{repaint}/calendar.ics")).await.body;
    assert!(!body.contains("RRULE:FREQ=WEEKLY"), "a one-off does not repeat: {body}");
    let parsed = expand(&body, "2027-01-01", "2027-12-31");
    let sessions = occurrences(&parsed);
    assert_eq!(sessions.len(), 1, "{parsed}");
    assert_eq!(sessions[0]["start"], "2027-06-05T10:00:00+01:00");
    assert_eq!(sessions[0]["end"], "2027-06-05T13:00:00+01:00");

    let fair = app
        .open_need(
            &owner,
            &org,
            "Summer fair stalls",
            json!({"schedule": {"weekly": [], "startDate": "2027-07-10", "endDate": "2027-07-10"}}),
        )
        .await;
    let all_day =
        occurrences(&expand(&get(&app, &format!("/needs/{fair}/calendar.ics")).await.body, "2027-07-01", "2027-07-31"));
    assert_eq!(all_day.len(), 1);
    assert_eq!((all_day[0]["start"].clone(), all_day[0]["end"].clone()), (json!("2027-07-10"), json!("2027-07-11")));

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
    let schedule = |day: &str| json!({"schedule": {"weekly": [{"day": day, "start": "19:00", "end": "21:00"}], "startDate": "2027-01-04"}});
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
    // The token's feed, its applications, their needs, their organisations: however many needs it holds.
    assert_eq!(app.statements(), 4, "{:#?}", app.statement_texts());
    assert_eq!(header_of(&got, header::CACHE_CONTROL), "private, no-cache", "never in a shared cache");
    assert_eq!(header_of(&got, header::REFERRER_POLICY), "no-referrer");
    assert_rfc5545_lines(&got.body);
    let parsed = expand(&got.body, "2027-01-01", "2027-01-14");
    let seen: Vec<(String, String)> = occurrences(&parsed)
        .iter()
        .map(|o| (o["summary"].as_str().unwrap_or("").to_owned(), o["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    let seen: Vec<(&str, &str)> = seen.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    // Tuesdays 5 and 12 January and Saturday 9 January; the application still waiting for an answer is not there.
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

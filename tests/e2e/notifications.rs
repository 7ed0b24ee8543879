//! Notifications by email through a real SMTP server on loopback (PyPI's `aiosmtpd`, receiving into a maildir that
//! the tests read back with `mail-parser`): the verification code, a session reminder with its one-click unsubscribe
//! (RFC 8058) that works, a DBS recheck notice; preferences through GraphQL; and a dead SMTP server that costs a
//! request nothing and leaves the message to be retried.
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use chrono::{DateTime, TimeDelta, Utc};
use domain::notifications::outbox::Recorded;
use domain::notifications::sweeps;
use serde_json::{Value, json};

use crate::calendars::ymd;
use crate::helpers::{Session, TestApp, data, error_code};

/// `aiosmtpd` on a free loopback port, saving each message it receives into a maildir; stopped when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let maildir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("maildir-{}", uuid::Uuid::new_v4()));
        let child = Command::new("python3")
            .env("PYTHONPATH", crate::standards::python_path())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("python3 runs aiosmtpd (installed from tests/standards/requirements.txt)");
        let server = Self { child, port, maildir };
        for _ in 0..150 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("aiosmtpd did not start listening on {port}");
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, parsed.
    fn received(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        let mut all: Vec<Received> = entries
            .flatten()
            .map(|e| std::fs::read(e.path()).expect("a message file"))
            .map(|raw| {
                let parsed = mail_parser::MessageParser::default().parse(&raw).expect("an RFC 5322 message");
                let header = |name: &str| parsed.header_raw(name).map(|v| v.trim().to_owned());
                Received {
                    to: header("To").unwrap_or_default(),
                    subject: parsed.subject().unwrap_or_default().to_owned(),
                    list_unsubscribe: header("List-Unsubscribe"),
                    list_unsubscribe_post: header("List-Unsubscribe-Post"),
                    text: parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                    html: parsed.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                }
            })
            .collect();
        all.sort_by(|a, b| a.subject.cmp(&b.subject));
        all
    }

    fn to(&self, address: &str) -> Vec<Received> {
        self.received().into_iter().filter(|m| m.to.contains(address)).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

#[derive(Clone, Debug)]
struct Received {
    to: String,
    subject: String,
    list_unsubscribe: Option<String>,
    list_unsubscribe_post: Option<String>,
    text: String,
    html: String,
}

fn user_uuid(global_id: &str) -> uuid::Uuid {
    match api::kit::ids::decode_any(global_id) {
        Some((api::kit::ids::NodeKind::User, id)) => id,
        other => panic!("not a user id: {other:?}"),
    }
}

const PREFERENCES: &str = "{ notificationPreferences { weeklyCap kinds { kind enabled canTurnOff } } }";
const UPDATE: &str = "mutation($input: UpdateNotificationPreferencesInput!) {
    updateNotificationPreferences(input: $input) { weeklyCap kinds { kind enabled } } }";

fn enabled(resp: &Value, root: &str, kind: &str) -> Option<bool> {
    data(resp)[root]["kinds"].as_array()?.iter().find(|k| k["kind"] == kind)?["enabled"].as_bool()
}

/// Confirms the account's address with the code that reached the SMTP server.
async fn confirm_address(app: &TestApp, smtp: &SmtpServer, address: &str) {
    app.deliver_mail().await;
    let mail = smtp.to(address);
    let code_mail = mail.iter().find(|m| m.subject.contains("Confirm your email")).expect("a verification mail");
    assert!(code_mail.list_unsubscribe.is_none(), "account mail has no unsubscribe link");
    let start = code_mail.text.find("?token=").expect("a link with the code") + "?token=".len();
    let code: String =
        code_mail.text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let resp = app
        .gql("mutation($t: String!) { verifyEmail(input: {token: $t}) { emailVerifiedAt } }", json!({"t": code}))
        .await;
    data(&resp);
}

/// The need's next session starting at least two hours from now.
async fn next_session(app: &TestApp, need: &str) -> DateTime<Utc> {
    let query = "query($id: ID!, $from: DateTime!, $to: DateTime!) { need(id: $id) { sessions(from: $from, to: $to) { startsAt } } }";
    let now = Utc::now();
    let window = json!({"id": need, "from": now.to_rfc3339(), "to": (now + TimeDelta::days(4)).to_rfc3339()});
    let resp = app.gql(query, window).await;
    data(&resp)["need"]["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["startsAt"].as_str()?.parse::<DateTime<Utc>>().ok())
        .find(|s| *s > now + TimeDelta::hours(2))
        .expect("a coming session")
}

async fn accepted_on(app: &TestApp, owner: &Session, volunteer: &Session, need: &str) {
    let application = app.apply(volunteer, need).await;
    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    data(&app.gql_as(Some(&owner.token), accept, json!({"id": application})).await);
}

#[tokio::test]
async fn a_reminder_arrives_by_smtp_with_an_unsubscribe_link_that_works_in_one_click() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(url)).await;
    let owner = app.register("lead@youthclub.example", "Lead").await;
    let org = app.organisation(&owner, "Kirton Youth Club").await;
    let today = domain::hours::service::today();
    let every_evening: Vec<Value> = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
        .iter()
        .map(|day| json!({"day": day, "start": "18:00", "end": "20:00"}))
        .collect();
    // A title with markup in it: the HTML body must show it, escaped, never as markup.
    let title = "Youth club <b>& homework</b>";
    let need = app
        .open_need(&owner, &org, title, json!({"schedule": {"weekly": every_evening, "startDate": ymd(today)}}))
        .await;
    let (amira, _) = app.volunteer("amira@volunteer.example", "Amira", json!({})).await;
    confirm_address(&app, &smtp, "amira@volunteer.example").await;
    accepted_on(&app, &owner, &amira, &need).await;

    // The scheduler runs two hours before the next session (the clock is an argument), then the outbox is sent.
    let starts = next_session(&app, &need).await;
    let lead = TimeDelta::hours(24);
    let ran = app.scheduler.run_due(starts - TimeDelta::hours(2)).await.expect("jobs ran");
    assert!(
        ran.iter().any(|(job, swept)| *job == domain::notifications::schedule::Job::SessionReminders
            && swept.as_ref().is_ok_and(|s| s.written >= 1)),
        "{ran:?}"
    );
    let sent = app.deliver_mail().await;
    assert!(sent.iter().all(|r| *r == Recorded::Sent), "{sent:?}");
    let mail = smtp.to("amira@volunteer.example");
    let decision = mail.iter().find(|m| m.subject.starts_with("You're in")).expect("the acceptance");
    assert!(decision.text.contains("Kirton Youth Club accepted your application"), "{}", decision.text);
    let reminder = mail.iter().find(|m| m.subject.starts_with("Reminder:")).expect("a reminder");
    assert!(reminder.subject.contains(title), "{}", reminder.subject);
    let local = starts.with_timezone(&domain::values::schedule::TIME_ZONE).format("%H:%M").to_string();
    assert!(reminder.text.contains(title) && reminder.text.contains(&local), "{}", reminder.text);
    assert!(reminder.html.contains("Youth club &#60;b&#62;&#38; homework&#60;/b&#62;"), "{}", reminder.html);
    assert!(!reminder.html.contains("<b>&"), "markup from a title is never markup");
    assert_eq!(reminder.list_unsubscribe_post.as_deref(), Some("List-Unsubscribe=One-Click"));
    let link = reminder.list_unsubscribe.clone().expect("a List-Unsubscribe header");
    let link = link.trim_start_matches('<').trim_end_matches('>').to_owned();
    assert!(link.starts_with("http://localhost:8000/unsubscribe/"), "{link}");
    assert!(reminder.text.contains(&link), "the footer carries the same link");
    let path = link.trim_start_matches("http://localhost:8000").to_owned();

    // Opening the link (as a mail scanner would) changes nothing; it shows a button.
    let page = crate::helpers::get(&app, &path, None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Stop session reminders"), "{}", page.body);
    assert_eq!(crate::helpers::header_of(&page, header::CACHE_CONTROL), "no-store");
    assert_eq!(
        enabled(
            &app.gql_as(Some(&amira.token), PREFERENCES, json!({})).await,
            "notificationPreferences",
            "SESSION_REMINDER"
        ),
        Some(true)
    );
    // The mail client's one-click POST turns reminders off.
    let post = Request::post(&path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .expect("request");
    let (status, body) = app.raw(post).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You will get no more session reminders"), "{body}");
    let prefs = app.gql_as(Some(&amira.token), PREFERENCES, json!({})).await;
    assert_eq!(enabled(&prefs, "notificationPreferences", "SESSION_REMINDER"), Some(false));
    assert_eq!(enabled(&prefs, "notificationPreferences", "APPLICATION_DECISION"), Some(true), "only that kind");
    // A token altered by a character opens nothing.
    let mut forged = path.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(crate::helpers::get(&app, &forged, None).await.status, 404);

    // The next day's reminder is not sent.
    let before = smtp.received().len();
    let tomorrow = starts + TimeDelta::days(1);
    let swept = sweeps::session_reminders(&app.db, tomorrow - TimeDelta::hours(2), lead).await.expect("swept");
    assert_eq!(swept.written, 0, "{swept:?}");
    let next = app.deliver_mail().await;
    assert!(next.iter().all(|r| *r != Recorded::Sent), "{next:?}");
    assert_eq!(smtp.received().len(), before, "nothing more reached the server");
}

#[tokio::test]
async fn a_dbs_recheck_notice_arrives_before_a_verified_check_ends() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(url)).await;
    let owner = app.register("lead@mentoring.example", "Lead").await;
    let org = app.organisation(&owner, "Roehampton Mentoring").await;
    let need = app.open_need(&owner, &org, "Mentoring", json!({"volunteersNeeded": 3})).await;
    let (kwame, profile) = app.volunteer("kwame@volunteer.example", "Kwame", json!({})).await;
    confirm_address(&app, &smtp, "kwame@volunteer.example").await;
    app.apply(&kwame, &need).await;
    let today = Utc::now().date_naive();
    // Checked so that its three years end in 30 days.
    let checked_on = (today + TimeDelta::days(30)).checked_sub_months(chrono::Months::new(36)).expect("a date");
    let verify =
        "mutation($input: VerifyDbsCheckInput!) { verifyDbsCheck(input: $input) { verification { validUntil } } }";
    let input = json!({"input": {"volunteerId": profile, "level": "ENHANCED", "checkedOn": ymd(checked_on), "method": "CERTIFICATE_SEEN"}});
    data(&app.gql_as(Some(&owner.token), verify, input).await);

    let swept = sweeps::dbs_rechecks(&app.db, today).await.expect("swept");
    assert_eq!(swept.written, 1);
    app.deliver_mail().await;
    let mail = smtp.to("kwame@volunteer.example");
    let notice = mail.iter().find(|m| m.subject.contains("DBS check")).expect("a recheck notice");
    assert_eq!(notice.subject, "Your DBS check with Roehampton Mentoring ends in 30 days");
    let ends = (today + TimeDelta::days(30)).format("%-d %B %Y").to_string();
    assert!(notice.text.contains(&ends), "{}", notice.text);
    assert!(notice.list_unsubscribe.as_deref().is_some_and(|l| l.contains("/unsubscribe/")));
    // Run again the same day (another server, a restart): no second notice.
    assert_eq!(sweeps::dbs_rechecks(&app.db, today).await.expect("swept").written, 0);
}

#[tokio::test]
async fn preferences_are_each_persons_own_and_account_messages_cannot_be_turned_off() {
    let app = TestApp::spawn().await;
    let amira = app.register("amira@volunteer.example", "Amira").await;
    let resp = app.gql_as(Some(&amira.token), PREFERENCES, json!({})).await;
    let kinds = data(&resp)["notificationPreferences"]["kinds"].as_array().expect("kinds").clone();
    assert_eq!(kinds.len(), 12);
    assert!(kinds.iter().all(|k| k["enabled"] == true));
    assert_eq!(data(&resp)["notificationPreferences"]["weeklyCap"], Value::Null);
    let verification = kinds.iter().find(|k| k["kind"] == "EMAIL_VERIFICATION").expect("listed");
    assert_eq!(verification["canTurnOff"], false);

    let change = json!({"input": {"kinds": [{"kind": "WEEKLY_DIGEST", "enabled": false}], "weeklyCap": 3}});
    let resp = app.gql_as(Some(&amira.token), UPDATE, change).await;
    assert_eq!(enabled(&resp, "updateNotificationPreferences", "WEEKLY_DIGEST"), Some(false));
    assert_eq!(data(&resp)["updateNotificationPreferences"]["weeklyCap"], 3);
    // Absent leaves the cap; null removes it.
    let resp = app.gql_as(Some(&amira.token), UPDATE, json!({"input": {}})).await;
    assert_eq!(data(&resp)["updateNotificationPreferences"]["weeklyCap"], 3);
    let resp = app.gql_as(Some(&amira.token), UPDATE, json!({"input": {"weeklyCap": null}})).await;
    assert_eq!(data(&resp)["updateNotificationPreferences"]["weeklyCap"], Value::Null);

    for (input, field) in [
        (json!({"kinds": [{"kind": "SIGN_IN", "enabled": false}]}), "input.kinds"),
        (json!({"weeklyCap": 0}), "input.weeklyCap"),
        (json!({"weeklyCap": 101}), "input.weeklyCap"),
    ] {
        let resp = app.gql_as(Some(&amira.token), UPDATE, json!({"input": input})).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field);
    }
    // Someone else's are not touched by Amira's change, and nobody's can be read or changed signed out.
    let dan = app.register("dan@volunteer.example", "Dan").await;
    let theirs = app.gql_as(Some(&dan.token), PREFERENCES, json!({})).await;
    assert_eq!(enabled(&theirs, "notificationPreferences", "WEEKLY_DIGEST"), Some(true));
    assert_eq!(error_code(&app.gql(PREFERENCES, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.gql(UPDATE, json!({"input": {}})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_dead_smtp_server_fails_no_request_and_the_message_waits_for_a_retry() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let app = TestApp::spawn_with(|s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.smtp_timeout_ms = 2_000;
    })
    .await;
    // Registering writes the verification code to the outbox and answers; sending is not its business.
    let nadia = app.register("nadia@verify.example", "Nadia").await;
    assert!(!nadia.token.is_empty());
    let sent = app.deliver_mail().await;
    assert!(matches!(sent.as_slice(), [Recorded::Retrying(_)]), "{sent:?}");
    let rows = domain::notifications::outbox::of_user(&app.db, user_uuid(&nadia.user_id), 5).await.expect("read");
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("PENDING", 1));
    assert!(rows[0].last_error.as_deref().is_some_and(|e| e.contains("refused") || e.contains("connect")), "{rows:?}");
}

//! Calendars (iCalendar, RFC 5545, written by the `icalendar` crate, which escapes TEXT values, folds lines at 75
//! octets and ends them with CRLF): a need's sessions at `/needs/{id}/calendar.ics`, and each volunteer's private
//! feed of the needs they are invited to or accepted on at `/calendar/{token}.ics`.
//!
//! Each weekly window of a need is one VEVENT that repeats (`RRULE:FREQ=WEEKLY;BYDAY=TU`, `UNTIL` the need's end
//! date) on the wall clock in `Europe/London`, described by a VTIMEZONE, so that a Tuesday 19:00 session stays at
//! 19:00 when the clocks change. A one-off need (its start and end on one day) is a single event: timed when a
//! window falls on that day, all day otherwise. A flexible need (no windows) has no events. UIDs are the need's id
//! and the window, so they stay put while the need's text changes. A cancelled session is an `EXDATE` of its
//! window's event (or, for a single session, the event's `STATUS:CANCELLED`): calendars show it gone on purpose.
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::applications::ApplicationStatus;
use domain::needs::NeedCategory;
use domain::needs::sessions;
use domain::values::schedule::{Series, TIME_ZONE, local_instant};
use domain::values::{TimeWindow, Weekday};
use entity::{need, organisation};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use sha2::{Digest, Sha256};

use super::AppState;
use super::pages::{holds, need_url, words};
use crate::error::{AppError, AppResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/needs/{id}/calendar.ics", get(need_calendar))
        // `volunteers::calendar_url` makes these addresses.
        .route("/calendar/{token}", get(volunteer_calendar))
}

const PRODID: &str = "-//Pitch In//Calendars 1.0//EN";
/// How often subscribed calendars should look again: sessions change rarely, and an hour keeps a cancelled one
/// from showing for long.
const REFRESH_HOURS: i64 = 1;
/// A need's public calendar in shared caches, in seconds: as the need's page.
const PUBLIC_MAX_AGE: u32 = 300;

async fn need_calendar(State(state): State<AppState>, Path(id): Path<String>, request: HeaderMap) -> Response {
    match need_body(&state, &id).await {
        Ok(body) => respond(body, Privacy::Public, &request),
        Err(error) => super::error_response(&error),
    }
}

async fn need_body(state: &AppState, id: &str) -> AppResult<String> {
    let (need, organisation, _) = super::pages::public_need(state, id).await?;
    let cancelled = sessions::cancelled_starts(&state.db, &[need.id]).await?;
    let writer = Writer::new(&state.public_url);
    let events = writer.events(&need, &organisation, None, cancelled.get(&need.id).map_or(&[], Vec::as_slice));
    Ok(writer.calendar(&format!("{} — {}", need.title, organisation.name), &events))
}

async fn volunteer_calendar(State(state): State<AppState>, Path(token): Path<String>, request: HeaderMap) -> Response {
    match volunteer_body(&state, &token).await {
        Ok(body) => respond(body, Privacy::Private, &request),
        Err(error) => super::error_response(&error),
    }
}

/// A wrong, rotated or erased token is simply not found: nothing tells a guesser which.
async fn volunteer_body(state: &AppState, path: &str) -> AppResult<String> {
    let not_found = || AppError::not_found("calendar");
    let token = path.strip_suffix(".ics").ok_or_else(not_found)?;
    let token_id = state.keys.calendar.token_id(token).ok_or_else(not_found)?;
    let volunteer = domain::volunteers::calendar::volunteer_of(&state.db, token_id).await?.ok_or_else(not_found)?;
    let entries = domain::volunteers::calendar::entries(&state.db, volunteer).await?;
    let need_ids: Vec<uuid::Uuid> = entries.iter().map(|e| e.need.id).collect();
    let cancelled = sessions::cancelled_starts(&state.db, &need_ids).await?;
    let writer = Writer::new(&state.public_url);
    let events: Vec<Event> = entries
        .iter()
        .flat_map(|e| {
            let off = cancelled.get(&e.need.id).map_or(&[][..], Vec::as_slice);
            writer.events(&e.need, &e.organisation, Some((e.status, e.changed_at)), off)
        })
        .collect();
    Ok(writer.calendar("Pitch In: my volunteering", &events))
}

enum Privacy {
    /// The same for everyone: shared caches may keep it.
    Public,
    /// One volunteer's: never in a shared cache, and checked again on every use.
    Private,
}

fn respond(body: String, privacy: Privacy, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&Sha256::digest(body.as_bytes())[..16]));
    let cache = match privacy {
        Privacy::Public => format!("public, max-age={PUBLIC_MAX_AGE}"),
        Privacy::Private => "private, no-cache".to_owned(),
    };
    let mut response =
        if holds(request, &etag) { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
        (header::CACHE_CONTROL, cache.as_str()),
        (header::ETAG, etag.as_str()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // The private feed's address is its secret: no page it links to learns it.
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// Writes calendars with links and UIDs under the public address.
struct Writer<'a> {
    base: &'a str,
    /// The public address's host, which makes UIDs unique to this Pitch In (RFC 5545 suggests a domain).
    host: &'a str,
}

impl<'a> Writer<'a> {
    fn new(base: &'a str) -> Self {
        let host = base.split_once("://").map_or(base, |(_, rest)| rest);
        let host = host.split(['/', ':']).next().unwrap_or(host);
        Self { base, host }
    }

    /// A whole calendar: its properties and events from the crate, and the VTIMEZONE block they refer to, which
    /// the crate cannot write (it gives every component a UID and a DTSTAMP, which a VTIMEZONE must not have).
    fn calendar(&self, name: &str, events: &[Event]) -> String {
        let mut head = Calendar::empty();
        for (key, value) in [("VERSION", "2.0"), ("PRODID", PRODID), ("CALSCALE", "GREGORIAN"), ("METHOD", "PUBLISH")] {
            head.append_property(Property::new(key, value));
        }
        // RFC 7986's NAME is TEXT, which the crate escapes only when told; X-WR-CALNAME is Apple's and Google's.
        head.append_property(Property::new("NAME", name).add_parameter("VALUE", "TEXT").done());
        head.append_property(Property::new("X-WR-CALNAME", name));
        head.timezone(TIME_ZONE.name());
        head.ttl(&chrono::Duration::hours(REFRESH_HOURS));
        let head = head.to_string();
        let mut text = head.strip_suffix("END:VCALENDAR\r\n").unwrap_or(&head).to_owned();
        text.push_str(LONDON);
        for event in events {
            text.push_str(&event.to_string());
        }
        text.push_str("END:VCALENDAR\r\n");
        text
    }

    /// The need's events; `standing` is where the volunteer stands and since when, in their own feed; `cancelled`,
    /// the starts of its sessions called off: an `EXDATE` on a repeating event, `STATUS:CANCELLED` on a single one.
    fn events(
        &self,
        need: &need::Model,
        organisation: &organisation::Model,
        standing: Option<(ApplicationStatus, DateTime<Utc>)>,
        cancelled: &[DateTime<Utc>],
    ) -> Vec<Event> {
        let weekly = TimeWindow::from_json(&need.weekly_schedule);
        let posted = need.published_at.unwrap_or(need.created_at).date_naive();
        let url = need_url(self.base, need.id);
        let details = Details::of(need, organisation, standing, &url);
        let local = |at: NaiveDateTime| CalendarDateTime::WithTimezone { date_time: at, tzid: TIME_ZONE.name().into() };
        let mut events: Vec<Event> = Series::of(&weekly, need.start_date, need.end_date, posted)
            .iter()
            .map(|series| {
                let mut event = details.event(format!("{}-{}@{}", need.id, slot(series.window), self.host));
                event.starts(local(series.starts())).ends(local(series.ends()));
                // The cancelled sessions that are this run's: a date of the run whose start, as an instant, is the
                // cancelled one (compared as instants: in the hour the clocks skip, the wall time reads back an hour
                // on). The wall time written is the run's own.
                let off: Vec<NaiveDateTime> = cancelled
                    .iter()
                    .filter_map(|at| {
                        let day = at.with_timezone(&TIME_ZONE).date_naive();
                        let (starts, _) = series.on(day);
                        let in_run = day >= series.first && series.last.is_none_or(|last| day <= last);
                        let on_day = chrono::Datelike::weekday(&day) == series.window.day.to_chrono();
                        (in_run && on_day && local_instant(starts) == *at).then_some(starts)
                    })
                    .collect();
                if series.is_single() {
                    if !off.is_empty() {
                        event.status(EventStatus::Cancelled);
                    }
                } else {
                    let mut rule = format!("FREQ=WEEKLY;BYDAY={}", by_day(series.window.day));
                    if let Some(until) = series.until() {
                        rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
                    }
                    event.add_property("RRULE", rule);
                    for at in off {
                        let exdate = Property::new("EXDATE", at.format("%Y%m%dT%H%M%S").to_string())
                            .add_parameter("TZID", TIME_ZONE.name())
                            .done();
                        event.append_multi_property(exdate);
                    }
                }
                event.done()
            })
            .collect();
        // A one-off need with no window on its day: that day, all day.
        if let (Some(day), true) = (need.start_date.filter(|d| Some(*d) == need.end_date), events.is_empty()) {
            // DTEND of a day is exclusive: the next day.
            let next = day.succ_opt().unwrap_or(day);
            let mut event = details.event(format!("{}-day@{}", need.id, self.host));
            if cancelled.contains(&sessions::whole_day(day).0) {
                event.status(EventStatus::Cancelled);
            }
            events.push(event.starts(day).ends(next).done());
        }
        events
    }
}

/// What every event of a need says besides its times.
struct Details {
    summary: String,
    description: String,
    location: String,
    url: String,
    category: &'static str,
    status: EventStatus,
    /// The need's last change: each event's DTSTAMP and LAST-MODIFIED, so that an unchanged need gives the same
    /// bytes (and `ETag`) each time.
    modified: DateTime<Utc>,
}

impl Details {
    fn of(
        need: &need::Model,
        organisation: &organisation::Model,
        standing: Option<(ApplicationStatus, DateTime<Utc>)>,
        url: &str,
    ) -> Self {
        let status = standing.map(|(status, _)| status);
        let mut description = format!("With {}.", organisation.name);
        if status == Some(ApplicationStatus::Invited) {
            description.push_str(" You are invited: accept in Pitch In to keep your place.");
        }
        if !need.description.trim().is_empty() {
            description.push_str("\n\n");
            description.push_str(need.description.trim());
        }
        description.push_str("\n\n");
        description.push_str(url);
        Self {
            summary: text(&need.title),
            description: text(&description),
            location: words::place(need.remote, need.postcode.as_deref()),
            url: url.to_owned(),
            category: words::category(NeedCategory::from_db(&need.category).unwrap_or(NeedCategory::Other)),
            // An invitation holds a place while the volunteer decides: tentative until they accept.
            status: if status == Some(ApplicationStatus::Invited) {
                EventStatus::Tentative
            } else {
                EventStatus::Confirmed
            },
            // The later of the need's last change and the application's, so clients see either as an update.
            modified: standing.map_or(need.updated_at, |(_, changed)| changed.max(need.updated_at)),
        }
    }

    /// An event with these details (escaped as TEXT by the writer) and `uid`.
    fn event(&self, uid: String) -> Event {
        let mut event = Event::new();
        event
            .uid(&uid)
            .timestamp(self.modified)
            .last_modified(self.modified)
            .summary(&self.summary)
            .description(&self.description)
            .location(&self.location)
            .url(&self.url)
            .status(self.status)
            .add_property("TRANSP", "OPAQUE");
        // CATEGORIES is a list, which the writer leaves as it is: the words have no commas to escape.
        event.add_property("CATEGORIES", self.category);
        event
    }
}

/// User-written text as an iCalendar TEXT value may hold it: line breaks as `\n` (the writer escapes those),
/// carriage returns and other control characters dropped, since a bare one would break the line.
fn text(written: &str) -> String {
    written.replace("\r\n", "\n").chars().filter(|c| *c == '\n' || !c.is_control()).collect()
}

/// `Europe/London` since 1996: BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
/// October. The first onsets given are those rules' days in 1970, which fall on those Sundays.
const LONDON: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\nX-LIC-LOCATION:Europe/London\r\n\
    BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\nDTSTART:19700329T010000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n\
    BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\nDTSTART:19701025T020000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// `TU-1900`: the window's day and start, which name its events.
fn slot(window: TimeWindow) -> String {
    format!("{}-{}", by_day(window.day), TimeWindow::format_minutes(window.start).replace(':', ""))
}

fn by_day(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

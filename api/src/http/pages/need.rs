//! A need's public page: what the GraphQL API shows anyone, for people, with the previews social media and
//! messaging apps read (Open Graph, Twitter cards) and schema.org JSON-LD for search engines.
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use domain::access;
use domain::needs::{NeedCategory, NeedStatus};
use domain::organisations::OrganisationKind;
use domain::values::TimeWindow;
use domain::volunteers::DbsLevel;
use entity::{need, organisation};
use serde_json::{Value, json};

use super::{Framing, Head, Page, STYLE, json_ld, paragraphs, problem, render, words};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::replicas::Public;
use crate::kit::ids::{NodeKind, decode_any, encode};

/// What the page shows of a need, in words.
pub struct NeedView {
    pub title: String,
    pub organisation: String,
    pub organisation_url: String,
    pub category: &'static str,
    pub schedule: String,
    pub place: String,
    pub places: String,
    pub safeguarding: &'static str,
    pub skills: String,
    pub languages: String,
    pub paragraphs: Vec<String>,
    /// Why the need no longer takes volunteers, if it does not.
    pub notice: Option<&'static str>,
    /// How to reach the organisation: its public website and contact address.
    pub website: Option<String>,
    pub email: Option<String>,
}

#[derive(Template)]
#[template(path = "need.html")]
struct NeedPage {
    head: Head,
    need: NeedView,
}

pub async fn page(Public(state): Public, Path(id): Path<String>, request: HeaderMap) -> Response {
    build(&state, &id).await.unwrap_or_else(|e| problem(&e)).respond(&request)
}

/// The need a public address names, with its organisation: the id in the path is its GraphQL id; anything else,
/// and drafts, are not found. For the need's page and its calendar.
pub async fn public(state: &AppState, id: &str) -> AppResult<(need::Model, organisation::Model, NeedStatus)> {
    let not_found = || AppError::not_found("need");
    let uuid = match decode_any(id) {
        Some((NodeKind::Need, uuid)) => uuid,
        _ => return Err(not_found()),
    };
    let need = domain::needs::service::get(&state.db, uuid).await?;
    let status = NeedStatus::from_db(&need.status).unwrap_or(NeedStatus::Draft);
    // A draft is for its organisation's members, who use the API: here it does not exist.
    if !access::may_see_need(status, false) {
        return Err(not_found());
    }
    let organisation = domain::organisations::get(&state.db, need.organisation_id).await?;
    Ok((need, organisation, status))
}

async fn build(state: &AppState, id: &str) -> AppResult<Page> {
    let (need, organisation, status) = public(state, id).await?;
    let base = &state.public_url;
    let canonical = need_url(base, need.id);
    let organisation_url = format!("{base}/organisations/{}", organisation.slug);
    let this_year = domain::now().year();
    let view = view(&need, &organisation, status, organisation_url.clone(), this_year);
    let summary = format!("{} with {} · {} · {}", view.category, view.organisation, view.place, view.schedule);
    let head = Head {
        title: format!("{} — {}", need.title, organisation.name),
        summary,
        json_ld: json_ld(&schema_org(&need, &organisation, status, base)),
        canonical,
        home: base.to_string(),
        style: STYLE,
    };
    Ok(Page {
        status: StatusCode::OK,
        body: render(&NeedPage { head, need: view })?,
        max_age: Some(60),
        framing: Framing::SameOrigin,
        script: None,
        style: STYLE.to_owned(),
    })
}

pub fn need_url(base: &str, id: uuid::Uuid) -> String {
    format!("{base}/needs/{}", encode(NodeKind::Need, id).as_str())
}

pub fn view(
    need: &need::Model,
    organisation: &organisation::Model,
    status: NeedStatus,
    organisation_url: String,
    this_year: i32,
) -> NeedView {
    let weekly = TimeWindow::from_json(&need.weekly_schedule);
    let strings = |json: &serde_json::Value| crate::values::text::json_strings(json).join(", ");
    NeedView {
        title: need.title.clone(),
        organisation: organisation.name.clone(),
        organisation_url,
        category: words::category(NeedCategory::from_db(&need.category).unwrap_or(NeedCategory::Other)),
        schedule: words::schedule(&weekly, need.start_date, need.end_date, this_year),
        place: words::place(need.remote, need.postcode.as_deref()),
        places: words::places_left((need.volunteers_needed - need.places_taken).max(0)),
        safeguarding: words::safeguarding(DbsLevel::from_db(&need.safeguarding).unwrap_or(DbsLevel::None)),
        skills: strings(&need.required_skills),
        languages: strings(&need.languages),
        paragraphs: paragraphs(&need.description),
        notice: match status {
            NeedStatus::Closed => Some("This need is closed: it no longer needs volunteers."),
            NeedStatus::Filled => Some("Every place is taken: this need no longer needs volunteers."),
            _ => None,
        },
        website: super::web_link(organisation.website.as_deref()),
        email: organisation.contact_email.clone(),
    }
}

/// schema.org's type for an organisation of this kind.
pub fn organisation_type(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::Charity
        | OrganisationKind::CommunityGroup
        | OrganisationKind::FaithGroup
        | OrganisationKind::SocialEnterprise => "NGO",
        OrganisationKind::Council => "GovernmentOrganization",
        _ => "Organization",
    }
}

fn day_url(day: domain::values::Weekday) -> String {
    format!("https://schema.org/{day:?}")
}

fn time(minutes: u16) -> String {
    format!("{}:00", TimeWindow::format_minutes(minutes))
}

/// The need as a schema.org `JobPosting` (a volunteering role), and its weekly sessions as an `Event` with a
/// `Schedule` for each weekly window, in one `@graph`: the page's JSON-LD and the needs feed's `data`.
pub fn schema_org(need: &need::Model, organisation: &organisation::Model, status: NeedStatus, base: &str) -> Value {
    let canonical = &need_url(base, need.id);
    let organisation_url = &format!("{base}/organisations/{}", organisation.slug);
    let kind = OrganisationKind::from_db(&organisation.kind).unwrap_or(OrganisationKind::Other);
    let mut hiring = json!({"@type": organisation_type(kind), "name": organisation.name, "url": organisation_url});
    if let Some(website) = super::web_link(organisation.website.as_deref()) {
        hiring["sameAs"] = json!(website);
    }
    let description = if need.description.trim().is_empty() { need.title.clone() } else { need.description.clone() };
    let posted = need.published_at.unwrap_or(need.created_at).date_naive();
    let mut posting = json!({
        "@type": "JobPosting",
        "title": need.title,
        "description": description,
        "url": canonical,
        "datePosted": posted.to_string(),
        "employmentType": "VOLUNTEER",
        "hiringOrganization": hiring,
        "directApply": false,
        "identifier": {"@type": "PropertyValue", "name": "Pitch In", "value": encode(NodeKind::Need, need.id).as_str()},
    });
    let address = need.postcode.as_deref().map(|p| {
        json!({"@type": "PostalAddress", "postalCode": domain::values::Postcode::district(p), "addressCountry": "GB"})
    });
    if need.remote {
        posting["jobLocationType"] = json!("TELECOMMUTE");
        posting["applicantLocationRequirements"] = json!({"@type": "Country", "name": "United Kingdom"});
    } else {
        let mut place = json!({"@type": "Place"});
        if let Some(address) = &address {
            place["address"] = address.clone();
        }
        posting["jobLocation"] = place;
    }
    // Closed and filled needs have passed their end, whatever their dates said.
    let valid_through: Option<NaiveDate> = match status {
        NeedStatus::Closed | NeedStatus::Filled => Some(need.updated_at.date_naive()),
        _ => need.end_date,
    };
    if let Some(date) = valid_through {
        posting["validThrough"] = json!(date.to_string());
    }
    let mut graph = vec![posting];
    let weekly = TimeWindow::from_json(&need.weekly_schedule);
    if !weekly.is_empty() {
        let start = need.start_date.unwrap_or(posted);
        let schedules: Vec<Value> = weekly
            .iter()
            .map(|w| {
                let mut schedule = json!({
                    "@type": "Schedule",
                    "byDay": day_url(w.day),
                    "startTime": time(w.start),
                    "endTime": time(w.end),
                    "repeatFrequency": "P1W",
                    "scheduleTimezone": "Europe/London",
                    "startDate": start.to_string(),
                });
                if let Some(end) = need.end_date {
                    schedule["endDate"] = json!(end.to_string());
                }
                schedule
            })
            .collect();
        let mut event = json!({
            "@type": "Event",
            "name": need.title,
            "description": description,
            "url": canonical,
            "startDate": start.to_string(),
            "eventSchedule": schedules,
            "organizer": {"@type": organisation_type(kind), "name": organisation.name, "url": organisation_url},
        });
        if need.remote {
            event["eventAttendanceMode"] = json!("https://schema.org/OnlineEventAttendanceMode");
            event["location"] = json!({"@type": "VirtualLocation", "url": canonical});
        } else {
            event["eventAttendanceMode"] = json!("https://schema.org/OfflineEventAttendanceMode");
            let mut place = json!({"@type": "Place", "name": words::place(false, need.postcode.as_deref())});
            if let Some(address) = address {
                place["address"] = address;
            }
            event["location"] = place;
        }
        if let Some(end) = need.end_date {
            event["endDate"] = json!(end.to_string());
        }
        graph.push(event);
    }
    json!({"@context": "https://schema.org", "@graph": graph})
}

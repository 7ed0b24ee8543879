//! An organisation's public page: who they are, how to reach them, and the needs they have open.
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Datelike;
use domain::access::Viewer;
use domain::needs::service::NeedFilter;
use domain::needs::{NeedOrder, NeedStatus};
use domain::organisations::{OrganisationId, OrganisationKind};
use domain::store::page::Page as Keyset;
use domain::store::rows::Shown;
use domain::values::{Postcode, TimeWindow};
use entity::organisation;
use serde_json::{Value, json};

use super::need::{need_url, organisation_type};
use super::{Framing, Head, Page, STYLE, json_ld, paragraphs, problem, render, web_link, words};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::replicas::Public;

/// Open needs shown on the page; the API lists the rest.
const NEEDS_SHOWN: i32 = 20;

pub struct OrganisationView {
    pub name: String,
    pub kind: &'static str,
    pub place: Option<String>,
    pub paragraphs: Vec<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub needs: Vec<NeedLine>,
}

pub struct NeedLine {
    pub title: String,
    pub url: String,
    pub schedule: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage {
    head: Head,
    organisation: OrganisationView,
}

pub async fn page(Public(state): Public, Path(slug): Path<String>, request: HeaderMap) -> Response {
    build(&state, &slug).await.unwrap_or_else(|e| problem(&e)).respond(&request)
}

async fn build(state: &AppState, slug: &str) -> AppResult<Page> {
    let organisation = domain::organisations::service::find_by_slug(&state.db, slug)
        .await?
        .ok_or_else(|| AppError::not_found("organisation"))?;
    let filter = NeedFilter {
        status: Some(NeedStatus::Open),
        organisation_id: Some(OrganisationId(organisation.id)),
        ..NeedFilter::default()
    };
    let keyset = Keyset::parse(Some(NEEDS_SHOWN), None, None, None)?;
    let listed = domain::needs::service::list(
        &state.reads,
        &Viewer::anonymous(),
        filter,
        NeedOrder::Newest,
        &keyset,
        false,
        &Shown::ALL,
    )
    .await?;
    let base = &state.public_url;
    let this_year = domain::now().year();
    let mut needs = Vec::with_capacity(listed.rows.rows.len());
    for row in listed.rows.rows {
        let need = &row.need;
        needs.push(NeedLine {
            title: need.title()?.clone(),
            url: need_url(base, *need.id()),
            schedule: words::schedule(
                &TimeWindow::from_json(need.weekly_schedule()?),
                *need.start_date(),
                *need.end_date()?,
                this_year,
            ),
            place: words::place(*need.remote()?, need.postcode()?.as_deref()),
        });
    }
    let kind = OrganisationKind::from_db(&organisation.kind).unwrap_or(OrganisationKind::Other);
    let canonical = format!("{base}/organisations/{}", organisation.slug);
    let website = web_link(organisation.website.as_deref());
    let described = schema_org(&organisation, base);
    let summary = match needs.len() {
        0 => format!("{} on Pitch In", words::organisation_kind(kind)),
        1 => format!("{} on Pitch In · 1 need open", words::organisation_kind(kind)),
        n => format!("{} on Pitch In · {n} needs open", words::organisation_kind(kind)),
    };
    let view = OrganisationView {
        name: organisation.name.clone(),
        kind: words::organisation_kind(kind),
        place: organisation.postcode.as_deref().map(|p| Postcode::district(p).to_owned()),
        paragraphs: paragraphs(&organisation.description),
        website,
        email: organisation.contact_email.clone(),
        needs,
    };
    let head = Head {
        title: organisation.name.clone(),
        summary,
        json_ld: json_ld(&described),
        canonical,
        home: base.to_string(),
        style: STYLE,
    };
    Ok(Page {
        status: StatusCode::OK,
        body: render(&OrganisationPage { head, organisation: view })?,
        max_age: Some(60),
        framing: Framing::SameOrigin,
        script: None,
        style: STYLE.to_owned(),
    })
}

/// The organisation as a schema.org `NGO`, `GovernmentOrganization` or `Organization`: the page's JSON-LD and the
/// organisations feed's `data`.
pub fn schema_org(organisation: &organisation::Model, base: &str) -> Value {
    let kind = OrganisationKind::from_db(&organisation.kind).unwrap_or(OrganisationKind::Other);
    let mut described = json!({
        "@context": "https://schema.org",
        "@type": organisation_type(kind),
        "name": organisation.name,
        "url": format!("{base}/organisations/{}", organisation.slug),
    });
    if !organisation.description.trim().is_empty() {
        described["description"] = json!(organisation.description);
    }
    if let Some(website) = web_link(organisation.website.as_deref()) {
        described["sameAs"] = json!(website);
    }
    if let Some(email) = &organisation.contact_email {
        described["email"] = json!(email);
    }
    if let Some(postcode) = &organisation.postcode {
        described["address"] =
            json!({"@type": "PostalAddress", "postalCode": Postcode::district(postcode), "addressCountry": "GB"});
    }
    described
}

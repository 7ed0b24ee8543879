//! Open Referral UK 3.0 (HSDS 3.0's UK profile), for councils' service directories: projects people attend, as
//! services, at `/openreferral/`, `/openreferral/services` (paged), `/openreferral/services/{id}`, and Pitch In's
//! categories as a taxonomy (`/openreferral/taxonomies`, `/openreferral/taxonomy_terms`). Public and keyless with
//! open CORS, as the standard asks. Identifiers of what Pitch In does not store as rows (a schedule, a language, a
//! taxonomy term) are UUIDv5s of the row they belong to, so they stay the same from one request to the next.
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::needs::NeedCategory;
use domain::projects::open_referral::{self, MAX_PER_PAGE};
use domain::values::TimeWindow;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::pages::{json_ld, words};
use crate::error::{AppError, AppResult};
use crate::http::replicas::Public;
use entity::{organisation, project};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openreferral", get(meta))
        .route("/openreferral/", get(meta))
        .route("/openreferral/services", get(services))
        .route("/openreferral/services/{id}", get(service))
        .route("/openreferral/taxonomies", get(taxonomies))
        .route("/openreferral/taxonomies/{id}", get(taxonomy))
        .route("/openreferral/taxonomy_terms", get(terms))
        .route("/openreferral/taxonomy_terms/{id}", get(term))
}

const DEFAULT_PER_PAGE: u64 = 50;
/// Directories poll; a few minutes' staleness is fine.
const MAX_AGE: u32 = 300;
const TAXONOMY_NAME: &str = "Pitch In categories";

/// The taxonomy of Pitch In's categories, and each term's id within it.
fn taxonomy_id() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://pitchin.org.uk/openreferral/taxonomies/categories")
}

fn term_id(category: NeedCategory) -> Uuid {
    Uuid::new_v5(&taxonomy_id(), category.as_db().as_bytes())
}

fn term_json(category: NeedCategory) -> Value {
    json!({
        "id": term_id(category),
        "name": words::category(category),
        "description": format!("Projects and needs in Pitch In's category “{}”", words::category(category)),
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": taxonomy_id(),
        "term": category.as_db(),
    })
}

fn taxonomy_json(with_terms: bool) -> Value {
    let mut t = json!({
        "id": taxonomy_id(),
        "name": TAXONOMY_NAME,
        "description": "What a project or need is about, as Pitch In files it",
        "version": "1",
    });
    if with_terms {
        t["taxonomy_terms"] = Value::Array(NeedCategory::ALL.iter().map(|c| term_json(*c)).collect());
    }
    t
}

fn respond(body: &Value) -> Response {
    super::open_data_headers(json_ld(body).into_response(), "application/json; charset=utf-8", MAX_AGE)
}

fn answer(result: AppResult<Value>) -> Response {
    match result {
        Ok(body) => respond(&body),
        Err(e) => super::error_response(&e),
    }
}

async fn meta() -> Response {
    respond(&json!({
        "version": "3.0",
        "profile": "https://openreferraluk.org/",
        // The standard's own definition of this API (its `public/specifications/3.0/openapi.json`).
        "openapi_url": "https://openreferraluk.org/specifications/3.0/openapi.json",
    }))
}

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// `page` (from 1) and `per_page` (1 to `MAX_PER_PAGE`).
fn paging(given: &std::collections::HashMap<&str, &str>) -> AppResult<(u64, u64)> {
    let number = |name: &str, default: u64, max: u64| -> AppResult<u64> {
        match given.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| AppError::bad_input(name, format!("must be a whole number from 1 to {max}"))),
        }
    };
    Ok((number("page", 1, 1_000_000)?, number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?))
}

/// The standard's page: `total_items, total_pages, page_number, size, first_page, last_page, empty, contents`.
fn page_json(contents: Vec<Value>, total: u64, page: u64, per_page: u64) -> Value {
    let total_pages = total.div_ceil(per_page).max(1);
    json!({
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": contents.len(),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": contents.is_empty(),
        "contents": contents,
    })
}

fn category_of_term(raw: &str) -> AppResult<NeedCategory> {
    let id =
        Uuid::parse_str(raw).map_err(|_| AppError::bad_input("taxonomy_term_id", "must be a taxonomy term's id"))?;
    NeedCategory::ALL
        .iter()
        .copied()
        .find(|c| term_id(*c) == id)
        .ok_or_else(|| AppError::bad_input("taxonomy_term_id", "is not a term of Pitch In's taxonomy"))
}

fn weekday_code(window: &TimeWindow) -> &'static str {
    use domain::values::Weekday as W;
    match window.day {
        W::Monday => "MO",
        W::Tuesday => "TU",
        W::Wednesday => "WE",
        W::Thursday => "TH",
        W::Friday => "FR",
        W::Saturday => "SA",
        W::Sunday => "SU",
    }
}

/// A project as a service, nested whole: its organisation, where it happens, its weekly schedules, languages,
/// contact and category.
fn service_json(p: &project::Model, o: &organisation::Model, public_url: &str) -> Value {
    let child = |what: &str| Uuid::new_v5(&p.id, what.as_bytes());
    let category = NeedCategory::from_db(&p.category).unwrap_or(NeedCategory::Other);
    let description = [p.summary.as_str(), p.description.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut organisation = json!({
        "id": o.id,
        "name": o.name,
        "description": if o.description.is_empty() { o.name.clone() } else { o.description.clone() },
        "uri": format!("{public_url}/organisations/{}", o.slug),
    });
    if let Some(website) = &o.website {
        organisation["website"] = json!(website);
    }
    if let Some(email) = &o.contact_email {
        organisation["email"] = json!(email);
    }
    let schedules: Vec<Value> = TimeWindow::from_json(&p.weekly_schedule)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut s = json!({
                "id": child(&format!("schedule/{i}")),
                "service_id": p.id,
                "freq": "WEEKLY",
                "interval": 1,
                "byday": weekday_code(w),
                "opens_at": TimeWindow::format_minutes(w.start),
                "closes_at": TimeWindow::format_minutes(w.end),
                "description": words::schedule(std::slice::from_ref(w), None, None, 0),
            });
            if let Some(from) = p.start_date {
                s["valid_from"] = json!(from.to_string());
                s["dtstart"] = json!(from.to_string());
            }
            if let Some(to) = p.end_date {
                s["valid_to"] = json!(to.to_string());
            }
            s
        })
        .collect();
    let languages: Vec<Value> = domain::values::text::json_strings(&p.languages)
        .iter()
        .map(|l| json!({ "id": child(&format!("language/{l}")), "service_id": p.id, "name": l }))
        .collect();
    let mut contact = json!({ "id": child("contact"), "service_id": p.id, "name": o.name, "title": "Enquiries" });
    if let Some(email) = &o.contact_email {
        contact["email"] = json!(email);
    }
    let mut service = json!({
        "id": p.id,
        "organization_id": o.id,
        "name": p.title,
        "description": description,
        "status": "active",
        "last_modified": p.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "organization": organisation,
        "schedules": schedules,
        "languages": languages,
        "contacts": [contact],
        "attributes": [{
            "id": child("attribute/category"),
            "link_id": p.id,
            "link_type": "service",
            "taxonomy_term_id": term_id(category),
            "taxonomy_term": term_json(category),
        }],
    });
    if let Some(email) = &o.contact_email {
        service["email"] = json!(email);
    }
    if let Some(min) = p.min_age {
        service["minimum_age"] = json!(min);
    }
    if let Some(max) = p.max_age {
        service["maximum_age"] = json!(max);
    }
    if let (Some(lat), Some(lng)) = (p.lat, p.lng) {
        let location_id = child("location");
        let mut location = json!({
            "id": location_id,
            "location_type": "physical",
            "name": p.title,
            "latitude": lat,
            "longitude": lng,
        });
        if let Some(postcode) = &p.postcode {
            location["description"] = json!(format!("Near {postcode}"));
        }
        service["service_at_locations"] = json!([{ "id": child("service_at_location"), "service_id": p.id, "location_id": location_id, "location": location }]);
    }
    service
}

async fn services(Public(state): Public, query: Params) -> Response {
    answer(services_page(&state, query).await)
}

async fn services_page(state: &AppState, query: Params) -> AppResult<Value> {
    let Query(pairs) =
        query.map_err(|_| AppError::bad_input("query", "could not be read as URL-encoded parameters"))?;
    let given =
        super::parameters(&pairs, &["search", "taxonomy_term_id", "taxonomy_id", "page", "per_page"], "the services")?;
    let (page, per_page) = paging(&given)?;
    if let Some(raw) = given.get("taxonomy_id")
        && Uuid::parse_str(raw).ok() != Some(taxonomy_id())
    {
        return Err(AppError::bad_input("taxonomy_id", "is not Pitch In's taxonomy"));
    }
    let category = given.get("taxonomy_term_id").map(|raw| category_of_term(raw)).transpose()?;
    let (rows, organisations, total) =
        open_referral::page(&state.db, given.get("search").copied(), category, page, per_page).await?;
    let contents = rows
        .iter()
        .filter_map(|p| organisations.get(&p.organisation_id).map(|o| service_json(p, o, &state.public_url)))
        .collect();
    Ok(page_json(contents, total, page, per_page))
}

fn path_id(raw: &str, what: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound(format!("no {what} has that id")))
}

async fn service(Public(state): Public, Path(id): Path<String>) -> Response {
    let result = async {
        let (project, organisation) = open_referral::one(&state.db, path_id(&id, "service")?).await?;
        Ok(service_json(&project, &organisation, &state.public_url))
    }
    .await;
    answer(result)
}

fn simple_page(query: Params, items: Vec<Value>) -> AppResult<Value> {
    let Query(pairs) =
        query.map_err(|_| AppError::bad_input("query", "could not be read as URL-encoded parameters"))?;
    let given = super::parameters(&pairs, &["page", "per_page"], "this list")?;
    let (page, per_page) = paging(&given)?;
    let total = items.len() as u64;
    let skip = usize::try_from(page.saturating_sub(1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    Ok(page_json(items.into_iter().skip(skip).take(take).collect(), total, page, per_page))
}

async fn taxonomies(query: Params) -> Response {
    answer(simple_page(query, vec![taxonomy_json(false)]))
}

async fn taxonomy(Path(id): Path<String>) -> Response {
    answer(match path_id(&id, "taxonomy") {
        Ok(id) if id == taxonomy_id() => Ok(taxonomy_json(true)),
        Ok(_) => Err(AppError::NotFound("no taxonomy has that id".into())),
        Err(e) => Err(e),
    })
}

async fn terms(query: Params) -> Response {
    answer(simple_page(query, NeedCategory::ALL.iter().map(|c| term_json(*c)).collect()))
}

async fn term(Path(id): Path<String>) -> Response {
    let found = path_id(&id, "taxonomy term")
        .and_then(|id| {
            NeedCategory::ALL
                .iter()
                .find(|c| term_id(**c) == id)
                .copied()
                .ok_or_else(|| AppError::NotFound("no taxonomy term has that id".into()))
        })
        .map(term_json);
    answer(found)
}

//! Open data out: what publishers funded, as 360Giving 1.4 (`/open-data/360giving.json` and `.csv`,
//! `?publisher=<organisation slug>`). Public money, public data: no key, open CORS, cacheable.
use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::funding::open_data;
use serde_json::json;

use super::AppState;
use super::pages::json_ld;
use crate::error::{AppError, AppResult};
use crate::http::replicas::Public;

pub fn routes() -> Router<AppState> {
    Router::new().route("/open-data/360giving.json", get(package)).route("/open-data/360giving.csv", get(csv))
}

/// What anyone may do with the data: share and adapt it, crediting its publisher.
const LICENSE: &str = "https://creativecommons.org/licenses/by/4.0/";
/// Grants change when a decision or payment is made: a few minutes' staleness is fine for a published register.
const MAX_AGE: u32 = 300;

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

fn publisher(query: Params) -> AppResult<String> {
    let Query(pairs) =
        query.map_err(|_| AppError::bad_input("query", "could not be read as URL-encoded parameters"))?;
    let given = super::parameters(&pairs, &["publisher"], "the 360Giving data")?;
    given.get("publisher").map(|s| s.to_string()).filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        AppError::bad_input("publisher", "is needed: the slug of the organisation whose funds these are")
    })
}

async fn package(Public(state): Public, query: Params) -> Response {
    package_of(&state, query).await.unwrap_or_else(|e| super::error_response(&e))
}

async fn package_of(state: &AppState, query: Params) -> AppResult<Response> {
    let slug = publisher(query)?;
    let (publisher, grants) = open_data::grants(&state.db, &slug).await?;
    // A 360Giving package holds at least one grant.
    if grants.is_empty() {
        return Err(AppError::NotFound(format!("{} has published no approved grants yet", publisher.name)));
    }
    let modified = grants.iter().map(|g| g.modified).max().unwrap_or_else(domain::now);
    let body = json!({
        "version": "1.4",
        "title": format!("Grants made by {} through Pitch In", publisher.name),
        "identifier": format!("pitchin-{}", publisher.slug),
        "publisher": { "name": publisher.name },
        "license": LICENSE,
        "issued": domain::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "modified": modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "accessURL": format!("{}/open-data/360giving.json?publisher={}", state.public_url, publisher.slug),
        "grants": grants.iter().map(open_data::grant_json).collect::<Vec<_>>(),
    });
    Ok(super::open_data_headers(json_ld(&body).into_response(), "application/json; charset=utf-8", MAX_AGE))
}

async fn csv(Public(state): Public, query: Params) -> Response {
    csv_of(&state, query).await.unwrap_or_else(|e| super::error_response(&e))
}

async fn csv_of(state: &AppState, query: Params) -> AppResult<Response> {
    let slug = publisher(query)?;
    let (_, grants) = open_data::grants(&state.db, &slug).await?;
    Ok(super::open_data_headers(open_data::csv(&grants)?.into_response(), "text/csv; charset=utf-8", MAX_AGE))
}

//! Open data feeds for aggregators: OpenActive's Realtime Paged Data Exchange (RPDE 1.0), "modified timestamp and
//! ID" ordering, at `/feeds/needs` and `/feeds/organisations`. A page is `{next, items, license}`; an item is
//! `{state, kind, id, modified, data}`, `modified` being the row's `updated_at` in microseconds since 1970 and `id`
//! its UUID, in that order. A need that is closed is a `deleted` tombstone (no `data`) for
//! `domain::needs::feed::TOMBSTONE_DAYS`. Pages end at a horizon a settle time behind now, so that a change still to
//! commit is never paged past (`domain::store::changes` says why that holds). The last page has no items and a
//! `next` equal to its own address.
use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::needs::NeedStatus;
use domain::store::changes::Cursor;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::pages::{json_ld, need_schema_org, organisation_schema_org};
use crate::error::{AppError, AppResult};
use crate::http::replicas::Public;
use entity::organisation;

pub fn routes() -> Router<AppState> {
    Router::new().route("/feeds/needs", get(needs)).route("/feeds/organisations", get(organisations))
}

/// Items a page: RPDE's validator recommends at least 500, and a page of needs is two index reads.
const PAGE_SIZE: u64 = 500;
/// What anyone may do with the data: share and adapt it, crediting Pitch In.
const LICENSE: &str = "https://creativecommons.org/licenses/by/4.0/";
/// RPDE's cache lifetimes: a full page never changes; the last one soon gains items.
const PAGE_MAX_AGE: u32 = 3600;
const LAST_PAGE_MAX_AGE: u32 = 8;
/// 9999-12-31T23:59:59.999999Z, in microseconds: the latest cursor kept as given.
const LATEST_MICROS: i64 = 253_402_300_799_999_999;

fn bad(parameter: &str, message: impl Into<String>) -> AppError {
    AppError::bad_input(parameter, message)
}

/// The consumer's cursor from `afterTimestamp` and `afterId`: both or neither. Anything else is refused, so a
/// misspelt parameter is not silently read as "from the start".
fn cursor(query: Params) -> AppResult<Option<Cursor>> {
    let Query(pairs) = query.map_err(|_| bad("query", "could not be read as URL-encoded parameters"))?;
    let given = super::parameters(&pairs, &["afterTimestamp", "afterId"], "the feed")?;
    match (given.get("afterTimestamp"), given.get("afterId")) {
        (None, None) => Ok(None),
        (Some(timestamp), Some(id)) => {
            let micros: i64 =
                timestamp.parse().map_err(|_| bad("afterTimestamp", "must be a whole number: an item's `modified`"))?;
            // Clamped to 1970–9999, which both databases compare correctly (PostgreSQL refuses years before
            // 4713 BC; SQLite compares times as text, and chrono writes years past 9999 with a sign): before
            // 1970 is the start, after 9999 (RPDE's validator asks for 2^53 - 1) is after everything.
            let modified = DateTime::from_timestamp_micros(micros.clamp(0, LATEST_MICROS)).unwrap_or_default();
            let id = Uuid::parse_str(id).map_err(|_| bad("afterId", "must be an item's `id`"))?;
            Ok(Some(Cursor { modified, id }))
        }
        (Some(_), None) => Err(bad("afterId", "is needed with afterTimestamp")),
        (None, Some(_)) => Err(bad("afterTimestamp", "is needed with afterId")),
    }
}

/// The address of the page after `item`.
fn page_url(state: &AppState, path: &str, item: Cursor) -> String {
    format!("{}{path}?afterTimestamp={}&afterId={}", state.public_url, item.modified.timestamp_micros(), item.id)
}

/// The address the consumer asked for, as it asked: the last page's `next`.
fn own_url(state: &AppState, path: &str, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        Some(query) => format!("{}{path}?{query}", state.public_url),
        None => format!("{}{path}", state.public_url),
    }
}

fn horizon(state: &AppState) -> DateTime<Utc> {
    domain::now() - chrono::Duration::from_std(state.feed_settle).unwrap_or(chrono::Duration::zero())
}

struct Item {
    cursor: Cursor,
    kind: &'static str,
    /// `None`: a tombstone.
    data: Option<Value>,
}

/// The page as RPDE has it, with RPDE's cache lifetimes. `<`, `>` and `&` in user-written text are written as JSON
/// escapes, so the body is inert even where something serves it as HTML.
fn respond(state: &AppState, path: &str, query: Option<&str>, items: Vec<Item>) -> Response {
    let next = match items.last() {
        Some(last) => page_url(state, path, last.cursor),
        None => own_url(state, path, query),
    };
    let max_age = if items.is_empty() { LAST_PAGE_MAX_AGE } else { PAGE_MAX_AGE };
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| {
            let mut value = json!({
                "state": if item.data.is_some() { "updated" } else { "deleted" },
                "kind": item.kind,
                "id": item.cursor.id.to_string(),
                "modified": item.cursor.modified.timestamp_micros(),
            });
            if let Some(data) = item.data {
                value["data"] = data;
            }
            value
        })
        .collect();
    let body = json_ld(&json!({ "next": next, "items": items, "license": LICENSE }));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "application/json; charset=utf-8".to_owned()),
        (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

async fn needs(Public(state): Public, query: Params, RawQuery(raw): RawQuery) -> Response {
    needs_page(&state, query, raw.as_deref()).await.unwrap_or_else(|e| super::error_response(&e))
}

/// A page of needs: two statements (the needs, then their organisations), however many items.
async fn needs_page(state: &AppState, query: Params, raw: Option<&str>) -> AppResult<Response> {
    let after = cursor(query)?;
    let rows = domain::needs::feed::page(&state.db, after, horizon(state), PAGE_SIZE).await?;
    let wanted: HashSet<Uuid> =
        rows.iter().filter(|n| !domain::needs::feed::is_deleted(n)).map(|n| n.organisation_id).collect();
    let organisations: HashMap<Uuid, organisation::Model> = if wanted.is_empty() {
        HashMap::new()
    } else {
        organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(wanted))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect()
    };
    let items = rows
        .iter()
        .map(|need| {
            let cursor = Cursor { modified: need.updated_at, id: need.id };
            let status = NeedStatus::from_db(&need.status).unwrap_or(NeedStatus::Closed);
            let data = (!domain::needs::feed::is_deleted(need))
                .then(|| organisations.get(&need.organisation_id))
                .flatten()
                .map(|o| need_schema_org(need, o, status, &state.public_url));
            Item { cursor, kind: "JobPosting", data }
        })
        .collect();
    Ok(respond(state, "/feeds/needs", raw, items))
}

async fn organisations(Public(state): Public, query: Params, RawQuery(raw): RawQuery) -> Response {
    organisations_page(&state, query, raw.as_deref()).await.unwrap_or_else(|e| super::error_response(&e))
}

/// A page of organisations: one statement.
async fn organisations_page(state: &AppState, query: Params, raw: Option<&str>) -> AppResult<Response> {
    let after = cursor(query)?;
    let rows = domain::organisations::feed_page(&state.db, after, horizon(state), PAGE_SIZE).await?;
    let items = rows
        .iter()
        .map(|o| Item {
            cursor: Cursor { modified: o.updated_at, id: o.id },
            kind: "Organization",
            data: Some(organisation_schema_org(o, &state.public_url)),
        })
        .collect();
    Ok(respond(state, "/feeds/organisations", raw, items))
}

//! One-click unsubscribe (RFC 8058) at `/unsubscribe/{token}`, the link in every message's `List-Unsubscribe`
//! header and footer. A POST (what a mail client sends, `List-Unsubscribe=One-Click`, or the page's own button)
//! turns that kind of message off for that account; a GET only shows the button, since mail scanners open links
//! and must not unsubscribe anyone by doing so. The token is signed (`auth::token::LinkKeys`), names the account
//! and the kind, and needs no sign-in. Never cached, never indexed, no referrer sent onwards.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use domain::notifications::NotificationKind;
use domain::notifications::preferences;

use super::{Framing, Page, STYLE, problem, render};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::notifications::render::{kind_words, unsubscribe_target};

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    home: &'a str,
    what: &'a str,
    action: String,
    done: bool,
    style: &'a str,
}

pub async fn confirm(State(state): State<AppState>, Path(token): Path<String>, request: HeaderMap) -> Response {
    respond(build(&state, &token, false).await, &request)
}

pub async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>, request: HeaderMap) -> Response {
    respond(build(&state, &token, true).await, &request)
}

fn respond(page: AppResult<Page>, request: &HeaderMap) -> Response {
    let mut response = page.unwrap_or_else(|e| problem(&e)).respond(request);
    // The address is the token: it goes nowhere else with a click.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn build(state: &AppState, token: &str, turn_off: bool) -> AppResult<Page> {
    let (user_id, kind) = unsubscribe_target(&state.keys.unsubscribe, token)
        .filter(|(_, kind)| !NotificationKind::is_account(*kind))
        .ok_or_else(|| AppError::not_found("unsubscribe link"))?;
    if turn_off {
        preferences::turn_off(&state.db, user_id, kind).await?;
        tracing::info!(user = %user_id, kind = kind.as_db(), "unsubscribed by link");
    }
    let body = render(&UnsubscribePage {
        home: &state.public_url,
        what: kind_words(kind),
        action: format!("{}/unsubscribe/{token}", state.public_url),
        done: turn_off,
        style: STYLE,
    })?;
    Ok(Page {
        status: StatusCode::OK,
        body,
        max_age: None,
        framing: Framing::SameOrigin,
        script: None,
        style: STYLE.to_owned(),
    })
}

//! A statement of volunteering's page, `/statements/{code}`: plain and printable, for an employer to open and check.
//! It shows only what the volunteer put on it; it is never cached (so a revocation holds at once), never indexed,
//! and sends no referrer onwards. A revoked statement answers 410 and says so; an unknown code, 404.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use domain::hours::statements;

use super::{Framing, Page, STYLE, problem, render, words};
use crate::error::{AppError, AppResult};
use crate::http::AppState;

struct LineView {
    organisation: String,
    role: String,
    dates: String,
    hours: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage<'a> {
    home: &'a str,
    name: &'a str,
    from: String,
    to: String,
    total: String,
    total_hours: String,
    issued: String,
    reference: String,
    lines: Vec<LineView>,
    style: &'a str,
}

#[derive(Template)]
#[template(path = "statement-revoked.html")]
struct RevokedPage<'a> {
    revoked: String,
    style: &'a str,
}

/// Hours as people write them, without trailing zeros: "2.5", "12", "0.75".
fn hours(minutes: i64) -> String {
    domain::hours::hours(minutes).to_string()
}

pub async fn page(State(state): State<AppState>, Path(code): Path<String>, request: HeaderMap) -> Response {
    let mut response = build(&state, &code).await.unwrap_or_else(|e| problem(&e)).respond(&request);
    // The address is the statement's key: it goes nowhere else with a click.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn build(state: &AppState, code: &str) -> AppResult<Page> {
    let statement = statements::by_code(&state.db, code).await?.ok_or_else(|| AppError::not_found("statement"))?;
    // Full dates: a statement is read years later.
    let full = |d: chrono::NaiveDate| words::date(d, i32::MIN);
    let page = |status, body| Page {
        status,
        body,
        max_age: None,
        framing: Framing::SameOrigin,
        script: None,
        style: STYLE.to_owned(),
    };
    if let Some(revoked) = statement.revoked_at {
        let body = render(&RevokedPage { revoked: full(revoked.date_naive()), style: STYLE })?;
        return Ok(page(StatusCode::GONE, body));
    }
    let lines = statements::lines(&statement)
        .into_iter()
        .map(|l| LineView {
            organisation: l.organisation,
            role: l.role,
            dates: if l.first_date == l.last_date {
                full(l.first_date)
            } else {
                format!("{} to {}", full(l.first_date), full(l.last_date))
            },
            hours: hours(l.minutes),
        })
        .collect();
    let total_hours = hours(statement.total_minutes);
    let body = render(&StatementPage {
        home: &state.public_url,
        name: &statement.name,
        from: full(statement.from_date),
        to: full(statement.to_date),
        total: format!("{total_hours} {}", if total_hours == "1" { "hour" } else { "hours" }),
        total_hours,
        issued: full(statement.created_at.date_naive()),
        reference: statement.id.to_string(),
        lines,
        style: STYLE,
    })?;
    Ok(page(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::hours;

    #[test]
    fn hours_print_as_people_write_them() {
        assert_eq!([hours(150), hours(60), hours(45), hours(0), hours(61)], ["2.5", "1", "0.75", "0", "1.02"]);
    }
}

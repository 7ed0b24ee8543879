//! Server-rendered HTML for people rather than programs: the public pages of needs and organisations (shared on
//! social media, found by search engines) and the embeddable listing widget. Templates are in `api/templates`,
//! compiled by askama, which escapes every value unless a template marks it `safe` (only JSON-LD and CSS built
//! here are). No page sets a cookie, loads anything from elsewhere or runs a script other than the one hashed
//! into its `Content-Security-Policy`.
pub mod embed;
mod need;
mod organisation;
mod statement;
mod unsubscribe;
pub use need::{need_url, public as public_need, schema_org as need_schema_org};
pub use organisation::schema_org as organisation_schema_org;
pub mod words;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/needs/{id}", get(need::page))
        .route("/organisations/{slug}", get(organisation::page))
        .route("/statements/{code}", get(statement::page))
        .route("/unsubscribe/{token}", get(unsubscribe::confirm).post(unsubscribe::unsubscribe))
        .route("/embed/needs", get(embed::widget))
        .route("/embed/click", get(embed::click))
        .route("/embed.js", get(embed::script))
}

/// The styles every page shares.
const STYLE: &str = include_str!("../../../templates/pages.css");

/// What `base.html` puts in every page's head: the title and summary social media previews show, the canonical
/// address, and the page's schema.org description.
pub struct Head {
    pub title: String,
    pub summary: String,
    pub canonical: String,
    pub home: String,
    /// Serialised by `json_ld`, safe inside a script element.
    pub json_ld: String,
    pub style: &'static str,
}

/// JSON for a `<script type="application/ld+json">` element: `<`, `>` and `&` escaped as JSON escapes, so no
/// user-written text can close the element or open a comment, and the JSON parses to the same values.
pub fn json_ld(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Who may frame a page.
pub enum Framing {
    /// Only Pitch In itself: the public pages.
    SameOrigin,
    /// Any site: the widget without a partner that registered its origins.
    Anyone,
    /// These origins only.
    Origins(Vec<String>),
}

/// A rendered page and how it may be cached and framed.
pub struct Page {
    pub status: StatusCode,
    pub body: String,
    /// `max-age` for shared caches; `None` for a page no cache should keep.
    pub max_age: Option<u32>,
    pub framing: Framing,
    /// The page's inline script, whose hash the policy allows.
    pub script: Option<&'static str>,
    /// The page's inline style, whose hash the policy allows.
    pub style: String,
}

/// Whether `request`'s `If-None-Match` names `etag` (or any version, `*`): then it gets 304.
pub fn holds(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*")
}

fn hash(text: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text.as_bytes())))
}

impl Page {
    /// The response, or 304 when `request` already holds this body (its `If-None-Match` names the page's `ETag`).
    pub fn respond(self, request: &HeaderMap) -> Response {
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&Sha256::digest(self.body.as_bytes())[..16]));
        let ancestors = match &self.framing {
            Framing::SameOrigin => "'self'".to_owned(),
            Framing::Anyone => "*".to_owned(),
            Framing::Origins(origins) => origins.join(" "),
        };
        let script = self.script.map_or_else(|| "'none'".to_owned(), hash);
        let policy = format!(
            "default-src 'none'; style-src {}; script-src {script}; img-src 'self'; base-uri 'none'; \
             form-action 'self'; frame-ancestors {ancestors}",
            hash(&self.style)
        );
        let cache = match self.max_age {
            Some(seconds) => format!("public, max-age={seconds}"),
            None => "no-store".to_owned(),
        };
        let fresh = self.status == StatusCode::OK && holds(request, &etag);
        let mut response =
            if fresh { StatusCode::NOT_MODIFIED.into_response() } else { (self.status, self.body).into_response() };
        let headers = response.headers_mut();
        let mut set = |name: header::HeaderName, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        set(header::CONTENT_TYPE, "text/html; charset=utf-8");
        set(header::CONTENT_SECURITY_POLICY, &policy);
        set(header::CACHE_CONTROL, &cache);
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
        if self.status == StatusCode::OK {
            set(header::ETAG, &etag);
        }
        response
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    heading: &'a str,
    /// The parameter that was wrong, for a bad request.
    parameter: Option<&'a str>,
    message: &'a str,
    code: &'a str,
    style: &'a str,
}

/// A page that says what went wrong, with the error's code (also in `data-code` on `<main>`, for programs).
pub fn problem(error: &AppError) -> Page {
    let status = super::http_status(error);
    let heading = match error {
        AppError::BadInput { .. } => "That request was not quite right",
        AppError::NotFound(_) => "Not found",
        AppError::RateLimited { .. } => "Too many requests",
        AppError::Unavailable(_) => "Pitch In is busy",
        AppError::Forbidden(_) | AppError::Unauthenticated(_) => "Not available",
        AppError::Full { .. } => "This need is full",
        AppError::Conflict(_) | AppError::Internal(_) => "Something went wrong",
    };
    if matches!(error, AppError::Internal(_) | AppError::Conflict(_)) {
        tracing::error!(?error, "a page failed");
    }
    let (parameter, message) = match error {
        AppError::BadInput { field, message } => (Some(field.as_str()), message.clone()),
        other => (None, other.public_message()),
    };
    let code = error.code();
    let body = Problem { heading, parameter, message: &message, code, style: STYLE }
        .render()
        .unwrap_or_else(|_| format!("{heading}: {code}"));
    Page { status, body, max_age: None, framing: Framing::Anyone, script: None, style: STYLE.to_owned() }
}

/// Renders `template`, or the problem page if it cannot be.
pub fn render(template: &impl Template) -> Result<String, AppError> {
    template.render().map_err(AppError::internal)
}

/// The user-written text of a description as paragraphs (blank lines between them).
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// A link someone typed, if it is a web address: anything else (a `javascript:` URL, say) is shown as nothing.
pub fn web_link(url: Option<&str>) -> Option<String> {
    url.map(str::trim)
        .filter(|u| {
            let lower = u.to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        })
        .map(str::to_owned)
}

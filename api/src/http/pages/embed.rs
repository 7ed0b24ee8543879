//! The embeddable listing widget: `GET /embed/needs`, a whole HTML document listing open needs with the filters of
//! `needs(filter:)` as query parameters, themed by validated parameters, and `GET /embed.js`, the script partners
//! paste, which shows it in a sandboxed iframe sized by the widget's height messages.
use std::collections::HashMap;

use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use domain::access::Viewer;
use domain::api_keys::service as keys;
use domain::api_keys::stats::Counted;
use domain::needs::service::NeedFilter;
use domain::needs::{NeedCategory, NeedOrder, NeedStatus};
use domain::organisations::OrganisationId;
use domain::store::page::Page as Keyset;
use domain::store::rows::Shown;
use domain::values::{Coordinates, RadiusKm, TimeWindow};
use domain::volunteers::DbsLevel;

use super::need::need_url;
use super::{Framing, Page, problem, render, words};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::replicas::Public;
use crate::kit::ids::{NodeKind, decode_any, encode};

/// The parameters the widget takes; any other is refused, so that a misspelt one is not silently ignored.
const PARAMETERS: [&str; 15] = [
    "organisation",
    "categories",
    "skills",
    "text",
    "lat",
    "lng",
    "radiusKm",
    "remote",
    "order",
    "limit",
    "after",
    "accent",
    "font",
    "density",
    "partner",
];

const DEFAULT_LIMIT: i32 = 10;
const MAX_LIMIT: i32 = 50;
/// Without `radiusKm`, a centre searches this far around it.
const DEFAULT_RADIUS_KM: f64 = 10.0;
/// A widget's page may be a minute old: partners' pages are read far more often than needs change.
const MAX_AGE_SECS: u32 = 60;

const STYLE: &str = include_str!("../../../templates/embed.css");
/// Posts the document's height to the embedding page (see `embed.js`).
const HEIGHT_SCRIPT: &str = include_str!("../../../templates/embed-height.js");
const SCRIPT: &str = include_str!("../../../templates/embed.js");

/// The system font stacks a partner may pick from: nothing is fetched.
fn font_stack(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "SYSTEM" => "system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif",
        "SANS_SERIF" => "\"Helvetica Neue\",Arial,\"Liberation Sans\",sans-serif",
        "SERIF" => "Georgia,Cambria,\"Times New Roman\",Times,serif",
        "ROUNDED" => "ui-rounded,\"SF Pro Rounded\",\"Hiragino Maru Gothic ProN\",Quicksand,Comfortaa,sans-serif",
        "MONOSPACE" => "ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace",
        _ => return None,
    })
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour(pub [u8; 3]);

impl Colour {
    /// `RRGGBB` or `RGB`, with or without a leading `#`.
    pub fn parse(raw: &str) -> Option<Colour> {
        let hex = raw.trim().trim_start_matches('#');
        let digits: Vec<u8> =
            hex.chars().map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok())).collect::<Option<_>>()?;
        match digits[..] {
            [r, g, b] => Some(Colour([r * 17, g * 17, b * 17])),
            [r1, r2, g1, g2, b1, b2] => Some(Colour([r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2])),
            _ => None,
        }
    }

    /// WCAG 2's relative luminance.
    fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        let [r, g, b] = self.0;
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// The contrast ratio against white (the widget's background, and the text on its buttons).
    pub fn contrast_with_white(self) -> f64 {
        1.05 / (self.luminance() + 0.05)
    }

    /// This colour, darkened step by step until it meets WCAG AA's 4.5:1 for text against white.
    pub fn readable_on_white(self) -> Colour {
        let mut colour = self;
        while colour.contrast_with_white() < 4.5 {
            let [r, g, b] = colour.0;
            // 5% darker a step: at most about 60 steps from white to a readable grey.
            colour = Colour([r, g, b].map(|c| (f64::from(c) * 0.95).floor() as u8));
        }
        colour
    }

    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// What a widget request asks for, parsed.
struct Request {
    filter: NeedFilter,
    organisation_slug: Option<String>,
    /// The partner's API key id, as given.
    partner: Option<String>,
    order: NeedOrder,
    keyset: Keyset,
    accent: Colour,
    font: &'static str,
    compact: bool,
}

fn bad(parameter: &str, message: impl Into<String>) -> AppError {
    AppError::bad_input(parameter, message)
}

fn number(parameter: &str, raw: &str) -> AppResult<f64> {
    raw.trim().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| bad(parameter, "must be a number"))
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl Request {
    fn parse(pairs: &[(String, String)]) -> AppResult<Request> {
        let given = crate::http::parameters(pairs, &PARAMETERS, "the widget")?;
        let get = |name: &str| given.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut filter = NeedFilter { status: Some(NeedStatus::Open), ..NeedFilter::default() };
        if let Some(raw) = get("categories") {
            let categories = list(raw)
                .iter()
                .map(|c| {
                    NeedCategory::from_db(&c.to_ascii_uppercase()).ok_or_else(|| {
                        bad("categories", format!("has `{c}`, which is not a category such as ENGLISH_CLASSES"))
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            filter.categories = Some(categories);
        }
        if let Some(raw) = get("skills") {
            filter.skills = Some(list(raw));
        }
        filter.text = get("text").map(str::to_owned);
        filter.remote = match get("remote") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(bad("remote", "must be true or false")),
        };
        match (get("lat"), get("lng")) {
            (Some(lat), Some(lng)) => {
                let (lat, lng) = (number("lat", lat)?, number("lng", lng)?);
                if !(-90.0..=90.0).contains(&lat) {
                    return Err(bad("lat", "must be between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lng) {
                    return Err(bad("lng", "must be between -180 and 180"));
                }
                let radius = match get("radiusKm") {
                    Some(raw) => number("radiusKm", raw)?,
                    None => DEFAULT_RADIUS_KM,
                };
                filter.near = Some((Coordinates::new("centre", lat, lng)?, RadiusKm::new("radiusKm", radius)?));
            }
            (None, None) if get("radiusKm").is_some() => return Err(bad("radiusKm", "needs lat and lng")),
            (None, None) => {}
            (Some(_), None) => return Err(bad("lng", "is needed with lat")),
            (None, Some(_)) => return Err(bad("lat", "is needed with lng")),
        }
        let order = match get("order").map(str::to_ascii_uppercase).as_deref() {
            None | Some("NEWEST") => NeedOrder::Newest,
            Some("SOONEST") => NeedOrder::Soonest,
            Some("NEAREST") if filter.near.is_some() => NeedOrder::Nearest,
            Some("NEAREST") => return Err(bad("order", "NEAREST needs lat and lng")),
            Some(_) => return Err(bad("order", "must be NEWEST, SOONEST or NEAREST")),
        };
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))?,
        };
        let keyset = Keyset::parse(Some(limit), get("after").map(str::to_owned), None, None)?;
        let accent = match get("accent") {
            None => Colour([0x0b, 0x57, 0xa4]),
            Some(raw) => Colour::parse(raw)
                .ok_or_else(|| bad("accent", "must be a hex colour such as 0b57a4 or #0b57a4"))?
                .readable_on_white(),
        };
        let font = match get("font") {
            None => font_stack("SYSTEM").unwrap_or("sans-serif"),
            Some(raw) => {
                font_stack(raw).ok_or_else(|| bad("font", "must be SYSTEM, SANS_SERIF, SERIF, ROUNDED or MONOSPACE"))?
            }
        };
        let compact = match get("density").map(str::to_ascii_uppercase).as_deref() {
            None | Some("COMFORTABLE") => false,
            Some("COMPACT") => true,
            Some(_) => return Err(bad("density", "must be COMFORTABLE or COMPACT")),
        };
        Ok(Request {
            filter,
            organisation_slug: get("organisation").map(str::to_owned),
            partner: get("partner").map(str::to_owned),
            order,
            keyset,
            accent,
            font,
            compact,
        })
    }
}

/// One need as the widget shows it.
struct Entry {
    title: String,
    organisation: String,
    category: &'static str,
    schedule: String,
    place: String,
    distance: Option<String>,
    places: String,
    safeguarding: &'static str,
    help_url: String,
}

#[derive(Template)]
#[template(path = "embed.html")]
struct Widget {
    style: String,
    script: &'static str,
    needs: Vec<Entry>,
    more: Option<String>,
    home: String,
}

pub async fn widget(
    Public(state): Public,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    request: HeaderMap,
) -> Response {
    let page = match query {
        Ok(Query(pairs)) => build(&state, &pairs).await,
        Err(_) => Err(bad("query", "could not be read as URL-encoded parameters")),
    };
    page.unwrap_or_else(|e| problem(&e)).respond(&request)
}

async fn build(state: &AppState, pairs: &[(String, String)]) -> AppResult<Page> {
    let mut request = Request::parse(pairs)?;
    if let Some(slug) = &request.organisation_slug {
        let organisation = domain::organisations::service::find_by_slug(&state.db, slug)
            .await?
            .ok_or_else(|| bad("organisation", "names no organisation (give its slug, as in its page's address)"))?;
        request.filter.organisation_id = Some(OrganisationId(organisation.id));
    }
    // A partner's key says which sites may frame its widget and where "I can help" leads.
    let partner = match &request.partner {
        None => None,
        Some(raw) => {
            let id = match decode_any(raw) {
                Some((NodeKind::ApiKey, id)) => id,
                _ => return Err(bad("partner", "is not a partner's key id (the ApiKey id Pitch In gave the partner)")),
            };
            let key = keys::partner(&state.db, id).await?;
            Some((raw.as_str(), key.ok_or_else(|| bad("partner", "names no partner: no such key, or a revoked one"))?))
        }
    };
    let listed = domain::needs::service::list(
        &state.reads,
        &Viewer::anonymous(),
        request.filter,
        request.order,
        &request.keyset,
        true,
        &Shown::ALL,
    )
    .await?;
    let organisations: HashMap<uuid::Uuid, String> =
        listed.organisations.iter().filter_map(|o| Some((*o.id(), o.name().ok()?.clone()))).collect();
    let base = &state.public_url;
    let this_year = domain::now().year();
    let mut needs = Vec::with_capacity(listed.rows.rows.len());
    for row in &listed.rows.rows {
        let need = &row.need;
        let help_url = match &partner {
            None => need_url(base, *need.id()),
            // Through `/embed/click`, which counts the click for the partner and sends the person on.
            Some((partner_id, _)) => {
                format!("{base}/embed/click?partner={partner_id}&need={}", encode(NodeKind::Need, *need.id()).as_str())
            }
        };
        needs.push(Entry {
            title: need.title()?.clone(),
            organisation: organisations.get(need.organisation_id()).cloned().unwrap_or_default(),
            category: words::category(NeedCategory::from_db(need.category()?).unwrap_or(NeedCategory::Other)),
            schedule: words::schedule(
                &TimeWindow::from_json(need.weekly_schedule()?),
                *need.start_date(),
                *need.end_date()?,
                this_year,
            ),
            place: words::place(*need.remote()?, need.postcode()?.as_deref()),
            distance: row.distance_km.map(words::distance),
            places: words::places_left((need.volunteers_needed()? - need.places_taken()?).max(0)),
            safeguarding: words::safeguarding(DbsLevel::from_db(need.safeguarding()?).unwrap_or(DbsLevel::None)),
            help_url,
        });
    }
    // "Show more" is this request after the page's last row.
    let more = match listed.rows.rows.last() {
        Some(last) if listed.rows.has_next => {
            let mut next: Vec<(&str, &str)> =
                pairs.iter().filter(|(k, _)| k != "after").map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let cursor = last.cursor.encode();
            next.push(("after", &cursor));
            let query = serde_urlencoded::to_string(&next).map_err(AppError::internal)?;
            Some(format!("{base}/embed/needs?{query}"))
        }
        _ => None,
    };
    let gap = if request.compact { "0.5rem" } else { "1rem" };
    let style = format!(":root{{--accent:{};--font:{};--gap:{gap}}}\n{STYLE}", request.accent.hex(), request.font);
    let body = render(&Widget { style: style.clone(), script: HEIGHT_SCRIPT, needs, more, home: base.to_string() })?;
    if let Some((_, key)) = &partner {
        state.partners.count(key.id, Counted::View);
    }
    Ok(Page {
        status: StatusCode::OK,
        body,
        max_age: Some(MAX_AGE_SECS),
        framing: match partner.map(|(_, key)| keys::allowed_origins(&key)) {
            Some(origins) if !origins.is_empty() => Framing::Origins(origins),
            _ => Framing::Anyone,
        },
        script: Some(HEIGHT_SCRIPT),
        style,
    })
}

/// "I can help" in a partner's widget: counts the click for the partner (nothing about who) and sends the person to
/// the partner's own apply page, or to the need's page with `?ref=` so that an app applying from it can say where
/// they came from. The destination comes from the key, never from the request: this is no open redirect.
pub async fn click(
    Public(state): Public,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    request: HeaderMap,
) -> Response {
    match destination(&state, query).await {
        Ok(to) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
            response
        }
        Err(error) => problem(&error).respond(&request),
    }
}

async fn destination(
    state: &AppState,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> AppResult<String> {
    let Query(pairs) = query.map_err(|_| bad("query", "could not be read as URL-encoded parameters"))?;
    let given = crate::http::parameters(&pairs, &["partner", "need"], "this link")?;
    let partner_id = *given.get("partner").ok_or_else(|| bad("partner", "is needed"))?;
    let need_id = *given.get("need").ok_or_else(|| bad("need", "is needed"))?;
    let Some((NodeKind::ApiKey, key_id)) = decode_any(partner_id) else {
        return Err(bad("partner", "is not a partner's key id"));
    };
    let Some((NodeKind::Need, need)) = decode_any(need_id) else { return Err(bad("need", "is not a need's id")) };
    let key = keys::partner(&state.db, key_id)
        .await?
        .ok_or_else(|| bad("partner", "names no partner: no such key, or a revoked one"))?;
    state.partners.count(key.id, Counted::Click);
    // Made from the decoded ids, not the request's text: nothing but an id reaches the Location header.
    let need_id = encode(NodeKind::Need, need);
    Ok(keys::apply_url_for(&key, need_id.as_str()).unwrap_or_else(|| {
        format!("{}?ref={}", need_url(&state.public_url, need), encode(NodeKind::ApiKey, key.id).as_str())
    }))
}

/// The script partners paste: no dependencies, cached for an hour.
pub async fn script(request: HeaderMap) -> Response {
    let etag = format!("\"{}\"", super::hash(SCRIPT).trim_matches('\''));
    let fresh = super::holds(&request, &etag);
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { SCRIPT.into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_parsed_and_made_readable() {
        assert_eq!(Colour::parse("#0b57a4"), Some(Colour([0x0b, 0x57, 0xa4])));
        assert_eq!(Colour::parse("fa0"), Some(Colour([0xff, 0xaa, 0x00])));
        assert_eq!(Colour::parse("red"), None);
        assert_eq!(Colour::parse("#12345"), None);
        // Yellow on white is about 1.1:1: darkened until it reads.
        let yellow = Colour([0xff, 0xff, 0x00]).readable_on_white();
        assert!(yellow.contrast_with_white() >= 4.5, "{yellow:?}");
        assert!(yellow.contrast_with_white() < 5.0, "darkened no more than it needed: {yellow:?}");
        // Already readable: unchanged.
        assert_eq!(Colour([0x0b, 0x57, 0xa4]).readable_on_white(), Colour([0x0b, 0x57, 0xa4]));
        assert!((Colour([0, 0, 0]).contrast_with_white() - 21.0).abs() < 0.01);
    }

    fn parse(query: &str) -> AppResult<Request> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("a query");
        Request::parse(&pairs)
    }

    fn refused(query: &str) -> String {
        match parse(query) {
            Err(AppError::BadInput { field, .. }) => field,
            other => panic!("{query}: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(refused("limit=0"), "limit");
        assert_eq!(refused("limit=51"), "limit");
        assert_eq!(refused("categories=ENGLISH_CLASSES,KNITTING"), "categories");
        assert_eq!(refused("lat=51.4"), "lng");
        assert_eq!(refused("lat=91&lng=0"), "lat");
        assert_eq!(refused("radiusKm=5"), "radiusKm");
        assert_eq!(refused("lat=51&lng=0&radiusKm=500"), "radiusKm");
        assert_eq!(refused("order=NEAREST"), "order");
        assert_eq!(refused("order=OLDEST"), "order");
        assert_eq!(refused("remote=yes"), "remote");
        assert_eq!(refused("accent=javascript:alert(1)"), "accent");
        assert_eq!(refused("font=Comic%20Sans"), "font");
        assert_eq!(refused("density=SPACIOUS"), "density");
        assert_eq!(refused("categroies=ENGLISH_CLASSES"), "categroies");
        assert_eq!(refused("limit=5&limit=6"), "limit");
        assert_eq!(refused("after=not-a-cursor"), "after");
        let ok = parse(
            "categories=english_classes,JOBS_CLUB&lat=51.45&lng=-0.24&order=nearest&limit=5&density=COMPACT&font=serif",
        )
        .expect("parses");
        assert_eq!(ok.filter.categories, Some(vec![NeedCategory::EnglishClasses, NeedCategory::JobsClub]));
        assert_eq!(ok.order, NeedOrder::Nearest);
        assert!(ok.compact);
        assert_eq!(ok.filter.status, Some(NeedStatus::Open), "the widget lists open needs only");
    }
}

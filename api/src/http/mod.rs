//! The HTTP edge: routes, the bearer token → `Viewer` step, health checks, the pages (`pages`), calendars
//! (`calendar`) and open data feeds (`feeds`).
pub mod calendar;
pub mod edge;
pub mod feeds;
pub mod live;
pub mod metrics;
pub mod open_data;
pub mod openreferral;
pub mod pages;
pub mod payments;
pub mod replicas;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::ParseRequestError;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::LengthLimitError;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tracing::Instrument;
use uuid::Uuid;

use crate::Settings;
use crate::api_keys::ApiKeyCaller;
use crate::audit::{Actor, ViewLog};
use crate::auth::Viewer;
use crate::auth::token::TokenKeys;
use crate::error::AppError;
use crate::kit::batch::{LoadQueue, drive};

use crate::idempotency::{self, Claim};
use crate::kit::Loaders;
use crate::kit::rates::{Limit, Shared, Varying};
use crate::matching::index::MatchingIndex;
use crate::schema::{AppSchema, SchemaOptions, build_schema};
use domain::store::Reads;
use edge::Transport;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// The connections the hottest reads run on (see `reads`).
    pub reads: Reads,
    pub keys: Arc<TokenKeys>,
    pub schema: AppSchema,
    /// States the cost of documents `schema` refused as too costly (see `graphql::cost_schema`).
    pub cost_schema: AppSchema,
    /// Volunteers' and needs' scoring facts in memory (see `matching::index`), shared by every request.
    pub matching: Arc<MatchingIndex>,
    pub limits: Arc<RequestLimits>,
    /// Sends the notifications outbox through the mail transport (`notifications::sender`).
    pub notifications: crate::notifications::sender::Dispatcher,
    pub documents: Arc<ParsedDocuments>,
    /// The address the public reaches Pitch In at, without a trailing slash: every absolute link starts with it.
    pub public_url: Arc<str>,
    /// How far behind now the open data feeds stop (`Settings::feed_settle`).
    pub feed_settle: Duration,
    /// Partners' counts not yet written (`domain::api_keys::stats`).
    pub partners: Arc<domain::api_keys::stats::Tally>,
    /// The payment provider's webhook secret (`Settings::payment_webhook_secret`).
    pub payment_secret: Option<Arc<str>>,
    /// Live updates this server hears of and hands to its subscriptions (`domain::live`).
    pub live: Arc<domain::live::Hub>,
    /// The live connections (`live`).
    pub sockets: Arc<live::Sockets>,
    /// Documents known by their hash (automatic persisted queries, `edge`).
    pub persisted: Arc<edge::PersistedQueries>,
    /// How long shared caches may keep a public answer, in seconds (`Settings::public_max_age_secs`).
    pub public_max_age: u64,
    /// The read replica and who has just written (`replicas`), when there is one (`with_replica`).
    pub routing: Option<Arc<replicas::Routing>>,
}

/// Parsed documents by their text. Frontends send the same few documents over and over, and parsing one (a pest
/// grammar) took more of a listing request's CPU than executing it; a copy of a parsed one is much cheaper.
#[derive(Default)]
pub struct ParsedDocuments(std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>);

impl ParsedDocuments {
    /// Documents kept; when full, the cache starts afresh (a flood of distinct documents only costs it its hits).
    const MAX: usize = 256;
    /// Longer documents are parsed each time.
    const MAX_LEN: usize = 8 * 1024;

    /// Gives the request its parsed document, from the cache or parsed now (and kept). A document that does not
    /// parse is left for the schema, which says why.
    fn prepare(&self, request: &mut async_graphql::Request) {
        let cached = self.lock().get(&request.query).cloned();
        match cached {
            Some(document) => request.set_parsed_query(document),
            None => {
                let text = (request.query.len() <= Self::MAX_LEN).then(|| request.query.clone());
                if let (Some(text), Ok(document)) = (text, request.parsed_query()) {
                    let document = document.clone();
                    let mut documents = self.lock();
                    if documents.len() >= Self::MAX {
                        documents.clear();
                    }
                    documents.insert(text, document);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, ExecutableDocument>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Per-request limits from the settings: rate limits per IP, per user and per API key, the time a request may
/// take, the body size, and the origins browsers may call from. Rates are counted in Redis when it is configured
/// (`kit::rates`), so that they hold across servers.
pub struct RequestLimits {
    per_ip: Option<Limit<IpAddr>>,
    per_user: Option<Limit<Uuid>>,
    /// Sign-in attempts per email address (the users area counts them).
    pub sign_ins: Arc<crate::users::SignInAttempts>,
    /// Each API key's own limit (keys' rates differ).
    per_key: Varying<Uuid>,
    /// Redis, when the counts are shared.
    pub shared: Option<Arc<Shared>>,
    timeout: Duration,
    max_body_bytes: usize,
    cors_origins: Vec<String>,
}

impl RequestLimits {
    pub fn new(settings: &Settings) -> Self {
        let shared = settings.redis_url.as_deref().and_then(|url| {
            match Shared::new(
                url,
                &settings.redis_prefix,
                settings.jwt_secret.as_deref().unwrap_or_default().as_bytes(),
            ) {
                Ok(shared) => Some(Arc::new(shared)),
                Err(err) => {
                    tracing::error!(error = %err, "rate limits count on this server alone");
                    None
                }
            }
        });
        let minute = Duration::from_secs(60);
        Self {
            per_ip: Limit::new("ip", settings.rate_limit_per_ip, minute, shared.clone()),
            per_user: Limit::new("user", settings.rate_limit_per_user, minute, shared.clone()),
            sign_ins: Arc::new(crate::users::SignInAttempts::per_hour(
                settings.login_attempts_per_hour,
                shared.clone(),
            )),
            per_key: Varying::new("key", minute, shared.clone()),
            shared,
            timeout: Duration::from_millis(settings.request_timeout_ms),
            max_body_bytes: settings.max_body_bytes,
            cors_origins: settings.cors_origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect(),
        }
    }

    /// Counts a request of an API key against the key's own limit; how long to wait when it is over.
    async fn api_key_request(&self, key: &ApiKeyCaller) -> Option<Duration> {
        self.per_key.check(&key.id, key.rate_limit_per_minute).await
    }

    /// Forgets this server's counts for keys not seen lately, so memory does not grow with every address seen.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.forget_idle();
        }
        if let Some(l) = &self.per_user {
            l.forget_idle();
        }
        self.sign_ins.forget_idle();
    }
}

/// How long until a rate-limited caller may try again, if it is limited now.
async fn limited<K: std::hash::Hash + Eq + Clone + std::fmt::Display>(
    limit: Option<&Limit<K>>,
    key: &K,
) -> Option<Duration> {
    limit?.check(key).await
}

impl AppState {
    /// The state for `settings`, sending mail through `mailer` (`mail::from_settings`; tests pass their own).
    pub fn new(
        db: DatabaseConnection,
        keys: Arc<TokenKeys>,
        settings: &Settings,
        mailer: Arc<dyn crate::mail::Mailer>,
    ) -> Self {
        let matching = Arc::new(MatchingIndex::new());
        let limits = Arc::new(RequestLimits::new(settings));
        let notifications = crate::notifications::sender::Dispatcher::new(db.clone(), mailer, keys.clone(), settings);
        let options = SchemaOptions {
            introspection: settings.introspection,
            suggestions: settings.field_suggestions(),
            webhook_targets: settings.webhook_targets(),
            waitlist_offer: settings.waitlist_offer(),
            check_in_early: settings.check_in_early(),
        };
        let partners = Arc::new(domain::api_keys::stats::Tally::default());
        let reads = Reads::new(
            &db,
            settings.connection_budget().reads as usize,
            Duration::from_millis(settings.db_acquire_timeout_ms),
        );
        // PostgreSQL's signals are heard on a connection of their own, to the database itself.
        let live_hub = domain::live::Hub::new(db.clone(), settings.listen_url(), matching.clone());
        let schema = build_schema(
            live_hub.clone(),
            db.clone(),
            reads.clone(),
            keys.clone(),
            matching.clone(),
            limits.sign_ins.clone(),
            Arc::from(settings.public_url()),
            partners.clone(),
            options,
        );
        let documents = Arc::new(ParsedDocuments::default());
        Self {
            live: live_hub,
            persisted: Arc::new(edge::PersistedQueries::default()),
            public_max_age: settings.public_max_age_secs,
            sockets: Arc::new(live::Sockets::new(live::LiveLimits::new(settings))),
            db,
            reads,
            keys,
            schema,
            cost_schema: crate::schema::cost_schema(options),
            matching,
            limits,
            notifications,
            documents,
            public_url: Arc::from(settings.public_url()),
            feed_settle: settings.feed_settle(),
            partners,
            payment_secret: settings.payment_webhook_secret.as_deref().map(Arc::from),
            routing: None,
        }
    }

    /// Reads the public data from `replica` where it may answer (`replicas`), the matching index's loads included,
    /// measuring its lag against the primary from now on.
    pub fn with_replica(mut self, replica: Arc<domain::store::replica::Replica>, settings: &Settings) -> Self {
        replica.watch(self.db.clone());
        self.matching.read_from(self.db.clone(), replica.clone());
        let max_lag = Duration::from_millis(settings.replica_max_lag_ms);
        self.routing = Some(Arc::new(replicas::Routing::new(replica, self.limits.shared.clone(), max_lag)));
        self
    }
}

pub fn build_router(state: AppState) -> Router {
    // Only POST executes GraphQL, and only with a JSON body: see `admit`.
    let execute = post(graphql).layer(middleware::from_fn_with_state(state.clone(), admit));
    // Refusals made before a request runs (limits, unreadable bodies) are private too.
    let graphql_route = get(graphql_get).merge(execute).layer(middleware::map_response(edge::private_unless_public));
    let mut router = Router::new()
        .route("/graphql", graphql_route)
        .route("/graphql/ws", get(live::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(pages::routes())
        .merge(calendar::routes())
        .merge(feeds::routes())
        .merge(open_data::routes())
        .merge(openreferral::routes())
        .merge(payments::routes())
        // Counted by route pattern, so only matched routes: a path is the caller's to choose.
        .route_layer(middleware::from_fn(metrics::http_requests))
        // The GraphQL extractor reads the raw body, so axum's default limit does not apply: this one does.
        .layer(RequestBodyLimitLayer::new(state.limits.max_body_bytes));
    if let Some(cors) = cors_layer(&state.limits.cors_origins) {
        router = router.layer(cors);
    }
    // Spans name the method only: paths and query strings carry tokens (calendars, unsubscribe links) and GraphQL
    // variables, and spans may leave for a collector.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &axum::http::Request<_>| tracing::debug_span!("request", method = %request.method()));
    router.layer(trace).with_state(state)
}

/// Browsers may call from the configured origins (or any, with `*`); with none, only from the API's own.
/// Credentials are bearer tokens, never cookies, so no origin is ever allowed to send cookies.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static(idempotency::HEADER),
                HeaderName::from_static(API_KEY_HEADER),
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Before a GraphQL request is read: JSON only, and within the caller's IP rate limit.
///
/// A POST with a JSON content type cannot be sent cross-site by a plain form or `fetch` without a CORS preflight,
/// so mutations cannot be forged from another site (`text/plain`, form encodings, or no content type are refused:
/// async-graphql would otherwise parse them as JSON).
async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send GraphQL requests as POST with Content-Type: application/json",
            None,
        );
    }
    // The limit layer refuses a body whose Content-Length is too large; one sent without a length is read here,
    // up to the limit, so that it too is answered with 413 (async-graphql would report a cut-off body as 400).
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, state.limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return if over_limit(&*err.into_inner()) {
                payload_too_large()
            } else {
                refusal(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request body could not be read", None)
            };
        }
    };
    let request = Request::from_parts(parts, Body::from(body));
    // A partner's key has its own limit instead (checked once the key is known: see `graphql`).
    if request.headers().contains_key(API_KEY_HEADER) {
        return next.run(request).await;
    }
    if let Some(wait) = limited(state.limits.per_ip.as_ref(), &peer_ip(&request)).await {
        return rate_limited(wait);
    }
    next.run(request).await
}

/// The peer's address. Behind a proxy every request comes from the proxy's address: put the limit there, or raise
/// this one.
fn peer_ip(request: &Request) -> IpAddr {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The header partners send their API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn rate_limited(wait: Duration) -> Response {
    refusal(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "too many requests: slow down", Some(whole_seconds(wait)))
}

/// A query string as its pairs, each name once and only those `allowed`: a misspelt parameter is refused, never
/// silently ignored. `what` names the endpoint in the error ("the widget", "the feed").
pub fn parameters<'q>(
    pairs: &'q [(String, String)],
    allowed: &[&str],
    what: &str,
) -> Result<std::collections::HashMap<&'q str, &'q str>, AppError> {
    let mut given = std::collections::HashMap::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            return Err(AppError::bad_input(
                name.as_str(),
                format!("is not a parameter of {what} (it takes {})", allowed.join(", ")),
            ));
        }
        if given.insert(name.as_str(), value.as_str()).is_some() {
            return Err(AppError::bad_input(name.as_str(), "is given more than once"));
        }
    }
    Ok(given)
}

/// Open data's headers: its content type, cacheable by anyone for `max_age` seconds, readable from any site (no
/// credentials are ever involved), and never sniffed as something else.
pub fn open_data_headers(mut response: Response, content_type: &str, max_age: u32) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// The HTTP status that says what `error` says, for the endpoints outside GraphQL.
pub fn http_status(error: &AppError) -> StatusCode {
    match error {
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Conflict(_) | AppError::Full { .. } => StatusCode::CONFLICT,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error from a feed (calendars, open data): GraphQL's error shape, `{"errors": [{message, extensions: {code}}]}`,
/// with its HTTP status, so that one client reads both.
pub fn error_response(error: &AppError) -> Response {
    if matches!(error, AppError::Internal(_)) {
        tracing::error!(?error, "a feed failed");
    }
    let mut error_json = json!({ "message": error.public_message(), "extensions": { "code": error.code() } });
    if let AppError::BadInput { field, .. } = error {
        error_json["extensions"]["field"] = json!(field);
    }
    (http_status(error), Json(json!({ "errors": [error_json] }))).into_response()
}

/// A refusal before execution: a GraphQL error body with a code, and the HTTP status that says the same.
fn refusal(status: StatusCode, code: &str, message: &str, retry_after_secs: Option<u64>) -> Response {
    let mut error = json!({ "message": message, "extensions": { "code": code } });
    if let Some(secs) = retry_after_secs {
        error["extensions"]["retryAfterSeconds"] = json!(secs);
    }
    let mut response = (status, Json(json!({ "errors": [error] }))).into_response();
    if let Some(secs) = retry_after_secs
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Who is calling: a signed-in user (bearer token, checked against the account), a partner (API key), or nobody.
async fn caller(state: &AppState, headers: &HeaderMap, reads_only: bool) -> Result<Viewer, AppError> {
    let api_key = headers.get(API_KEY_HEADER).map(|v| v.to_str().unwrap_or(""));
    identify(state, bearer_token(headers), api_key, reads_only).await.map(|(viewer, _)| viewer)
}

/// Who is calling, from a user's access token or an API key (not both), and when the token was issued and expires:
/// for a request (`caller`) and for a live connection's `connection_init` (`live`) alike.
async fn identify(
    state: &AppState,
    token: Option<&str>,
    api_key: Option<&str>,
    reads_only: bool,
) -> Result<(Viewer, Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>), AppError> {
    match (token, api_key) {
        (Some(_), Some(_)) => {
            Err(AppError::bad_input("X-Api-Key", "send either a user's access token or an API key, not both"))
        }
        (Some(token), None) => {
            let (user, issued_at, expires_at) = state.keys.verify_lifetime(token)?;
            Ok((
                crate::auth::account_of(&state.reads, user, issued_at, reads_only).await?,
                Some((issued_at, expires_at)),
            ))
        }
        (None, Some(key)) => {
            Ok((Viewer::for_api_key(crate::api_keys::service::authenticate(&state.db, key).await?), None))
        }
        (None, None) => Ok((Viewer::anonymous(), None)),
    }
}

async fn graphql(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    let request = match request {
        Ok(request) => request.into_inner(),
        Err(GraphQLRejection(err)) => return unreadable(err),
    };
    run(state, peer, &headers, request, Transport::Post).await
}

/// `GET /graphql`: GraphiQL in a browser; with a query string, a query (or a persisted query's hash) that shared
/// caches may keep when it is anonymous (`edge`).
async fn graphql_get(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some(query) = query.filter(|q| !q.is_empty()) else { return graphiql().await.into_response() };
    let ip = peer.as_ref().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip());
    // As `admit` counts a POST: a partner's key has its own limit instead.
    if !headers.contains_key(API_KEY_HEADER)
        && let Some(wait) = limited(state.limits.per_ip.as_ref(), &ip).await
    {
        return rate_limited(wait);
    }
    let request = match edge::request_from_query(&query) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    run(state, peer, &headers, request, Transport::Get).await
}

/// Runs a GraphQL request however it came. The route's `edge::private_unless_public` makes every answer private
/// but those `edge::public` made public.
async fn run(
    state: AppState,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
    transport: Transport,
) -> Response {
    // Counted however this ends: `REFUSED` unless it runs (limits, credentials, the document's shape).
    let mut counted = metrics::Counted::start();
    let learnt = match state.persisted.resolve(&mut request) {
        Ok(learnt) => learnt.map(|hash| (hash, request.query.clone())),
        Err(refused) => return *refused,
    };
    let span = tracing::info_span!("graphql", operation = tracing::field::Empty, "otel.name" = tracing::field::Empty);
    let given = request.operation_name.clone();
    // Parsed once here (or found parsed), for the checks below and for the schema. A document that does not parse
    // goes on to the schema, which says why.
    state.documents.prepare(&mut request);
    let (reads_only, shown) = match request.parsed_query() {
        Ok(document) => {
            // The operation's name as the document has it (a client's `operationName` that names none of its
            // operations is not taken on trust): for the metrics and the span.
            let named = match &given {
                Some(given) => document.operations.iter().find_map(|(name, _)| name.filter(|n| n.as_str() == given)),
                None if document.operations.iter().count() == 1 => document.operations.iter().find_map(|(n, _)| n),
                None => None,
            };
            if let Some(name) = named {
                let label = counted.operation(name.as_str());
                span.record("operation", label);
                span.record("otel.name", format!("graphql {label}"));
            }
            if let Err(error) = crate::kit::limits::check_shape(document) {
                return GraphQLResponse::from(async_graphql::Response::from_errors(vec![error])).into_response();
            }
            // A document is kept for its hash only once it parses and is within the limits.
            if let Some((hash, query)) = learnt {
                state.persisted.keep(hash, &query);
            }
            let reads_only = document.operations.iter().all(|(_, operation)| operation.node.ty == OperationType::Query);
            if transport == Transport::Get && !reads_only {
                let mut refused = refusal(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    "only queries run over GET: send mutations as POST with Content-Type: application/json",
                    None,
                );
                refused.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                return refused;
            }
            (reads_only, crate::schema::shown::shown_by(document))
        }
        Err(_) => (false, domain::store::rows::Shown::ALL),
    };
    let viewer = match caller(&state, headers, reads_only).await {
        Ok(viewer) => viewer,
        Err(err) => {
            // A request with a bad key skipped the IP limit in `admit`: it counts there now, so guessing is slow.
            if headers.contains_key(API_KEY_HEADER)
                && let Some(wait) = limited(
                    state.limits.per_ip.as_ref(),
                    &peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip()),
                )
                .await
            {
                return rate_limited(wait);
            }
            return GraphQLResponse::from(rejected(err)).into_response();
        }
    };
    if let Some(user) = viewer.user_id()
        && let Some(wait) = limited(state.limits.per_user.as_ref(), &user).await
    {
        return rate_limited(wait);
    }
    if let Some(key) = &viewer.api_key
        && let Some(wait) = state.limits.api_key_request(key).await
    {
        return rate_limited(wait);
    }
    if let Some(key) = &viewer.api_key
        && let Ok(document) = request.parsed_query()
        && let Err(err) = crate::api_keys::check_operation(key, document)
    {
        return GraphQLResponse::from(rejected(err)).into_response();
    }
    let caller = match (&viewer.user, &viewer.api_key) {
        (Some(user), _) => replicas::Caller::User(user.id),
        (None, Some(key)) => replicas::Caller::ApiKey(key.id),
        (None, None) => replicas::Caller::at(peer.map(|p| p.0.0)),
    };
    // A mutation's caller, as the account and from the address (the pages a coordinator opens in a browser after
    // publishing): whatever it wrote, its next public reads must see.
    let writer = (!reads_only).then(|| [caller, replicas::Caller::at(peer.map(|p| p.0.0))]);
    let raw_key = headers.get(idempotency::HEADER).map(|v| v.to_str().unwrap_or("\u{0}"));
    let keyed = match idempotency::keyed(raw_key, &viewer, &mut request) {
        Ok(keyed) => keyed,
        Err(err) => return GraphQLResponse::from(rejected(err)).into_response(),
    };
    let claim = match &keyed {
        None => None,
        Some(keyed) => match idempotency::claim(&state.db, keyed, state.limits.timeout).await {
            Ok(Claim::Run(id)) => Some((id, keyed.seal)),
            Ok(Claim::Replay(body)) => {
                noted(&state, writer).await;
                return replay(body);
            }
            Err(err) => return GraphQLResponse::from(rejected(err)).into_response(),
        },
    };
    // Public reads (nobody signed in) may be answered by the replica; everything else by the primary.
    let replica = match &state.routing {
        Some(routing) if reads_only && viewer.user.is_none() && routing.serves(caller).await => {
            Some(routing.replica().clone())
        }
        _ => None,
    };
    let queue = LoadQueue::default();
    let loaders = Loaders::new(replica.as_ref().map_or(&state.reads, |r| r.reads()), &viewer, &queue, shown);
    let actor = Actor::of(&viewer);
    // Nobody's in particular, and not trying to be anyone (any `Authorization`, even one that is not a bearer token,
    // keeps an answer private): what it shows, anyone may see.
    let anonymous = viewer.user.is_none()
        && viewer.api_key.is_none()
        && !headers.contains_key(header::AUTHORIZATION)
        && !headers.contains_key(API_KEY_HEADER);
    let mut request = request.data(viewer).data(loaders).data(shown);
    if let Some(replica) = replica {
        // The request's own connections stand in for the schema's.
        request = request.data(replica.db().clone()).data(replica.reads().clone());
    }
    let work = execute(state.clone(), request, queue, actor, span, claim, writer);
    // A request holding an idempotency claim runs in a task of its own: a client that drops the connection (the
    // very case retries are for) must not cancel it between running the mutation and recording its outcome.
    let response = match claim {
        None => work.await,
        Some(_) => tokio::spawn(work).await.unwrap_or_else(|err| rejected(AppError::internal(err))),
    };
    counted.outcome(response.errors.first().map_or_else(
        || "OK".to_owned(),
        |error| {
            let code = error.extensions.as_ref().and_then(|e| e.get("code"));
            match code {
                Some(async_graphql::Value::String(code)) => code.clone(),
                _ => "BAD_USER_INPUT".to_owned(),
            }
        },
    ));
    if transport == Transport::Get && anonymous && response.errors.is_empty() {
        return edge::public(&response, headers, state.public_max_age);
    }
    GraphQLResponse::from(response).into_response()
}

/// Runs a request within the time allowed, gives every error a code, and records the outcome of a claimed key.
async fn execute(
    state: AppState,
    request: async_graphql::Request,
    queue: LoadQueue,
    actor: Actor,
    span: tracing::Span,
    claim: Option<(Uuid, idempotency::Seal)>,
    writer: Option<[replicas::Caller; 2]>,
) -> async_graphql::Response {
    // Kept out of the request so the views it collected can be written once it has run.
    let views = Arc::new(ViewLog::default());
    // What the cost schema needs, should the document prove too costly (a few hundred bytes, copied).
    let costing = (request.query.clone(), request.variables.clone(), request.operation_name.clone());
    let request = request.data(views.clone());
    // A request past its time is dropped where it stands: transactions roll back when dropped, so nothing is
    // left half-written.
    let mut timed_out = false;
    let mut response =
        match tokio::time::timeout(state.limits.timeout, drive(queue, state.schema.execute(request)).instrument(span))
            .await
        {
            Ok(response) => response,
            Err(_) => {
                timed_out = true;
                let mut error = async_graphql::ServerError::new("the request took too long and was stopped", None);
                let mut extensions = async_graphql::ErrorExtensionValues::default();
                extensions.set("code", "TIMEOUT");
                error.extensions = Some(extensions);
                async_graphql::Response::from_errors(vec![error])
            }
        };
    if crate::kit::limits::is_cost_refusal(&response) {
        let (query, variables, operation_name) = costing;
        let mut costed = async_graphql::Request::new(query).variables(variables);
        costed.operation_name = operation_name;
        response = state.cost_schema.execute(costed).await;
    }
    // Personal data of others goes out only once the audit log shows who saw it.
    if let Err(err) = views.flush(&state.db, actor).await {
        tracing::warn!(error = ?err, "could not write the audit log: response withheld");
        response = rejected(match err {
            AppError::Unavailable(cause) => AppError::Unavailable(cause),
            other => AppError::Unavailable(format!("{other:?}")),
        });
    }
    with_codes(&mut response);
    if let Some((id, seal)) = claim {
        // Kept when it ran cleanly, or when it was stopped partway: whether its mutation committed is not known, so
        // a retry gets the same answer rather than perhaps running it twice. Other errors come from mutations that
        // commit whole or not at all, so the key is given back and the retry runs.
        let kept = if response.errors.is_empty() || timed_out {
            match serde_json::to_string(&response) {
                Ok(body) => idempotency::finish(&state.db, id, seal, &body).await,
                Err(err) => Err(AppError::internal(err)),
            }
        } else {
            idempotency::abandon(&state.db, id).await
        };
        // The mutation has run either way: answer it, and let a retry find no response (and run) at worst.
        if let Err(err) = kept {
            tracing::warn!(error = ?err, "could not record the idempotency key's outcome");
        }
    }
    // Here, not after: a claimed request runs on in its own task when its client goes away.
    noted(&state, writer).await;
    response
}

/// Notes a mutation's caller for the replica's read-your-writes (`replicas`), when there is a replica.
async fn noted(state: &AppState, writer: Option<[replicas::Caller; 2]>) {
    if let (Some(routing), Some(writer)) = (&state.routing, writer) {
        routing.wrote(&state.db, &writer).await;
    }
}

/// Our resolvers' errors always carry a code; the rest come from async-graphql refusing the document itself
/// (syntax, unknown fields, bad scalars or enum values, limits): the client's input, in each case.
fn with_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
}

/// The stored response of an earlier request with the same idempotency key.
fn replay(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// A body that is not one GraphQL request, as a GraphQL error with a code (async-graphql would answer with text).
fn unreadable(err: ParseRequestError) -> Response {
    match err {
        ParseRequestError::PayloadTooLarge => payload_too_large(),
        ParseRequestError::UnsupportedBatch => refusal(
            StatusCode::BAD_REQUEST,
            "BATCH_NOT_SUPPORTED",
            "send one GraphQL request per HTTP request: batches are not accepted",
            None,
        ),
        _ => refusal(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the body is not a GraphQL request in JSON", None),
    }
}

/// Whether a body failed because it passed the size limit (the error may come wrapped, from either limit).
fn over_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<LengthLimitError>() {
            return true;
        }
        next = e.source();
    }
    false
}

fn payload_too_large() -> Response {
    refusal(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "the request body is too large", None)
}

/// A request whose credentials are bad is answered with one GraphQL error and not executed.
fn rejected(err: AppError) -> async_graphql::Response {
    let error = crate::error::to_graphql(err).into_server_error(async_graphql::Pos::default());
    async_graphql::Response::from_errors(vec![error])
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").title("Pitch In").finish())
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ready",
                // Whether this server hears live signals, and the subscriptions it holds (no one's in particular).
                "listening": state.live.listening(),
                "subscriptions": state.live.subscriptions(),
                // Whether the read replica is within its lag bound (null: there is none).
                "replica": state.routing.as_ref().map(|r| serde_json::json!({ "fresh": r.replica().fresh() })),
            })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database unavailable" })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParsedDocuments;

    #[test]
    fn parsed_documents_are_reused_and_bounded() {
        let documents = ParsedDocuments::default();
        let mut first = async_graphql::Request::new("{ needs(first: 2) { totalCount } }");
        documents.prepare(&mut first);
        assert_eq!(documents.lock().len(), 1);
        let mut again = async_graphql::Request::new("{ needs(first: 2) { totalCount } }");
        documents.prepare(&mut again);
        assert_eq!(documents.lock().len(), 1, "found, not parsed again");
        assert_eq!(format!("{:?}", again.parsed_query().ok()), format!("{:?}", first.parsed_query().ok()));
        // What does not parse is not kept, nor is a document over the length kept.
        documents.prepare(&mut async_graphql::Request::new("{ needs( "));
        let long = format!("{{ {} }}", "__typename ".repeat(1_000));
        documents.prepare(&mut async_graphql::Request::new(long));
        assert_eq!(documents.lock().len(), 1);
        for i in 0..ParsedDocuments::MAX {
            documents.prepare(&mut async_graphql::Request::new(format!("{{ a{i}: __typename }}")));
        }
        assert!(documents.lock().len() <= ParsedDocuments::MAX, "bounded");
    }
}

//! The HTTP edge: routes, the bearer token → `Viewer` step, health checks.
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

use crate::auth::Viewer;
use crate::auth::token::TokenKeys;
use crate::error::AppError;
use crate::graphql::{AppSchema, Loaders, build_schema};
use crate::matching::index::MatchingIndex;

/// Request bodies larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    pub schema: AppSchema,
    /// Volunteers' and needs' scoring facts in memory (see `matching::index`), shared by every request.
    pub matching: Arc<MatchingIndex>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, keys: Arc<TokenKeys>) -> Self {
        let matching = Arc::new(MatchingIndex::new());
        let schema = build_schema(db.clone(), keys.clone(), matching.clone());
        Self { db, keys, schema, matching }
    }
}

pub fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, request: GraphQLRequest) -> GraphQLResponse {
    let request = request.into_inner();
    let span = tracing::info_span!("graphql", operation = request.operation_name.as_deref().unwrap_or("-"));
    let viewer = match bearer_token(&headers) {
        None => Viewer::anonymous(),
        Some(token) => match state.keys.verify(token) {
            Ok(user) => Viewer::new(Some(user)),
            Err(err) => return rejected(err),
        },
    };
    let loaders = Loaders::new(&state.db, &viewer);
    let request = request.data(viewer).data(loaders);
    let mut response = state.schema.execute(request).instrument(span).await;
    // Our resolvers' errors always carry a code; the rest come from async-graphql refusing the document
    // itself (syntax, unknown fields, bad scalars or enum values, limits): the client's input, in each case.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response.into()
}

/// A request whose credentials are bad is answered with one GraphQL error and not executed.
fn rejected(err: AppError) -> GraphQLResponse {
    let error = async_graphql::Error::from(err).into_server_error(async_graphql::Pos::default());
    async_graphql::Response::from_errors(vec![error]).into()
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
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database unavailable" })))
        }
    }
}

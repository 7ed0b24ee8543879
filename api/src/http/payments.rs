//! `POST /payments/webhook`: the payment provider tells Pitch In a pledge was paid. Signed as Standard Webhooks sign
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature` over the raw body; see `domain::funding::payments`),
//! verified before the body is even parsed. Answers: 200 with what was done; 401 for a bad or stale signature;
//! 409 for a replayed message id (nothing changes twice); 400 or 404 for a message naming no pledge of ours, or
//! the wrong amount; 503 where no secret is configured. Errors in GraphQL's shape, with their codes.
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use domain::funding::payments::{self, Outcome, Signed};
use serde_json::json;

use super::AppState;
use crate::error::{AppError, AppResult};
use crate::kit::ids::{NodeKind, encode};

/// A payment event is a few hundred bytes; 64 KiB leaves room for any provider's extra fields.
const MAX_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/payments/webhook", post(webhook).layer(DefaultBodyLimit::max(MAX_BODY)))
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match receive(&state, &headers, &body).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(error) => super::error_response(&error),
    }
}

async fn receive(state: &AppState, headers: &HeaderMap, body: &[u8]) -> AppResult<serde_json::Value> {
    let Some(secret) = state.payment_secret.as_deref() else {
        return Err(AppError::Unavailable("no payment provider is configured (PITCHIN_PAYMENT_WEBHOOK_SECRET)".into()));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let signed = Signed {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    };
    payments::verify(secret, &signed, domain::now())?;
    Ok(match payments::apply(&state.db, signed.id, body).await? {
        Outcome::Paid(pledge) => json!({ "outcome": "PAID", "pledgeId": encode(NodeKind::Pledge, pledge) }),
        Outcome::Ignored(why) => json!({ "outcome": "IGNORED", "reason": why }),
    })
}

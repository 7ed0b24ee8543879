//! The payment provider's word on pledges. Pitch In holds no money: the provider collects it and tells us in a
//! webhook signed as Standard Webhooks signs (HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}` with
//! the shared secret). A message more than five minutes from our clock is refused, and so is a message id already
//! applied, so a captured message cannot be replayed.
//!
//! The body: `{"type": "payment.succeeded", "data": {"reference": "pl_…", "amount": 2500, "currency": "GBP",
//! "paymentId": "pi_…"}}`, the amount in pence as providers send minor units. Other types are recorded and ignored.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use super::campaigns::{PledgeStatus, pledge_status};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::webhooks::signing;
use entity::{payment_event, pledge};

/// Standard Webhooks' tolerance: a message signed more than five minutes before (or after) our clock is refused.
pub const TOLERANCE_SECS: i64 = 300;

/// A message as it arrived: its three headers and the raw body the signature covers.
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// Refuses a message not signed with `secret`, or signed too far from `at`.
pub fn verify(secret: &str, signed: &Signed<'_>, at: DateTime<Utc>) -> AppResult<()> {
    let refused = |why: &str| AppError::Unauthenticated(why.to_owned());
    if signed.id.is_empty() || signed.id.len() > 255 {
        return Err(refused("webhook-id must be given (at most 255 characters)"));
    }
    let timestamp: i64 =
        signed.timestamp.trim().parse().map_err(|_| refused("webhook-timestamp must be Unix seconds"))?;
    if at.timestamp().abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(refused("webhook-timestamp is more than five minutes from now: refused as a possible replay"));
    }
    if !signing::verify(secret, signed.id, signed.timestamp.trim(), signed.body, signed.signature)? {
        return Err(refused("webhook-signature does not match the message"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<EventData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    reference: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    payment_id: Option<String>,
}

/// What a message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The pledge is now PAID.
    Paid(Uuid),
    /// Nothing to do, and why (an event type we do not act on; a pledge already paid).
    Ignored(&'static str),
}

/// Applies a verified message once: its id is recorded in the same transaction as its effect, so a second delivery
/// of it is refused as a replay (CONFLICT) and changes nothing.
#[tracing::instrument(skip_all, fields(message = %message_id))]
pub async fn apply(
    db: &(impl ConnectionTrait + TransactionTrait),
    message_id: &str,
    body: &[u8],
) -> AppResult<Outcome> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| AppError::bad_input("body", format!("is not a payment event: {e}")))?;
    let now = now();
    let txn = db.begin().await?;
    let recorded = payment_event::ActiveModel {
        id: Set(message_id.to_owned()),
        kind: Set(event.kind.chars().take(100).collect()),
        pledge_id: Set(None),
        received_at: Set(now),
    }
    .insert(&txn)
    .await;
    if let Err(err) = recorded {
        return Err(match AppError::from(err) {
            AppError::Conflict(_) => AppError::conflict("this message id was applied already: a replay is refused"),
            other => other,
        });
    }
    if event.kind != "payment.succeeded" {
        txn.commit().await?;
        return Ok(Outcome::Ignored("not an event Pitch In acts on"));
    }
    let data = event.data.ok_or_else(|| AppError::bad_input("data", "must be given for payment.succeeded"))?;
    // Matching pledges are paid by their funds, never through the provider.
    let found = pledge::Entity::find()
        .filter(pledge::Column::Reference.eq(data.reference.as_str()))
        .filter(pledge::Column::MatchId.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("pledge with that reference"))?;
    if data.currency != "GBP" {
        return Err(AppError::bad_input("data.currency", "must be GBP"));
    }
    if data.amount != found.amount_pence {
        return Err(AppError::bad_input("data.amount", format!("must be the pledge's {} pence", found.amount_pence)));
    }
    let outcome = match pledge_status(&found) {
        PledgeStatus::Paid => {
            // Acknowledged (the pledge is paid), but a second payment for it may be a double charge: say so.
            tracing::warn!(pledge = %found.id, message = %message_id, "a payment for a pledge already paid");
            Outcome::Ignored("the pledge is paid already")
        }
        PledgeStatus::Cancelled | PledgeStatus::Released | PledgeStatus::RefundDue => {
            return Err(AppError::conflict("the pledge was cancelled or released: refund the payment"));
        }
        PledgeStatus::Promised => {
            let paid = pledge::Entity::update_many()
                .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Paid.as_db()))
                .col_expr(pledge::Column::PaidAt, Expr::value(now))
                .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
                .col_expr(
                    pledge::Column::ProviderPaymentId,
                    Expr::value(data.payment_id.map(|p| p.chars().take(255).collect::<String>())),
                )
                .filter(pledge::Column::Id.eq(found.id))
                .filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
                .exec(&txn)
                .await?;
            if paid.rows_affected == 0 {
                return Err(AppError::conflict("the pledge changed meanwhile: send the message again"));
            }
            Outcome::Paid(found.id)
        }
    };
    payment_event::Entity::update_many()
        .col_expr(payment_event::Column::PledgeId, Expr::value(found.id))
        .filter(payment_event::Column::Id.eq(message_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(outcome)
}

//! Email verification: a one-time code for the address (only its SHA-256 is stored), valid for two days.
//! Proving the address matters for the retention rule: accounts never verified are erased after a while
//! (`privacy::erase_stale_unverified`). Mailing the code is the transport's (`api::users::verification`).
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::now;
use entity::{email_verification, user};

const VALID_FOR: TimeDelta = TimeDelta::days(2);

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new one-time code for the account, stored hashed; the caller mails it (`mail`) once its transaction commits.
pub async fn issue(db: &impl ConnectionTrait, account: &user::Model) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = now();
    email_verification::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(account.id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + VALID_FOR),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Marks the address behind a token verified; the token works once.
pub async fn confirm(db: &impl ConnectionTrait, token: &str) -> AppResult<DateTime<Utc>> {
    let invalid = || AppError::bad_input("input.token", "the verification code is invalid, used or expired");
    let now = now();
    let row = email_verification::Entity::find()
        .filter(email_verification::Column::TokenHash.eq(hash(token.trim())))
        .one(db)
        .await?
        .filter(|r| r.used_at.is_none() && r.expires_at > now)
        .ok_or_else(invalid)?;
    // Conditional, so two uses of one token verify once.
    let used = email_verification::Entity::update_many()
        .col_expr(email_verification::Column::UsedAt, Expr::value(now))
        .filter(email_verification::Column::Id.eq(row.id))
        .filter(email_verification::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected == 0 {
        return Err(invalid());
    }
    let account =
        user::Entity::find_by_id(row.user_id).one(db).await?.filter(|u| u.deleted_at.is_none()).ok_or_else(invalid)?;
    if let Some(at) = account.email_verified_at {
        return Ok(at);
    }
    let mut active: user::ActiveModel = account.into();
    active.email_verified_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(now)
}

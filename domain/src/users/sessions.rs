//! Sign-in sessions: opaque refresh tokens, stored as SHA-256 hashes, rotated on every use.
//!
//! A session is a family of tokens. Refreshing marks the presented token used and issues the next one in the family,
//! in one transaction. A used token presented again means two parties hold the family (a stolen token, or its thief
//! came second), so the whole family ends. Signing out ends a family; signing out everywhere, or changing the
//! password, ends every family of the user, and every access token issued to them before then (each request checks
//! the account: see `auth::account_of`). Signing out on one device leaves that device's access token to run out (at
//! most 15 minutes).
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::now;
use entity::refresh_token;

/// How long a refresh token may go unused before the session must sign in again.
pub const REFRESH_TTL: TimeDelta = TimeDelta::days(30);

pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid() -> AppError {
    AppError::Unauthenticated("the refresh token is invalid, used or expired: sign in again".into())
}

async fn issue(db: &impl ConnectionTrait, user_id: Uuid, family_id: Uuid) -> AppResult<IssuedRefresh> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = now();
    let expires_at = now + REFRESH_TTL;
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(IssuedRefresh { token, expires_at })
}

/// Starts a session (a new family) for a user who has just proven who they are.
pub async fn start(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<IssuedRefresh> {
    issue(db, user_id, Uuid::now_v7()).await
}

/// Trades a refresh token for the next one in its family; returns the user it belongs to.
pub async fn rotate(db: &(impl ConnectionTrait + TransactionTrait), token: &str) -> AppResult<(Uuid, IssuedRefresh)> {
    use refresh_token::Column as C;
    let Some(row) = refresh_token::Entity::find().filter(C::TokenHash.eq(hash(token))).one(db).await? else {
        return Err(invalid());
    };
    if row.revoked_at.is_some() || row.expires_at < now() {
        return Err(invalid());
    }
    if row.used_at.is_some() {
        end_family(db, row.family_id).await?;
        return Err(AppError::Unauthenticated(
            "this refresh token was already used, so its session has been ended: sign in again".into(),
        ));
    }
    let txn = db.begin().await?;
    // Only one of two racing uses can mark it; the other is a reuse.
    let marked = refresh_token::Entity::update_many()
        .col_expr(C::UsedAt, Expr::value(now()))
        .filter(C::Id.eq(row.id))
        .filter(C::UsedAt.is_null())
        .filter(C::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected == 0 {
        txn.rollback().await?;
        end_family(db, row.family_id).await?;
        return Err(invalid());
    }
    let next = issue(&txn, row.user_id, row.family_id).await?;
    txn.commit().await?;
    Ok((row.user_id, next))
}

async fn end_family(db: &impl ConnectionTrait, family_id: Uuid) -> AppResult<u64> {
    use refresh_token::Column as C;
    let ended = refresh_token::Entity::update_many()
        .col_expr(C::RevokedAt, Expr::value(now()))
        .filter(C::FamilyId.eq(family_id))
        .filter(C::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(ended.rows_affected)
}

/// Ends the session a refresh token belongs to (signing out on one device). Ending an ended or unknown session is
/// not an error: the caller is signed out either way.
pub async fn end(db: &impl ConnectionTrait, token: &str) -> AppResult<bool> {
    let row = refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash(token))).one(db).await?;
    match row {
        Some(row) => Ok(end_family(db, row.family_id).await? > 0),
        None => Ok(false),
    }
}

/// Ends every session of a user, and the access tokens already issued to them (see `auth::account_of`); returns
/// how many sessions ended.
pub async fn end_all(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<u64> {
    use refresh_token::Column as C;
    let cut_off = now();
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::SessionsValidFrom, Expr::value(cut_off))
        .filter(entity::user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    let families: Vec<Uuid> = refresh_token::Entity::find()
        .filter(C::UserId.eq(user_id))
        .filter(C::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.family_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    refresh_token::Entity::update_many()
        .col_expr(C::RevokedAt, Expr::value(now()))
        .filter(C::UserId.eq(user_id))
        .filter(C::RevokedAt.is_null())
        .exec(db)
        .await?;
    // Live connections signed in as them close (at commit, when this runs in a transaction).
    crate::live::signal(db, crate::live::Signal::SignedOut(user_id, cut_off.timestamp_millis())).await?;
    Ok(families.len() as u64)
}

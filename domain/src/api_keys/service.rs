//! API key rules: issuing (the key is shown once; only its SHA-256 is kept), revoking, and recognising a key.
use base64::Engine;
use chrono::TimeDelta;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ApiKeyScope;
use crate::access::ApiKeyCaller;
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::bounded_text;
use entity::api_key;

/// Every key starts with this, so a leaked one is recognisable (secret scanners look for such prefixes).
const KEY_PREFIX: &str = "pik_";
/// Characters of the key kept in clear, to tell keys apart in lists.
const SHOWN_CHARS: usize = 12;
pub const DEFAULT_RATE_PER_MINUTE: i32 = 600;
const MAX_RATE_PER_MINUTE: i32 = 100_000;
/// `last_used_at` is written at most this often per key, so a busy key does not write on every request.
const LAST_USED_GRAIN: TimeDelta = TimeDelta::seconds(60);

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a new key may do.
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
    pub organisation_id: Option<Uuid>,
    pub rate_limit_per_minute: Option<i32>,
}

/// Issues a key; returns its row and the key itself, which is never stored and cannot be shown again.
#[tracing::instrument(skip_all)]
pub async fn issue(
    db: &(impl ConnectionTrait + TransactionTrait),
    issued_by: Actor,
    new: NewApiKey,
) -> AppResult<(api_key::Model, String)> {
    let name = bounded_text("input.name", &new.name, 1, 80)?;
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(AppError::bad_input("input.scopes", "name at least one scope"));
    }
    let reads_matches = scopes.contains(&ApiKeyScope::ReadOrganisationMatches);
    match (reads_matches, new.organisation_id) {
        (true, None) => {
            return Err(AppError::bad_input(
                "input.organisationId",
                "READ_ORGANISATION_MATCHES needs the organisation whose matches the key may read",
            ));
        }
        (false, Some(_)) => {
            return Err(AppError::bad_input(
                "input.organisationId",
                "only a key with READ_ORGANISATION_MATCHES is for one organisation",
            ));
        }
        _ => {}
    }
    if let Some(id) = new.organisation_id
        && entity::organisation::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::not_found("organisation"));
    }
    let rate = new.rate_limit_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
    if !(1..=MAX_RATE_PER_MINUTE).contains(&rate) {
        return Err(AppError::bad_input(
            "input.rateLimitPerMinute",
            format!("must be between 1 and {MAX_RATE_PER_MINUTE}"),
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let txn = db.begin().await?;
    let model = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        key_prefix: Set(key.chars().take(SHOWN_CHARS).collect()),
        key_hash: Set(hash(&key)),
        scopes: Set(scopes.iter().map(|s| s.as_db()).collect::<Vec<_>>().join(",")),
        organisation_id: Set(new.organisation_id),
        rate_limit_per_minute: Set(rate),
        created_by: Set(issued_by.user),
        created_at: Set(now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        issued_by,
        AuditAction::KeyIssued,
        None,
        &[],
        format!("API key {} ({})", model.key_prefix, model.name),
    )
    .await?;
    txn.commit().await?;
    Ok((model, key))
}

/// Revokes a key at once (on every server: each request looks its key up). Revoking a revoked key changes nothing.
pub async fn revoke(
    db: &(impl ConnectionTrait + TransactionTrait),
    revoked_by: Actor,
    id: Uuid,
) -> AppResult<api_key::Model> {
    let txn = db.begin().await?;
    let key = api_key::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(now()));
    let key = active.update(&txn).await?;
    audit::record(
        &txn,
        revoked_by,
        AuditAction::KeyRevoked,
        None,
        &[],
        format!("API key {} ({})", key.key_prefix, key.name),
    )
    .await?;
    txn.commit().await?;
    Ok(key)
}

/// Every key, newest first (a platform has a handful).
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find().order_by_desc(api_key::Column::CreatedAt).all(db).await?)
}

/// The caller behind an `X-Api-Key` header: a live key, or UNAUTHENTICATED. Notes when it was used, to the minute.
pub async fn authenticate(db: &impl ConnectionTrait, presented: &str) -> AppResult<ApiKeyCaller> {
    let invalid = || AppError::Unauthenticated("the API key is invalid or has been revoked".into());
    let presented = presented.trim();
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 100 {
        return Err(invalid());
    }
    let key = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash(presented)))
        .one(db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(invalid)?;
    let now = now();
    if key.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRAIN) {
        // Conditional, so concurrent requests of one key write once.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .filter(
                Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lt(now - LAST_USED_GRAIN)),
            )
            .exec(db)
            .await?;
    }
    Ok(ApiKeyCaller {
        id: key.id,
        scopes: key.scopes.split(',').filter_map(ApiKeyScope::from_db).collect(),
        organisation_id: key.organisation_id,
        rate_limit_per_minute: u32::try_from(key.rate_limit_per_minute).unwrap_or(1).max(1),
    })
}

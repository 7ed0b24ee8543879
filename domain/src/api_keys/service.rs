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
    pub partner: PartnerSettings,
}

/// What a key says about its partner's site, unparsed.
#[derive(Clone, Debug, Default)]
pub struct PartnerSettings {
    /// Origins that may frame the partner's widget (`https://library.example`); none: any site.
    pub allowed_origins: Vec<String>,
    /// The partner's own page for applying; `{needId}` stands for the need's id, else it is added as `need=`.
    pub apply_url: Option<String>,
}

/// At most this many origins a key: a partner is a few sites, not a directory.
const MAX_ORIGINS: usize = 20;

/// An origin as browsers send it: `https://host` or `http://host:port`, lower case, no path.
fn parse_origin(field: &str, raw: &str) -> AppResult<String> {
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = || AppError::bad_input(field, "must be an origin such as https://library.example (no path)");
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).ok_or_else(bad)?;
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !host_ok || !(port.is_empty() || port.parse::<u16>().is_ok()) {
        return Err(bad());
    }
    Ok(origin)
}

/// A web address for applying: http(s), no spaces or quotes, at most 500 characters.
fn parse_apply_url(field: &str, raw: &str) -> AppResult<String> {
    let url = raw.trim();
    let lower = url.to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    if !web
        || url.len() > 500
        || url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return Err(AppError::bad_input(field, "must be a web address starting https://, at most 500 characters"));
    }
    Ok(url.to_owned())
}

/// The settings as stored: origins comma-separated.
fn parse_partner(field: &str, settings: &PartnerSettings) -> AppResult<(String, Option<String>)> {
    if settings.allowed_origins.len() > MAX_ORIGINS {
        return Err(AppError::bad_input(format!("{field}.allowedOrigins"), format!("at most {MAX_ORIGINS} origins")));
    }
    let mut origins = settings
        .allowed_origins
        .iter()
        .enumerate()
        .map(|(i, o)| parse_origin(&format!("{field}.allowedOrigins[{i}]"), o))
        .collect::<AppResult<Vec<_>>>()?;
    origins.sort();
    origins.dedup();
    let apply = settings
        .apply_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|u| parse_apply_url(&format!("{field}.applyUrl"), u))
        .transpose()?;
    Ok((origins.join(","), apply))
}

/// A key's partner settings, read back.
pub fn allowed_origins(key: &api_key::Model) -> Vec<String> {
    key.allowed_origins.split(',').filter(|o| !o.is_empty()).map(str::to_owned).collect()
}

/// Where the partner sends people to apply to a need, if it has its own page: `{needId}` replaced, or `need=`
/// added to the query.
pub fn apply_url_for(key: &api_key::Model, need_id: &str) -> Option<String> {
    let url = key.apply_url.as_deref()?;
    Some(if url.contains("{needId}") {
        url.replace("{needId}", need_id)
    } else if url.contains('?') {
        format!("{url}&need={need_id}")
    } else {
        format!("{url}?need={need_id}")
    })
}

/// A key, revoked or not.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<api_key::Model> {
    api_key::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("API key"))
}

/// The key a widget names as its partner, if it exists and is not revoked.
pub async fn partner(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<api_key::Model>> {
    Ok(api_key::Entity::find_by_id(id).one(db).await?.filter(|k| k.revoked_at.is_none()))
}

/// Replaces a key's partner settings.
#[tracing::instrument(skip_all)]
pub async fn update_partner(
    db: &(impl ConnectionTrait + TransactionTrait),
    changed_by: Actor,
    id: Uuid,
    settings: PartnerSettings,
) -> AppResult<api_key::Model> {
    let (origins, apply) = parse_partner("input", &settings)?;
    let txn = db.begin().await?;
    let key = api_key::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("API key"))?;
    let mut active: api_key::ActiveModel = key.into();
    active.allowed_origins = Set(origins);
    active.apply_url = Set(apply);
    let key = active.update(&txn).await?;
    audit::record(
        &txn,
        changed_by,
        AuditAction::KeyChanged,
        None,
        &[],
        format!("API key {} ({}): partner settings", key.key_prefix, key.name),
    )
    .await?;
    txn.commit().await?;
    Ok(key)
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
    let (allowed_origins, apply_url) = parse_partner("input", &new.partner)?;
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
        allowed_origins: Set(allowed_origins),
        apply_url: Set(apply_url),
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

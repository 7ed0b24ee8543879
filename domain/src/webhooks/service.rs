//! Webhook endpoints: made, changed and removed by platform admins and by the admins of the organisation a key is
//! scoped to (`access::can_manage_webhooks`); each belongs to one API key and hears only what that key may read.
//! The signing secret is shown once, when the endpoint is made.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::WebhookEvent;
use super::signing;
use super::targets::Target;
use crate::access::{self, AuthUser};
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use entity::{api_key, webhook_endpoint};

/// A partner's few receivers, not a fan-out service: ten per key.
pub const MAX_ENDPOINTS_PER_KEY: u64 = 10;

pub struct NewEndpoint {
    pub api_key_id: Uuid,
    pub url: Target,
    pub events: Vec<WebhookEvent>,
}

/// A change to an endpoint; `None` keeps a field. Enabling an endpoint Pitch In disabled clears its reason, and
/// its deliveries still pending go out again.
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<Target>,
    pub events: Option<Vec<WebhookEvent>>,
    pub enabled: Option<bool>,
}

/// The events column: wrapped in commas, so that `LIKE '%,EVENT,%'` matches exactly one name.
fn events_column(events: &[WebhookEvent]) -> String {
    format!(",{},", events.iter().map(|e| e.as_db()).collect::<Vec<_>>().join(","))
}

/// The events an endpoint hears.
pub fn events_of(endpoint: &webhook_endpoint::Model) -> Vec<WebhookEvent> {
    endpoint.events.split(',').filter_map(WebhookEvent::from_db).collect()
}

fn check_events(field: &str, events: Vec<WebhookEvent>, key: &api_key::Model) -> AppResult<Vec<WebhookEvent>> {
    let mut events = events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(AppError::bad_input(field, "name at least one event"));
    }
    if key.organisation_id.is_none()
        && let Some(event) = events.iter().find(|e| e.is_about_applications())
    {
        return Err(AppError::bad_input(
            field,
            format!("{} is only for keys scoped to an organisation (its needs' applications)", event.as_db()),
        ));
    }
    Ok(events)
}

/// The key, if the actor may manage its webhooks. The transport asks this before it resolves an address, so that
/// nobody without the right can make the server look names up.
pub async fn managed_key(db: &impl ConnectionTrait, actor: &AuthUser, api_key_id: Uuid) -> AppResult<api_key::Model> {
    let key = api_key::Entity::find_by_id(api_key_id).one(db).await?.ok_or_else(|| AppError::not_found("API key"))?;
    access::require_webhook_manager(db, actor, key.organisation_id).await?;
    Ok(key)
}

/// An endpoint and its key, if the actor may manage them.
pub async fn managed(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<(webhook_endpoint::Model, api_key::Model)> {
    let endpoint = webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook endpoint"))?;
    let key = managed_key(db, actor, endpoint.api_key_id).await?;
    Ok((endpoint, key))
}

/// Every change to an endpoint goes in the audit log, in the change's transaction.
async fn audit(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    key: &api_key::Model,
    endpoint: &webhook_endpoint::Model,
    what: &str,
) -> AppResult<()> {
    let url = super::targets::without_query(&endpoint.url);
    let detail = format!("webhook endpoint {url} of API key {} ({}): {what}", key.key_prefix, key.name);
    audit::record(db, Actor::user(actor.id), AuditAction::WebhookChanged, None, &[], detail).await
}

/// Makes an endpoint; returns it and its signing secret, which is not shown again.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewEndpoint,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let key = managed_key(db, actor, new.api_key_id).await?;
    if key.revoked_at.is_some() {
        return Err(AppError::conflict("this API key is revoked"));
    }
    let events = check_events("input.events", new.events, &key)?;
    let existing =
        webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::ApiKeyId.eq(key.id)).count(db).await?;
    if existing >= MAX_ENDPOINTS_PER_KEY {
        return Err(AppError::conflict(format!("a key has at most {MAX_ENDPOINTS_PER_KEY} webhook endpoints")));
    }
    let secret = signing::new_secret();
    let now = now();
    let txn = db.begin().await?;
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        api_key_id: Set(key.id),
        url: Set(new.url.as_str().to_owned()),
        events: Set(events_column(&events)),
        secret: Set(secret.clone()),
        enabled: Set(true),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit(&txn, actor, &key, &endpoint, "made").await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, endpoint = %id))]
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    patch: EndpointPatch,
) -> AppResult<webhook_endpoint::Model> {
    let (endpoint, key) = managed(db, actor, id).await?;
    let reenabled = patch.enabled == Some(true) && !endpoint.enabled;
    if reenabled && key.revoked_at.is_some() {
        return Err(AppError::conflict("this endpoint's API key is revoked"));
    }
    let mut active: webhook_endpoint::ActiveModel = endpoint.into();
    if let Some(url) = patch.url {
        active.url = Set(url.as_str().to_owned());
    }
    if let Some(events) = patch.events {
        active.events = Set(events_column(&check_events("input.events", events, &key)?));
    }
    if let Some(enabled) = patch.enabled {
        active.enabled = Set(enabled);
        if enabled {
            active.disabled_reason = Set(None);
            active.disabled_at = Set(None);
        }
    }
    active.updated_at = Set(now());
    let txn = db.begin().await?;
    let endpoint = active.update(&txn).await?;
    if reenabled {
        // What waited while it was off starts afresh: a delivery that had used its attempts before the endpoint
        // was disabled would otherwise get one try and disable it again.
        super::outbox::restart_pending(&txn, endpoint.id).await?;
    }
    audit(&txn, actor, &key, &endpoint, "changed").await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Removes an endpoint and its deliveries.
#[tracing::instrument(skip_all, fields(actor = %actor.id, endpoint = %id))]
pub async fn delete(db: &(impl ConnectionTrait + TransactionTrait), actor: &AuthUser, id: Uuid) -> AppResult<()> {
    let (endpoint, key) = managed(db, actor, id).await?;
    let txn = db.begin().await?;
    // Deliveries before their endpoint: the order `outbox::record` locks them in, so the two cannot deadlock.
    entity::webhook_delivery::Entity::delete_many()
        .filter(entity::webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(endpoint.id).exec(&txn).await?;
    audit(&txn, actor, &key, &endpoint, "removed").await?;
    txn.commit().await?;
    Ok(())
}

/// A key's endpoints, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    api_key_id: Uuid,
) -> AppResult<Vec<webhook_endpoint::Model>> {
    managed_key(db, actor, api_key_id).await?;
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::ApiKeyId.eq(api_key_id))
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

//! The outbox: a delivery row per subscribed endpoint, written by the service that makes a change, in the change's
//! own transaction (so an event is never sent for a change rolled back, nor lost for one committed), then sent by
//! the transport's dispatcher: it claims due deliveries (`claim`), sends them, and records each outcome
//! (`record`). At least once: an attempt whose outcome was never recorded (a server that died mid-send) is tried
//! again when its claim lapses.
//!
//! Several servers on one database never send the same attempt twice: a claim is one conditional UPDATE (on
//! PostgreSQL over `FOR UPDATE SKIP LOCKED` rows, on SQLite under its single writer) that stamps the delivery with
//! the claim's expiry, and only the holder of that stamp may record the attempt's outcome.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::service::managed;
use super::{DeliveryStatus, WebhookEvent};
use crate::access::AuthUser;
use crate::api_keys::ApiKeyScope;
use crate::applications::ApplicationStatus;
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use entity::{api_key, application, need, webhook_delivery, webhook_endpoint};

/// Attempts before a delivery is given up and its endpoint disabled: with `Backoff`'s schedule from 5 s, the
/// last comes about 23.6 hours after the first ("retried for about a day").
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a retry waits: `first` × 4^(n−1) after the n-th attempt, at most 5,760 × `first` (8 hours when `first`
/// is 5 s), each ±20 % at random so that a receiver's outage does not end in a thundering herd.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: TimeDelta,
}

impl Backoff {
    pub const DEFAULT: Self = Self { first: TimeDelta::seconds(5) };
    const CAP_FACTOR: i64 = 5_760;

    /// The wait after attempt `attempt` (1-based) with `jitter` in [-1, 1] scaling the ±20 %.
    pub fn delay(self, attempt: i32, jitter: f64) -> TimeDelta {
        let exponent = Ord::min(u32::try_from(attempt.saturating_sub(1)).unwrap_or(0), 10);
        let factor = Ord::min(4i64.pow(exponent), Self::CAP_FACTOR);
        let base = self.first.num_milliseconds().saturating_mul(factor) as f64;
        TimeDelta::milliseconds((base * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))).round() as i64)
    }
}

// ---- Writing events, in the change's transaction -----------------------------------------------------------

#[derive(FromQueryResult)]
struct Subscribed {
    id: Uuid,
}

/// Endpoints that hear `event`: enabled, subscribed to it, of a live key that may read what it is about (the
/// organisation's own keys always; any key with the public listings scope when the subject is public).
async fn subscribed(
    db: &impl ConnectionTrait,
    event: WebhookEvent,
    organisation: OrganisationOf,
    public: bool,
) -> AppResult<Vec<Uuid>> {
    use api_key::Column as K;
    use webhook_endpoint::Column as E;
    let mut select = Query::select();
    select
        .column((webhook_endpoint::Entity, E::Id))
        .from(webhook_endpoint::Entity)
        .inner_join(
            api_key::Entity,
            Expr::col((api_key::Entity, K::Id)).equals((webhook_endpoint::Entity, E::ApiKeyId)),
        )
        .and_where(Expr::col((webhook_endpoint::Entity, E::Enabled)).eq(true))
        .and_where(Expr::col((webhook_endpoint::Entity, E::Events)).like(format!("%,{},%", event.as_db())))
        .and_where(Expr::col((api_key::Entity, K::RevokedAt)).is_null());
    let own = match organisation {
        OrganisationOf::Known(id) => Expr::col((api_key::Entity, K::OrganisationId)).eq(id),
        // The need's organisation, read in the same statement rather than in one more.
        OrganisationOf::Need(need_id) => Expr::col((api_key::Entity, K::OrganisationId)).in_subquery(
            Query::select()
                .column(need::Column::OrganisationId)
                .from(need::Entity)
                .and_where(Expr::col(need::Column::Id).eq(need_id))
                .to_owned(),
        ),
    };
    let readers = if public {
        own.or(Expr::col((api_key::Entity, K::Scopes)).like(format!("%{}%", ApiKeyScope::ReadPublicListings.as_db())))
    } else {
        own
    };
    select.and_where(readers);
    Ok(fetch_rows::<Subscribed>(db, &select).await?.into_iter().map(|s| s.id).collect())
}

enum OrganisationOf {
    Known(Uuid),
    Need(Uuid),
}

async fn enqueue(
    db: &impl ConnectionTrait,
    endpoints: Vec<Uuid>,
    event: WebhookEvent,
    payload: String,
) -> AppResult<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let now = now();
    let rows = endpoints.into_iter().map(|endpoint_id| webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        endpoint_id: Set(endpoint_id),
        event: Set(event.as_db().to_owned()),
        payload: Set(payload.clone()),
        status: Set(DeliveryStatus::Pending.as_db().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        last_attempt_at: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
    });
    webhook_delivery::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// A need's event, for every endpoint that hears it; call it inside the change's transaction, after its writes.
/// What it says is public (a need's public fields), in the domain's terms: the transport writes the body.
pub async fn need_event(db: &impl ConnectionTrait, event: WebhookEvent, need: &need::Model) -> AppResult<()> {
    let endpoints = subscribed(db, event, OrganisationOf::Known(need.organisation_id), true).await?;
    let payload = json!({
        "need": need.id,
        "organisation": need.organisation_id,
        "title": need.title,
        "status": need.status,
        "category": need.category,
        "remote": need.remote,
        "volunteersNeeded": need.volunteers_needed,
        "placesLeft": Ord::max(need.volunteers_needed - need.places_taken, 0),
        "updatedAt": need.updated_at,
    });
    enqueue(db, endpoints, event, payload.to_string()).await
}

/// An application's event, for the endpoints of keys scoped to the need's organisation. It names the application
/// and its need and says its status, and nothing about the volunteer: a receiver that may see more asks the API as
/// a signed-in member, where the access policy decides.
pub async fn application_event(
    db: &impl ConnectionTrait,
    event: WebhookEvent,
    application: &application::Model,
    previous: Option<ApplicationStatus>,
) -> AppResult<()> {
    let endpoints = subscribed(db, event, OrganisationOf::Need(application.need_id), false).await?;
    let payload = json!({
        "application": application.id,
        "need": application.need_id,
        "status": application.status,
        "previousStatus": previous.map(ApplicationStatus::as_db),
        "updatedAt": application.updated_at,
    });
    enqueue(db, endpoints, event, payload.to_string()).await
}

// ---- Sending: claims and outcomes ---------------------------------------------------------------------------

/// A delivery claimed for one attempt, with its endpoint.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: webhook_delivery::Model,
    pub endpoint: webhook_endpoint::Model,
}

/// Claims up to `limit` due deliveries of enabled endpoints for one attempt each, until `now + lease` (longer
/// than an attempt can take, so no other server takes the same delivery while this one sends it).
pub async fn claim(db: &impl ConnectionTrait, limit: u64, lease: TimeDelta) -> AppResult<Vec<Claimed>> {
    use webhook_delivery::Column as D;
    use webhook_endpoint::Column as E;
    let now = now();
    let deliveries = Alias::new("due");
    let mut due = Query::select();
    due.column((deliveries.clone(), D::Id))
        .from_as(webhook_delivery::Entity, deliveries.clone())
        .inner_join(
            webhook_endpoint::Entity,
            Expr::col((webhook_endpoint::Entity, E::Id)).equals((deliveries.clone(), D::EndpointId)),
        )
        .inner_join(
            api_key::Entity,
            Expr::col((api_key::Entity, api_key::Column::Id)).equals((webhook_endpoint::Entity, E::ApiKeyId)),
        )
        // A revoked key's partner hears nothing more, not even what was waiting.
        .and_where(Expr::col((api_key::Entity, api_key::Column::RevokedAt)).is_null())
        .and_where(Expr::col((deliveries.clone(), D::Status)).eq(DeliveryStatus::Pending.as_db()))
        .and_where(Expr::col((deliveries.clone(), D::NextAttemptAt)).lte(now))
        .and_where(
            Expr::col((deliveries.clone(), D::ClaimedUntil)).is_null().or(Expr::col((
                deliveries.clone(),
                D::ClaimedUntil,
            ))
            .lt(now)),
        )
        .and_where(Expr::col((webhook_endpoint::Entity, E::Enabled)).eq(true))
        .order_by((deliveries.clone(), D::NextAttemptAt), sea_orm::Order::Asc)
        .order_by((deliveries.clone(), D::Id), sea_orm::Order::Asc)
        .limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Two servers claiming at once pass over each other's rows instead of waiting for them.
        due.lock_with_tables_behavior(LockType::Update, [deliveries], LockBehavior::SkipLocked);
    }
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(D::ClaimedUntil, Expr::value(now + lease))
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::LastAttemptAt, Expr::value(now))
        .filter(D::Id.in_subquery(due))
        .exec_with_returning(db)
        .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let endpoints =
        webhook_endpoint::Entity::find().filter(E::Id.is_in(claimed.iter().map(|d| d.endpoint_id))).all(db).await?;
    Ok(claimed
        .into_iter()
        .filter_map(|delivery| {
            let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id)?.clone();
            Some(Claimed { delivery, endpoint })
        })
        .collect())
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered { status: u16 },
    /// Any other answer, or none (`status` is then `None`): refused address, timeout, connection error.
    Failed { status: Option<u16>, error: String },
}

/// What `record` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    /// Another attempt is due at this time.
    Retrying(DateTime<Utc>),
    /// The last attempt failed: the delivery is FAILED and its endpoint disabled.
    GaveUp,
    /// The claim had lapsed and another server took the delivery: this outcome is not its to record.
    Stale,
}

/// Records an attempt's outcome, if the claim is still this one's. `jitter` in [-1, 1] spreads the next attempt.
pub async fn record(
    db: &(impl ConnectionTrait + TransactionTrait),
    claimed: &Claimed,
    outcome: Outcome,
    backoff: Backoff,
    jitter: f64,
) -> AppResult<Recorded> {
    use webhook_delivery::Column as D;
    let delivery = &claimed.delivery;
    let Some(claim) = delivery.claimed_until else { return Err(AppError::internal("recording an unclaimed delivery")) };
    let now = now();
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(D::Id.eq(delivery.id))
        .filter(D::ClaimedUntil.eq(claim))
        .filter(D::Status.eq(DeliveryStatus::Pending.as_db()));
    let (status, error, recorded) = match outcome {
        Outcome::Delivered { status } => {
            update = update
                .col_expr(D::Status, Expr::value(DeliveryStatus::Delivered.as_db()))
                .col_expr(D::DeliveredAt, Expr::value(now));
            (Some(status), None, Recorded::Delivered)
        }
        Outcome::Failed { status, error } if delivery.attempts < MAX_ATTEMPTS => {
            let next = now + backoff.delay(delivery.attempts, jitter);
            update = update.col_expr(D::NextAttemptAt, Expr::value(next));
            (status, Some(error), Recorded::Retrying(next))
        }
        Outcome::Failed { status, error } => {
            update = update.col_expr(D::Status, Expr::value(DeliveryStatus::Failed.as_db()));
            (status, Some(error), Recorded::GaveUp)
        }
    };
    let error: Option<String> = error.map(|e| e.chars().take(300).collect());
    update = update
        .col_expr(D::LastStatusCode, Expr::value(status.map(i32::from)))
        .col_expr(D::LastError, Expr::value(error.clone()));
    let txn = db.begin().await?;
    if update.exec(&txn).await?.rows_affected == 0 {
        return Ok(Recorded::Stale);
    }
    if let Recorded::Retrying(next) = recorded {
        // The endpoint is failing: its other deliveries wait for the same retry rather than each spending an
        // attempt (and a send slot, up to the timeout) on it meanwhile, so one dead receiver holds up nobody else.
        webhook_delivery::Entity::update_many()
            .col_expr(D::NextAttemptAt, Expr::value(next))
            .filter(D::EndpointId.eq(delivery.endpoint_id))
            .filter(D::Status.eq(DeliveryStatus::Pending.as_db()))
            .filter(D::NextAttemptAt.lt(next))
            .filter(D::ClaimedUntil.is_null().or(D::ClaimedUntil.lt(now)))
            .exec(&txn)
            .await?;
    }
    if recorded == Recorded::GaveUp {
        use webhook_endpoint::Column as E;
        let why = format!(
            "disabled after {} failed attempts over about a day to deliver {} (last: {})",
            delivery.attempts,
            delivery.event,
            error.as_deref().unwrap_or("no answer")
        );
        webhook_endpoint::Entity::update_many()
            .col_expr(E::Enabled, Expr::value(false))
            .col_expr(E::DisabledReason, Expr::value(why))
            .col_expr(E::DisabledAt, Expr::value(now))
            .col_expr(E::UpdatedAt, Expr::value(now))
            .filter(E::Id.eq(delivery.endpoint_id))
            .filter(E::Enabled.eq(true))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(recorded)
}

/// An endpoint's deliveries still pending start again from their first attempt, now (it was enabled again).
pub async fn restart_pending(db: &impl ConnectionTrait, endpoint_id: Uuid) -> AppResult<()> {
    use webhook_delivery::Column as D;
    webhook_delivery::Entity::update_many()
        .col_expr(D::Attempts, Expr::value(0))
        .col_expr(D::NextAttemptAt, Expr::value(now()))
        .filter(D::EndpointId.eq(endpoint_id))
        .filter(D::Status.eq(DeliveryStatus::Pending.as_db()))
        .filter(D::ClaimedUntil.is_null().or(D::ClaimedUntil.lt(now())))
        .exec(db)
        .await?;
    Ok(())
}

/// When the next delivery of an enabled endpoint falls due, if any is pending: a read, so that a dispatcher
/// claims (a write) only when there is something to claim.
pub async fn next_due(db: &impl ConnectionTrait) -> AppResult<Option<DateTime<Utc>>> {
    use webhook_delivery::Column as D;
    use webhook_endpoint::Column as E;
    #[derive(FromQueryResult)]
    struct Due {
        due: Option<DateTime<Utc>>,
    }
    let mut select = Query::select();
    select
        .expr_as(Expr::col((webhook_delivery::Entity, D::NextAttemptAt)).min(), Alias::new("due"))
        .from(webhook_delivery::Entity)
        .inner_join(
            webhook_endpoint::Entity,
            Expr::col((webhook_endpoint::Entity, E::Id)).equals((webhook_delivery::Entity, D::EndpointId)),
        )
        .inner_join(
            api_key::Entity,
            Expr::col((api_key::Entity, api_key::Column::Id)).equals((webhook_endpoint::Entity, E::ApiKeyId)),
        )
        .and_where(Expr::col((webhook_delivery::Entity, D::Status)).eq(DeliveryStatus::Pending.as_db()))
        .and_where(Expr::col((webhook_endpoint::Entity, E::Enabled)).eq(true))
        .and_where(Expr::col((api_key::Entity, api_key::Column::RevokedAt)).is_null())
        // A delivery another server is sending is not due here until its claim lapses.
        .and_where(
            Expr::col((webhook_delivery::Entity, D::ClaimedUntil)).is_null().or(Expr::col((
                webhook_delivery::Entity,
                D::ClaimedUntil,
            ))
            .lt(crate::now())),
        );
    Ok(fetch_rows::<Due>(db, &select).await?.into_iter().next().and_then(|d| d.due))
}

/// Deliveries done with (delivered or given up) whose last attempt is older than `age` are forgotten.
pub async fn forget_old(db: &impl ConnectionTrait, age: TimeDelta) -> AppResult<u64> {
    use webhook_delivery::Column as D;
    let cutoff = now() - age;
    let result = webhook_delivery::Entity::delete_many()
        .filter(D::Status.ne(DeliveryStatus::Pending.as_db()))
        .filter(D::CreatedAt.lt(cutoff))
        .filter(D::LastAttemptAt.is_null().or(D::LastAttemptAt.lt(cutoff)))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

// ---- Reading and redelivering, for the endpoint's managers ---------------------------------------------------

fn sort_key() -> SortKey {
    use webhook_delivery::Column as D;
    SortKey {
        name: "webhookDeliveries:NEWEST",
        kind: SortKind::Time,
        key: Expr::col((webhook_delivery::Entity, D::CreatedAt)),
        id: Expr::col((webhook_delivery::Entity, D::Id)),
        descending: true,
    }
}

/// An endpoint's deliveries, newest first, each with its cursor, and the statement that counts them.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    endpoint_id: Uuid,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, webhook_delivery::Model)>, SelectStatement)> {
    use webhook_delivery::Column as D;
    managed(db, actor, endpoint_id).await?;
    let mut select = Query::select();
    select
        .columns([
            D::Id,
            D::EndpointId,
            D::Event,
            D::Payload,
            D::Status,
            D::Attempts,
            D::NextAttemptAt,
            D::ClaimedUntil,
            D::LastAttemptAt,
            D::LastStatusCode,
            D::LastError,
            D::DeliveredAt,
            D::CreatedAt,
        ])
        .from(webhook_delivery::Entity)
        .and_where(Expr::col(D::EndpointId).eq(endpoint_id));
    let count = select.clone();
    let sort = sort_key();
    sort.apply(&mut select, page)?;
    let rows: Vec<webhook_delivery::Model> = fetch_rows(db, &select).await?;
    let rows = rows.into_iter().map(|d| (sort.cursor(SortValue::Time(d.created_at), d.id), d)).collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

/// Sends a delivery again from its first attempt, with the same message id (a receiver that kept it may drop it
/// as a repeat). Not while it is still pending, nor to a disabled endpoint (enable it first).
#[tracing::instrument(skip_all, fields(actor = %actor.id, delivery = %id))]
pub async fn redeliver(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<webhook_delivery::Model> {
    use webhook_delivery::Column as D;
    let delivery = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook delivery"))?;
    let (endpoint, key) = managed(db, actor, delivery.endpoint_id).await?;
    if key.revoked_at.is_some() {
        return Err(AppError::conflict("this endpoint's API key is revoked"));
    }
    if !endpoint.enabled {
        return Err(AppError::conflict("this endpoint is disabled: enable it first"));
    }
    if delivery.status == DeliveryStatus::Pending.as_db() {
        return Err(AppError::conflict("this delivery is still being tried"));
    }
    let txn = db.begin().await?;
    let changed = webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(DeliveryStatus::Pending.as_db()))
        // From the first attempt again: a fresh run of retries, since the claim stamp (not the count) is what
        // tells one attempt's outcome from another's.
        .col_expr(D::Attempts, Expr::value(0))
        .col_expr(D::NextAttemptAt, Expr::value(now()))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::DeliveredAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(D::Id.eq(id))
        .filter(D::Status.eq(delivery.status.as_str()))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(AppError::conflict("this delivery changed meanwhile; read it again"));
    }
    audit::record(
        &txn,
        Actor::user(actor.id),
        AuditAction::WebhookChanged,
        None,
        &[],
        format!(
            "webhook delivery {} to {} of API key {}: sent again",
            delivery.id,
            super::targets::without_query(&endpoint.url),
            key.key_prefix
        ),
    )
    .await?;
    txn.commit().await?;
    webhook_delivery::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("webhook delivery"))
}

/// Deliveries waiting to be made (the outbox's depth, for the metrics).
pub async fn pending(db: &impl ConnectionTrait) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let n = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_db()))
        .count(db)
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_last_about_a_day() {
        let backoff = Backoff::DEFAULT;
        let waits: Vec<i64> = (1..MAX_ATTEMPTS).map(|n| backoff.delay(n, 0.0).num_seconds()).collect();
        assert_eq!(waits, [5, 20, 80, 320, 1_280, 5_120, 20_480, 28_800, 28_800]);
        let hours = waits.iter().sum::<i64>() as f64 / 3600.0;
        assert!((22.0..=26.0).contains(&hours), "{hours} hours");
        // Jitter spreads each wait by at most a fifth either way.
        assert_eq!(backoff.delay(2, 1.0).num_seconds(), 24);
        assert_eq!(backoff.delay(2, -1.0).num_seconds(), 16);
    }
}

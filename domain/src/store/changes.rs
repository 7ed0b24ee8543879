//! Change feeds (OpenActive RPDE's "modified timestamp and ID" ordering): rows in `(updated_at, id)` order after a
//! consumer's cursor, one statement a page on the `(updated_at, id)` index.
//!
//! Transactions commit out of timestamp order: one that took its `updated_at` at t may commit after another that
//! took t + 1 ms, and a consumer that had already paged past t + 1 ms would never see the first. So a page holds
//! only rows older than a horizon, now minus a settle time longer than any transaction may stay open between taking
//! its timestamp and committing (a request's transaction is bounded by the request timeout, which is the default's
//! reason). A row is either committed or rolled back by the time it passes the horizon, so everything before the
//! horizon is final, and a cursor never passes a row that can still appear behind it.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::error::AppResult;

/// Where a consumer is: the last item it has read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub modified: DateTime<Utc>,
    pub id: Uuid,
}

/// Up to `limit` rows of `E` that `filter` lets into the feed, after `after`, none newer than `horizon`.
pub async fn page<E>(
    db: &impl ConnectionTrait,
    filter: Condition,
    (updated_at, id): (E::Column, E::Column),
    after: Option<Cursor>,
    horizon: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Column: ColumnTrait + Copy,
{
    let mut select = E::find().filter(filter).filter(updated_at.lte(horizon));
    if let Some(after) = after {
        // (updated_at, id) > (after.modified, after.id), spelt out: both backends use the index for it.
        select = select.filter(
            Condition::any()
                .add(updated_at.gt(after.modified))
                .add(Condition::all().add(Expr::col(updated_at).eq(after.modified)).add(id.gt(after.id))),
        );
    }
    Ok(select.order_by_asc(updated_at).order_by_asc(id).limit(limit).all(db).await?)
}

//! The needs' change feed (`store::changes`): every need once published, as itself while OPEN or FILLED and as a
//! tombstone once CLOSED. Tombstones stay in the feed for `TOMBSTONE_DAYS` after the need closed; a consumer that
//! has been away longer should read the feed again from its start.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait};

use super::NeedStatus;
use crate::error::AppResult;
use crate::store::changes::{self, Cursor};
use entity::need;

/// RPDE asks for at least 7 days; a month lets a consumer that checks weekly miss a few weeks.
pub const TOMBSTONE_DAYS: i64 = 30;

/// Whether a need in the feed is there as itself or as a tombstone.
pub fn is_deleted(need: &need::Model) -> bool {
    NeedStatus::from_db(&need.status).is_none_or(|s| !matches!(s, NeedStatus::Open | NeedStatus::Filled))
}

pub async fn page(
    db: &impl ConnectionTrait,
    after: Option<Cursor>,
    horizon: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<need::Model>> {
    let listed = [NeedStatus::Open, NeedStatus::Filled].map(|s| s.as_db());
    let kept_since = horizon - chrono::Duration::days(TOMBSTONE_DAYS);
    let filter = Condition::all().add(need::Column::PublishedAt.is_not_null()).add(
        Condition::any().add(need::Column::Status.is_in(listed)).add(
            Condition::all()
                .add(need::Column::Status.eq(NeedStatus::Closed.as_db()))
                .add(need::Column::UpdatedAt.gt(kept_since)),
        ),
    );
    changes::page::<need::Entity>(db, filter, (need::Column::UpdatedAt, need::Column::Id), after, horizon, limit).await
}

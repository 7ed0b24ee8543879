//! An organisation's outreach: whom it asked and how evenly. Invitations to its needs made between two days (plans
//! confirmed, offers from waitlists, dispatches' waves; each one counted, also when the same person was asked again
//! through one application), how many distinct volunteers they went to, how often the same people were asked, and
//! how many volunteers matching finds eligible for its open needs it has never asked at all.
use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::index::MatchingIndex;
use super::service::{applications_to_needs, need_facts, today};
use crate::access::{self, AuthUser};
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::store::page::fetch_rows;
use crate::values::schedule::local_instant;
use entity::{invitation, need};

/// The longest span one report covers.
const MAX_DAYS: i64 = 366 * 5;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outreach {
    pub invitations: i64,
    pub volunteers_invited: i64,
    /// Volunteers invited more than once in the span.
    pub volunteers_asked_more_than_once: i64,
    /// The most invitations one volunteer received in the span.
    pub most_invitations_to_one_volunteer: i64,
    /// Volunteers eligible for at least one of its open needs today whom it has never invited (ever).
    pub matching_volunteers_never_asked: i64,
}

#[derive(FromQueryResult)]
struct Invited {
    volunteer_id: Uuid,
    invited_at: chrono::DateTime<chrono::Utc>,
}

/// The organisation's outreach between two days (inclusive, London days), for its members and platform admins.
pub async fn outreach(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    actor: &AuthUser,
    organisation_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Outreach> {
    access::require_coordinator(db, actor, organisation_id).await?;
    if to < from {
        return Err(AppError::bad_input("to", "must not be before from"));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(AppError::bad_input("to", "must be at most five years after from"));
    }
    let (start, end) = (
        local_instant(from.and_time(NaiveTime::MIN)),
        local_instant(to.succ_opt().unwrap_or(to).and_time(NaiveTime::MIN)),
    );
    // Every invitation the organisation ever made (one statement): the span's are counted, all of them tell who
    // was never asked.
    use invitation::Column as I;
    let mut select = Query::select();
    select
        .column((invitation::Entity, I::VolunteerId))
        .column((invitation::Entity, I::InvitedAt))
        .from(invitation::Entity)
        .inner_join(need::Entity, Expr::col((need::Entity, need::Column::Id)).equals((invitation::Entity, I::NeedId)))
        .and_where(Expr::col((need::Entity, need::Column::OrganisationId)).eq(organisation_id));
    let invited: Vec<Invited> = fetch_rows(db, &select).await?;
    let ever: HashSet<Uuid> = invited.iter().map(|i| i.volunteer_id).collect();
    let mut per_volunteer: HashMap<Uuid, i64> = HashMap::new();
    for i in invited.iter().filter(|i| i.invited_at >= start && i.invited_at < end) {
        *per_volunteer.entry(i.volunteer_id).or_default() += 1;
    }
    // Its open needs' eligible volunteers, from the matching index.
    let open: Vec<need::Model> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        need::Entity::find()
            .filter(need::Column::OrganisationId.eq(organisation_id))
            .filter(need::Column::Status.eq(NeedStatus::Open.as_db()))
            .all(db)
            .await?
    };
    let ids: Vec<Uuid> = open.iter().map(|n| n.id).collect();
    index.refresh(db).await?;
    let existing = applications_to_needs(db, &ids).await?;
    let mut eligible: HashSet<Uuid> = HashSet::new();
    let today = today();
    for n in &open {
        let view = index.read();
        let facts = need_facts(&n.into(), view.active_applicants(n.id));
        eligible.extend(
            view.volunteers_for(&facts, |v| existing.get(&(n.id, v)).copied(), today).into_iter().map(|(_, id, _)| id),
        );
    }
    Ok(Outreach {
        invitations: per_volunteer.values().sum(),
        volunteers_invited: per_volunteer.len() as i64,
        volunteers_asked_more_than_once: per_volunteer.values().filter(|n| **n > 1).count() as i64,
        most_invitations_to_one_volunteer: per_volunteer.values().copied().max().unwrap_or(0),
        matching_volunteers_never_asked: eligible.difference(&ever).count() as i64,
    })
}

//! Fair invitations: how often each volunteer has been asked. An invitation is any application made INVITED (a
//! coordinator's plan confirmed, an offer from a waitlist, a dispatch's wave), each kept in `invitations` (an
//! application row reopened for a new invitation overwrites its `invited_at`, so the rows alone would under-count).
//! A volunteer is asked at most `INVITATIONS_PER_WEEK` times in any seven days, or fewer if their preferences say
//! so; plans, waitlists and dispatches pass over those at their cap, and rotation prefers whoever was asked least
//! recently.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Set};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::store::page::fetch_rows;
use entity::{application, invitation, volunteer_profile};

/// Invitations a volunteer receives in any seven days, at most: enough to find something that suits, few enough that
/// nobody is asked every day (the complaint made of the NHS volunteer responders' dispatch).
pub const INVITATIONS_PER_WEEK: i32 = 3;

/// One volunteer's asking so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    /// Invitations in the seven days before now.
    pub this_week: i32,
    /// Their cap: `INVITATIONS_PER_WEEK`, or lower by their preference.
    pub cap: i32,
    /// When they were last asked, if ever.
    pub last: Option<DateTime<Utc>>,
}

impl Asked {
    /// How many more invitations they may receive this week.
    pub fn left(&self) -> i32 {
        Ord::max(self.cap - self.this_week, 0)
    }
}

/// Admits one more invitation to the volunteer, or CONFLICT if they are at their cap: called before an application
/// is made INVITED, in the change's transaction. Their profile's row is held first (a conditional UPDATE that changes
/// nothing), so two invitations to the same person at once take turns and the second counts the first: the cap holds
/// under concurrency, not only when the caller's earlier count was still true.
pub async fn admit(db: &impl ConnectionTrait, volunteer_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    use volunteer_profile::Column as V;
    volunteer_profile::Entity::update_many()
        .col_expr(V::DisplayName, Expr::col(V::DisplayName))
        .filter(V::Id.eq(volunteer_id))
        .exec(db)
        .await?;
    let asked = asked(db, &[volunteer_id], now).await?;
    match asked.get(&volunteer_id) {
        Some(a) if a.left() == 0 => Err(AppError::conflict(format!(
            "this volunteer has been asked {} time(s) in the last seven days, their most ({} a week)",
            a.this_week, a.cap
        ))),
        _ => Ok(()),
    }
}

/// Keeps the invitation `application` now is, if it is one: called by the applications' one constructor and one
/// transition function, in the change's transaction.
pub async fn record(db: &impl ConnectionTrait, application: &application::Model) -> AppResult<()> {
    if application.status != super::ApplicationStatus::Invited.as_db() {
        return Ok(());
    }
    let Some(invited_at) = application.invited_at else { return Ok(()) };
    invitation::ActiveModel {
        application_id: Set(application.id),
        invited_at: Set(invited_at),
        volunteer_id: Set(application.volunteer_id),
        need_id: Set(application.need_id),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct AskedRow {
    volunteer_id: Uuid,
    this_week: Option<i64>,
    last: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct CapRow {
    id: Uuid,
    cap: Option<i32>,
}

/// How often each volunteer was asked and their caps, in two statements (ids in chunks of 5,000). Volunteers never
/// asked are listed too, with nothing asked.
pub async fn asked(
    db: &impl ConnectionTrait,
    volunteer_ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, Asked>> {
    use invitation::Column as A;
    let unique: Vec<Uuid> = volunteer_ids.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let mut out: HashMap<Uuid, Asked> =
        unique.iter().map(|id| (*id, Asked { this_week: 0, cap: INVITATIONS_PER_WEEK, last: None })).collect();
    let since = now - TimeDelta::days(7);
    for chunk in unique.chunks(5_000) {
        let mut select = Query::select();
        select
            .column(A::VolunteerId)
            .expr_as(Func::sum(Expr::case(Expr::col(A::InvitedAt).gte(since), 1).finally(0)), Alias::new("this_week"))
            .expr_as(Expr::col(A::InvitedAt).max(), Alias::new("last"))
            .from(invitation::Entity)
            .and_where(Expr::col(A::VolunteerId).is_in(chunk.iter().copied()))
            .group_by_col(A::VolunteerId);
        for row in fetch_rows::<AskedRow>(db, &select).await? {
            if let Some(asked) = out.get_mut(&row.volunteer_id) {
                asked.this_week = i32::try_from(row.this_week.unwrap_or(0)).unwrap_or(i32::MAX);
                asked.last = row.last;
            }
        }
        // Lower caps some volunteers chose (`NotificationPreferences.invitationsPerWeek`).
        let mut caps = Query::select();
        caps.column((volunteer_profile::Entity, volunteer_profile::Column::Id))
            .expr_as(
                Expr::col((
                    entity::notification_preference::Entity,
                    entity::notification_preference::Column::InvitationsPerWeek,
                )),
                Alias::new("cap"),
            )
            .from(volunteer_profile::Entity)
            .inner_join(
                entity::notification_preference::Entity,
                Expr::col((entity::notification_preference::Entity, entity::notification_preference::Column::UserId))
                    .equals((volunteer_profile::Entity, volunteer_profile::Column::UserId)),
            )
            .and_where(
                Expr::col((volunteer_profile::Entity, volunteer_profile::Column::Id)).is_in(chunk.iter().copied()),
            )
            .and_where(
                Expr::col((
                    entity::notification_preference::Entity,
                    entity::notification_preference::Column::InvitationsPerWeek,
                ))
                .is_not_null(),
            );
        for row in fetch_rows::<CapRow>(db, &caps).await? {
            if let (Some(asked), Some(cap)) = (out.get_mut(&row.id), row.cap) {
                asked.cap = cap.clamp(0, INVITATIONS_PER_WEEK);
            }
        }
    }
    Ok(out)
}

/// Each of `ids`' rank by how recently they were asked (0: asked least recently, or never; ties in `ids`' order):
/// the order rotation (`matching::assignment::rotate`) prefers among candidates as good as each other.
pub fn recency(ids: &[Uuid], asked: &HashMap<Uuid, Asked>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| (ids.get(i).and_then(|id| asked.get(id)).and_then(|a| a.last), i));
    let mut rank = vec![0usize; ids.len()];
    for (position, i) in order.into_iter().enumerate() {
        rank[i] = position;
    }
    rank
}

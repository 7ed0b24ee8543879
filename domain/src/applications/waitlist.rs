//! A full need's waitlist. When a need has no places left, applications wait in the order they came
//! (`waitlisted_at`, then id), up to the need's cap (as many again as its places unless it says otherwise). When a
//! place frees — a withdrawal, a decline, a lapsed offer, more places — the first in line is offered it: INVITED,
//! holding the place, until `offer_for` after the offer, when it lapses (EXPIRED) and passes to the next.
//!
//! Exactly once and first come first served, also when places free at the same moment: every offer takes its place
//! with the need's conditional UPDATE (which also holds the need's row until commit, so the next offer in another
//! transaction reads the line after this one's), and moves its application with a conditional UPDATE on WAITLISTED.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::ApplicationStatus;
use super::service::transition;
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::needs::service as needs;
use entity::{application, need};

/// How long an offer from the waitlist stays open unless configured (`PITCHIN_WAITLIST_OFFER_HOURS`).
pub const DEFAULT_OFFER_HOURS: u32 = 48;

/// Where an application to the need goes, with the need's row held for the rest of the transaction
/// (`needs::hold`), so that the waitlist's length read next stays true until commit.
pub enum Intake {
    /// Places left: an ordinary application.
    Open,
    /// Full: the waitlist, if it has fewer than `cap` waiting.
    Full { cap: u64 },
}

pub async fn hold(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<Intake> {
    match needs::hold(db, need_id).await? {
        Some(need) if need.status == NeedStatus::Filled.as_db() => Ok(Intake::Full { cap: cap(&need) }),
        Some(need) if need.status == NeedStatus::Open.as_db() => Ok(Intake::Open),
        _ => Err(AppError::conflict("this need is not taking applications")),
    }
}

/// How many applications may wait for the need.
pub fn cap(need: &need::Model) -> u64 {
    u64::try_from(need.waitlist_cap.unwrap_or(need.volunteers_needed)).unwrap_or(0)
}

/// How many applications are waiting for the need.
pub async fn length(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<u64> {
    Ok(waiting(need_id).count(db).await?)
}

fn waiting(need_id: Uuid) -> sea_orm::Select<application::Entity> {
    use application::Column as C;
    application::Entity::find()
        .filter(C::NeedId.eq(need_id))
        .filter(C::Status.eq(ApplicationStatus::Waitlisted.as_db()))
        .order_by_asc(C::WaitlistedAt)
        .order_by_asc(C::Id)
}

/// The waiting applications of each need, first first, in one statement: what `waitlistPosition` counts in.
pub async fn lines(db: &impl ConnectionTrait, need_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    use application::Column as C;
    let rows: Vec<(Uuid, Uuid)> = application::Entity::find()
        .select_only()
        .column(C::NeedId)
        .column(C::Id)
        .filter(C::NeedId.is_in(need_ids.iter().copied()))
        .filter(C::Status.eq(ApplicationStatus::Waitlisted.as_db()))
        .order_by_asc(C::WaitlistedAt)
        .order_by_asc(C::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (need, id) in rows {
        out.entry(need).or_default().push(id);
    }
    Ok(out)
}

/// Offers each free place of the need to the next in line, as an invitation holding the place; the offers made.
/// Called in the transaction that freed the place or added places. On a need that requires a verified DBS check,
/// those its organisation has not verified are passed over (they wait on, in their place, until verified): an
/// offer they could not accept would only hold the place from the next.
pub async fn offer_places(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<Vec<application::Model>> {
    // Every place given back comes here: with nobody waiting (most of the time), one statement and done.
    let line = waiting(need_id).all(db).await?;
    if line.is_empty() {
        return Ok(Vec::new());
    }
    let need = needs::get(db, need_id).await?;
    let verified = match need.safeguarding_verified {
        true => {
            let level = crate::volunteers::verification::required_level(&need);
            let today = crate::now().date_naive();
            Some(crate::volunteers::verification::verified_by(db, need.organisation_id, level, today).await?)
        }
        false => None,
    };
    // Those at their weekly cap of invitations wait on, in their place, like the unverified.
    let waiting: Vec<Uuid> = line.iter().map(|a| a.volunteer_id).collect();
    let asked = super::caps::asked(db, &waiting, crate::now()).await?;
    let mut offered = Vec::new();
    for next in line {
        if verified.as_ref().is_some_and(|v| !v.contains(&next.volunteer_id)) {
            continue;
        }
        if asked.get(&next.volunteer_id).is_some_and(|a| a.left() == 0) {
            continue;
        }
        // The place first: when none is free (or the need is not open), nobody is offered one.
        match needs::take_place(db, need_id).await {
            Ok(()) => {}
            Err(AppError::Conflict(_)) => break,
            Err(other) => return Err(other),
        }
        match transition(db, next.id, &[ApplicationStatus::Waitlisted], ApplicationStatus::Invited).await {
            Ok(invited) => offered.push(invited),
            // Left the line meanwhile (withdrew, or was declined): the place goes on to the next.
            Err(AppError::Conflict(_)) => needs::free_place(db, need_id).await?,
            Err(other) => return Err(other),
        }
    }
    Ok(offered)
}

/// When an offer from the waitlist made at `invited_at` lapses.
pub fn offer_deadline(invited_at: DateTime<Utc>, offer_for: TimeDelta) -> DateTime<Utc> {
    invited_at + offer_for
}

/// Lapses the offers from waitlists made `offer_for` or more before `at`, each passing its place to the next in
/// line, each in its own transaction and only once however many servers sweep; how many lapsed. The housekeeping
/// minute calls it with the clock's time, tests with the time they choose.
pub async fn expire_offers(
    db: &(impl ConnectionTrait + TransactionTrait),
    at: DateTime<Utc>,
    offer_for: TimeDelta,
) -> AppResult<usize> {
    use application::Column as C;
    let due = application::Entity::find()
        .filter(C::Status.eq(ApplicationStatus::Invited.as_db()))
        .filter(C::WaitlistedAt.is_not_null())
        .filter(C::InvitedAt.lte(at - offer_for))
        .order_by_asc(C::InvitedAt)
        .all(db)
        .await?;
    let mut lapsed = 0;
    for offer in due {
        let txn = db.begin().await?;
        // Conditional on INVITED: an offer answered (or lapsed by another server) meanwhile is left alone.
        match transition(&txn, offer.id, &[ApplicationStatus::Invited], ApplicationStatus::Expired).await {
            Ok(_) => {}
            Err(AppError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
        needs::free_place(&txn, offer.need_id).await?;
        offer_places(&txn, offer.need_id).await?;
        txn.commit().await?;
        lapsed += 1;
    }
    Ok(lapsed)
}

/// Offers free places to waitlists that could not be offered them when they freed: the next in line was at their
/// weekly cap of invitations, or not yet verified, and is no longer. Each need in its own transaction; the offers
/// made. The housekeeping minute calls it; with nobody waiting for a free place, one statement.
pub async fn offer_waiting(db: &(impl ConnectionTrait + TransactionTrait)) -> AppResult<usize> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let mut waiting = Query::select();
    waiting
        .distinct()
        .column((application::Entity, application::Column::NeedId))
        .from(application::Entity)
        .inner_join(
            need::Entity,
            Expr::col((need::Entity, need::Column::Id)).equals((application::Entity, application::Column::NeedId)),
        )
        .and_where(
            Expr::col((application::Entity, application::Column::Status)).eq(ApplicationStatus::Waitlisted.as_db()),
        )
        .and_where(Expr::col((need::Entity, need::Column::Status)).eq(NeedStatus::Open.as_db()))
        .and_where(
            Expr::col((need::Entity, need::Column::PlacesTaken))
                .lt(Expr::col((need::Entity, need::Column::VolunteersNeeded))),
        );
    #[derive(sea_orm::FromQueryResult)]
    struct Waiting {
        need_id: Uuid,
    }
    let mut offered = 0;
    for need in crate::store::page::fetch_rows::<Waiting>(db, &waiting).await? {
        let txn = db.begin().await?;
        // The need's row first (a write), so the line read next stays true until commit.
        needs::hold(&txn, need.need_id).await?;
        offered += offer_places(&txn, need.need_id).await?.len();
        txn.commit().await?;
    }
    Ok(offered)
}

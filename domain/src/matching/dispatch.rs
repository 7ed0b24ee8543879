//! Urgent needs asked in waves (`dispatchUrgentNeed`): never simply "the nearest, every time".
//!
//! The rules:
//! - **A wave** invites up to `wave_size` (5 by default) of the volunteers matching finds eligible, best first but
//!   rotating (among those within `ROTATION_MARGIN` of the best score, whoever was asked least recently first), and
//!   never anyone at their weekly cap of invitations, nor anyone this dispatch asked before. On a need that takes
//!   only volunteers its organisation verified, only those.
//! - **Invitations hold no place.** An urgent need wants an answer fast, so a wave asks more people than it has
//!   places and the first to accept take them (the need's conditional UPDATE, as ever: never overbooked). Once the
//!   places are filled, the rest of the wave's invitations lapse.
//! - **The next wave** goes when every invitation of the last has been declined or has lapsed (after
//!   `offer_minutes`, 60 by default), checked each minute by `advance`, until the places are filled (FILLED), the
//!   need closes (STOPPED) or nobody eligible is left (EXHAUSTED).
//! - **Once across servers.** A wave is claimed by a conditional UPDATE of the dispatch's wave count before it is
//!   sent, and each invitation lapses by a conditional move from INVITED, so two servers advancing at once send one
//!   wave and lapse each invitation once.
use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::assignment::{Candidate, ROTATION_MARGIN, rotate};
use super::index::MatchingIndex;
use super::service::{applications_to_needs, need_facts, today};
use crate::access::{self, AuthUser};
use crate::applications::service::{self as lifecycle, Opening};
use crate::applications::{ApplicationStatus, caps};
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::needs::service as needs;
use entity::{application, dispatch_invitation, need, urgent_dispatch};

pub const DEFAULT_WAVE_SIZE: i32 = 5;
pub const MAX_WAVE_SIZE: i32 = 50;
/// How long a dispatch's invitation stays open by default: an urgent need cannot wait a day for each wave.
pub const DEFAULT_OFFER_MINUTES: i32 = 60;

crate::db_enum! {
    pub enum DispatchStatus {
        /// Waves go on.
        Active => "ACTIVE",
        /// The need's places were filled.
        Filled => "FILLED",
        /// Nobody eligible was left to ask.
        Exhausted => "EXHAUSTED",
        /// The need closed (or went back to draft).
        Stopped => "STOPPED",
    }
}

/// `dispatchUrgentNeed`'s command.
#[derive(Clone, Debug)]
pub struct StartDispatch {
    pub need_id: Uuid,
    pub wave_size: Option<i32>,
    pub offer_minutes: Option<i32>,
}

/// Starts asking the need's matching volunteers in waves, and sends the first; for the need's coordinators.
/// CONFLICT when the need is not open with places left, or a dispatch of it is under way.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %input.need_id))]
pub async fn start(
    db: &(impl ConnectionTrait + TransactionTrait),
    index: &MatchingIndex,
    actor: &AuthUser,
    input: StartDispatch,
    now: DateTime<Utc>,
) -> AppResult<urgent_dispatch::Model> {
    let wave_size = input.wave_size.unwrap_or(DEFAULT_WAVE_SIZE);
    if !(1..=MAX_WAVE_SIZE).contains(&wave_size) {
        return Err(AppError::bad_input("input.waveSize", format!("must be from 1 to {MAX_WAVE_SIZE}")));
    }
    let offer_minutes = input.offer_minutes.unwrap_or(DEFAULT_OFFER_MINUTES);
    if !(5..=24 * 60).contains(&offer_minutes) {
        return Err(AppError::bad_input("input.offerMinutes", "must be from 5 to 1440"));
    }
    let need = needs::get(db, input.need_id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    index.refresh(db).await?;
    let txn = db.begin().await?;
    let need = needs::hold(&txn, need.id).await?.ok_or_else(|| AppError::not_found("need"))?;
    if need.status != NeedStatus::Open.as_db() || need.places_taken >= need.volunteers_needed {
        return Err(AppError::conflict("only an open need with places left can be dispatched"));
    }
    if active_of(&txn, need.id).await?.is_some() {
        return Err(AppError::conflict("this need is being dispatched already"));
    }
    let dispatch = urgent_dispatch::ActiveModel {
        id: Set(Uuid::now_v7()),
        need_id: Set(need.id),
        started_by: Set(Some(actor.id)),
        wave_size: Set(wave_size),
        offer_minutes: Set(offer_minutes),
        waves: Set(0),
        status: Set(DispatchStatus::Active.as_db().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&txn)
    .await?;
    send_wave(&txn, index, &dispatch, &need, now).await?;
    txn.commit().await?;
    get(db, dispatch.id).await
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<urgent_dispatch::Model> {
    urgent_dispatch::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("dispatch"))
}

/// The need's dispatch under way, if any.
pub async fn active_of(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<Option<urgent_dispatch::Model>> {
    Ok(urgent_dispatch::Entity::find()
        .filter(urgent_dispatch::Column::NeedId.eq(need_id))
        .filter(urgent_dispatch::Column::Status.eq(DispatchStatus::Active.as_db()))
        .one(db)
        .await?)
}

/// The need's latest dispatch, if it ever had one: what its coordinators see.
pub async fn latest_of(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<Option<urgent_dispatch::Model>> {
    Ok(urgent_dispatch::Entity::find()
        .filter(urgent_dispatch::Column::NeedId.eq(need_id))
        .order_by_desc(urgent_dispatch::Column::CreatedAt)
        .one(db)
        .await?)
}

/// How many invitations a dispatch has made.
pub async fn invitations_of(db: &impl ConnectionTrait, dispatch_id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(dispatch_invitation::Entity::find()
        .filter(dispatch_invitation::Column::DispatchId.eq(dispatch_id))
        .count(db)
        .await?)
}

/// The dispatch invitation an INVITED application is now, if its current invitation came from a dispatch (and so
/// holds no place): one whose stamp is the application's `invited_at` (a row reopened since by another route, a
/// waitlist offer or a plan, has a newer stamp).
pub async fn current_invitation(
    db: &impl ConnectionTrait,
    application: &application::Model,
) -> AppResult<Option<dispatch_invitation::Model>> {
    let Some(invited_at) = application.invited_at else { return Ok(None) };
    if application.status != ApplicationStatus::Invited.as_db() {
        return Ok(None);
    }
    Ok(dispatch_invitation::Entity::find()
        .filter(dispatch_invitation::Column::ApplicationId.eq(application.id))
        .filter(dispatch_invitation::Column::InvitedAt.eq(invited_at))
        .one(db)
        .await?)
}

/// Sends the dispatch's next wave, in the caller's transaction: claims it (the wave count, conditionally), picks the
/// volunteers and invites them. Ends the dispatch EXHAUSTED when nobody is left to ask. How many were invited.
async fn send_wave(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    dispatch: &urgent_dispatch::Model,
    need: &need::Model,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    use urgent_dispatch::Column as D;
    let claimed = urgent_dispatch::Entity::update_many()
        .col_expr(D::Waves, Expr::value(dispatch.waves + 1))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .filter(D::Id.eq(dispatch.id))
        .filter(D::Waves.eq(dispatch.waves))
        .filter(D::Status.eq(DispatchStatus::Active.as_db()))
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(0);
    }
    let chosen = pick(db, index, dispatch, need, now).await?;
    if chosen.is_empty() {
        // No wave went: the count stays at the waves sent.
        urgent_dispatch::Entity::update_many()
            .col_expr(D::Waves, Expr::value(dispatch.waves))
            .filter(D::Id.eq(dispatch.id))
            .exec(db)
            .await?;
        finish(db, dispatch.id, DispatchStatus::Exhausted, now).await?;
        return Ok(0);
    }
    let existing = application::Entity::find()
        .filter(application::Column::NeedId.eq(need.id))
        .filter(application::Column::VolunteerId.is_in(chosen.iter().copied()))
        .all(db)
        .await?;
    // In id order: the order every transaction that invites takes volunteers' rows in (after the need's), so two
    // waves or a wave and a plan queue rather than deadlock.
    let mut chosen = chosen;
    chosen.sort();
    let mut invitations = 0;
    for volunteer_id in &chosen {
        let previous = existing.iter().find(|a| a.volunteer_id == *volunteer_id);
        let invited = match lifecycle::open(db, previous, need.id, *volunteer_id, Opening::Invited).await {
            Ok(invited) => invited,
            // Reached their cap, or their application moved, since they were picked: nothing was written for
            // them; the wave goes to the rest.
            Err(AppError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        };
        invitations += 1;
        dispatch_invitation::ActiveModel {
            application_id: Set(invited.id),
            dispatch_id: Set(dispatch.id),
            wave: Set(dispatch.waves + 1),
            // The application's own stamp: what tells this invitation from a later one through the same row.
            invited_at: Set(invited.invited_at.unwrap_or(now)),
        }
        .insert(db)
        .await?;
    }
    Ok(invitations)
}

/// Whom the next wave asks: matching's eligible volunteers for the need, best first but rotating, within their
/// caps, not asked by this dispatch before, and free to be invited (no live application to the need, nor one
/// declined or completed).
async fn pick(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    dispatch: &urgent_dispatch::Model,
    need: &need::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    let existing = applications_to_needs(db, &[need.id]).await?;
    // Whom this dispatch asked before, in one statement.
    let asked_before: HashSet<Uuid> = application::Entity::find()
        .select_only()
        .column(application::Column::VolunteerId)
        .filter(
            application::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(dispatch_invitation::Column::ApplicationId)
                    .from(dispatch_invitation::Entity)
                    .and_where(Expr::col(dispatch_invitation::Column::DispatchId).eq(dispatch.id))
                    .to_owned(),
            ),
        )
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let today = today();
    let mut scored: Vec<(f64, Uuid)> = {
        let view = index.read();
        let facts = need_facts(&need.into(), view.active_applicants(need.id));
        view.volunteers_for(&facts, |v| existing.get(&(need.id, v)).copied(), today)
            .into_iter()
            .map(|(score, id, _)| (score, id))
            .collect()
    };
    scored.retain(|(_, id)| {
        !asked_before.contains(id)
            && existing
                .get(&(need.id, *id))
                .is_none_or(|s| matches!(s, ApplicationStatus::Withdrawn | ApplicationStatus::Expired))
    });
    if need.safeguarding_verified {
        let level = crate::volunteers::verification::required_level(need);
        let verified = crate::volunteers::verification::verified_by(db, need.organisation_id, level, today).await?;
        scored.retain(|(_, id)| verified.contains(id));
    }
    let ids: Vec<Uuid> = scored.iter().map(|(_, id)| *id).collect();
    let asked = caps::asked(db, &ids, now).await?;
    scored.retain(|(_, id)| asked.get(id).is_none_or(|a| a.left() > 0));
    // Rotation as plans have it: the least recently asked first among those as good as the best.
    scored.sort_by_key(|s| s.1);
    let ids: Vec<Uuid> = scored.iter().map(|(_, id)| *id).collect();
    let recency = caps::recency(&ids, &asked);
    let mut candidates: Vec<Candidate> =
        scored.iter().enumerate().map(|(i, (score, _))| Candidate { need: 0, volunteer: i, score: *score }).collect();
    rotate(&mut candidates, &recency, ROTATION_MARGIN);
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.volunteer.cmp(&b.volunteer)));
    Ok(candidates
        .into_iter()
        .take(usize::try_from(dispatch.wave_size).unwrap_or(0))
        .filter_map(|c| scored.get(c.volunteer).map(|(_, id)| *id))
        .collect())
}

async fn finish(db: &impl ConnectionTrait, id: Uuid, status: DispatchStatus, now: DateTime<Utc>) -> AppResult<()> {
    use urgent_dispatch::Column as D;
    urgent_dispatch::Entity::update_many()
        .col_expr(D::Status, Expr::value(status.as_db()))
        .col_expr(D::FinishedAt, Expr::value(now))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .filter(D::Id.eq(id))
        .filter(D::Status.eq(DispatchStatus::Active.as_db()))
        .exec(db)
        .await?;
    Ok(())
}

/// The dispatch's invitations still waiting for an answer.
async fn outstanding(
    db: &impl ConnectionTrait,
    dispatch_id: Uuid,
) -> AppResult<Vec<(dispatch_invitation::Model, application::Model)>> {
    let invitations = dispatch_invitation::Entity::find()
        .filter(dispatch_invitation::Column::DispatchId.eq(dispatch_id))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = invitations.iter().map(|i| i.application_id).collect();
    let open: Vec<application::Model> = application::Entity::find()
        .filter(application::Column::Id.is_in(ids))
        .filter(application::Column::Status.eq(ApplicationStatus::Invited.as_db()))
        .all(db)
        .await?;
    Ok(invitations
        .into_iter()
        .filter_map(|i| {
            open.iter()
                .find(|a| a.id == i.application_id && a.invited_at == Some(i.invited_at))
                .cloned()
                .map(|a| (i, a))
        })
        .collect())
}

/// Lapses invitations, conditionally on their still being INVITED (no place to give back: they held none).
async fn lapse(db: &impl ConnectionTrait, applications: Vec<Uuid>) -> AppResult<()> {
    for id in applications {
        match crate::applications::service::lapse_invitation(db, id).await {
            Ok(()) | Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Moves every dispatch under way on, as of `now`: a need filled or closed ends its dispatch (its open invitations
/// lapse); invitations past their time lapse; a wave all answered or lapsed is followed by the next. Each dispatch in
/// its own transaction. How many waves were sent. The housekeeping minute calls it; tests pass the time.
pub async fn advance(
    db: &(impl ConnectionTrait + TransactionTrait),
    index: &MatchingIndex,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let active = urgent_dispatch::Entity::find()
        .filter(urgent_dispatch::Column::Status.eq(DispatchStatus::Active.as_db()))
        .all(db)
        .await?;
    if active.is_empty() {
        return Ok(0);
    }
    index.refresh(db).await?;
    let mut waves = 0;
    for dispatch in active {
        // One dispatch failing (logged) does not hold up the others.
        match advance_one(db, index, &dispatch, now).await {
            Ok(sent) => waves += sent,
            Err(error) => tracing::warn!(?error, dispatch = %dispatch.id, "could not move an urgent dispatch on"),
        }
    }
    Ok(waves)
}

async fn advance_one(
    db: &(impl ConnectionTrait + TransactionTrait),
    index: &MatchingIndex,
    dispatch: &urgent_dispatch::Model,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut waves = 0;
    {
        let txn = db.begin().await?;
        let Some(need) = needs::hold(&txn, dispatch.need_id).await? else { return Ok(0) };
        let open = outstanding(&txn, dispatch.id).await?;
        let full = need.places_taken >= need.volunteers_needed;
        if need.status != NeedStatus::Open.as_db() || full {
            lapse(&txn, open.iter().map(|(_, a)| a.id).collect()).await?;
            let status = if full || need.status == NeedStatus::Filled.as_db() {
                DispatchStatus::Filled
            } else {
                DispatchStatus::Stopped
            };
            finish(&txn, dispatch.id, status, now).await?;
            txn.commit().await?;
            return Ok(0);
        }
        let deadline = TimeDelta::minutes(i64::from(dispatch.offer_minutes));
        let (lapsed, waiting): (Vec<_>, Vec<_>) = open.into_iter().partition(|(i, _)| i.invited_at + deadline <= now);
        lapse(&txn, lapsed.iter().map(|(_, a)| a.id).collect()).await?;
        if waiting.is_empty() && send_wave(&txn, index, dispatch, &need, now).await? > 0 {
            waves += 1;
        }
        txn.commit().await?;
    }
    Ok(waves)
}

/// A dispatch's invitation accepted: takes a place (the first to accept get them), and when that fills the need,
/// lapses the dispatch's other open invitations, all in the caller's transaction. CONFLICT when the places were
/// taken by those who answered first.
pub async fn accept(db: &impl ConnectionTrait, application: &application::Model) -> AppResult<()> {
    let invitation =
        current_invitation(db, application).await?.ok_or_else(|| AppError::internal("not a dispatch's invitation"))?;
    let dispatch = get(db, invitation.dispatch_id).await?;
    // Past its time it cannot be accepted, even before the minute's sweep lapses it.
    if invitation.invited_at + TimeDelta::minutes(i64::from(dispatch.offer_minutes)) <= crate::now() {
        return Err(AppError::conflict("this urgent invitation has lapsed"));
    }
    needs::take_place(db, application.need_id).await.map_err(|e| match e {
        AppError::Conflict(_) => {
            AppError::conflict("the places on this urgent need were taken by those who answered first")
        }
        other => other,
    })?;
    let need = needs::get(db, application.need_id).await?;
    if need.places_taken >= need.volunteers_needed {
        let others = outstanding(db, invitation.dispatch_id).await?;
        lapse(db, others.into_iter().map(|(_, a)| a.id).filter(|id| *id != application.id).collect()).await?;
    }
    Ok(())
}

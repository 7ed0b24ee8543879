//! Sign-ups per session. A need that takes its volunteers session by session (`SignupMode::PerSession`) lets each
//! volunteer it accepted sign up for the coming sessions they will come to, up to the session's capacity (the
//! need's `session_capacity`, or its places). The capacity holds under concurrent sign-ups: each one holds the need's
//! row (`service::hold`) before it counts the session's sign-ups, so the count it reads stays true until it commits.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::SignupMode;
use super::sessions::{Session, session_at};
use crate::access::AuthUser;
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::now;
use entity::{application, need, session_cancellation, session_signup};

/// How many may sign up for one session of the need.
pub fn capacity(need: &need::Model) -> i32 {
    need.session_capacity.unwrap_or(need.volunteers_needed)
}

pub fn per_session(need: &need::Model) -> bool {
    need.signup_mode == SignupMode::PerSession.as_db()
}

/// The signed-in volunteer signs up for a coming session of a need they are accepted on.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn sign_up(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<Session> {
    let (profile, need, (starts_at, ends_at)) = coming_session_of_own_need(db, actor, need_id, starts_at).await?;
    if !per_session(&need) {
        return Err(AppError::bad_input(
            "input.sessionId",
            "this need's volunteers come to all its sessions: there is nothing to sign up for",
        ));
    }
    // Held first, then read: an application ended or a session called off meanwhile is seen (they change the need's
    // sign-ups in transactions of their own).
    let txn = db.begin().await?;
    // The row as held: its capacity and mode as they are now, not as read before.
    let need = super::service::hold(&txn, need.id).await?.ok_or_else(|| AppError::not_found("need"))?;
    if !per_session(&need) {
        return Err(AppError::conflict("this need no longer takes sign-ups per session"));
    }
    let accepted = application::Entity::find()
        .filter(application::Column::NeedId.eq(need.id))
        .filter(application::Column::VolunteerId.eq(profile.id))
        .filter(application::Column::Status.eq(ApplicationStatus::Accepted.as_db()))
        .count(&txn)
        .await?;
    if accepted == 0 {
        return Err(AppError::forbidden("only volunteers accepted on this need can sign up for its sessions"));
    }
    let cancellation = session_cancellation::Entity::find_by_id((need.id, starts_at)).one(&txn).await?;
    if cancellation.is_some() {
        return Err(AppError::conflict("this session is cancelled"));
    }
    let taken = session_signup::Entity::find()
        .filter(session_signup::Column::NeedId.eq(need.id))
        .filter(session_signup::Column::StartsAt.eq(starts_at))
        .count(&txn)
        .await?;
    if taken >= u64::try_from(capacity(&need)).unwrap_or(0) {
        return Err(AppError::conflict("this session is full"));
    }
    session_signup::ActiveModel {
        need_id: Set(need.id),
        starts_at: Set(starts_at),
        volunteer_id: Set(profile.id),
        signed_up_at: Set(now()),
    }
    .insert(&txn)
    .await
    .map_err(|err| match AppError::from(err) {
        AppError::Conflict(_) => AppError::conflict("you are already signed up for this session"),
        other => other,
    })?;
    txn.commit().await?;
    Ok(Session { need_id: need.id, starts_at, ends_at, cancellation: None, capacity: Some(capacity(&need)) })
}

/// The volunteer takes back their sign-up for a coming session.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn cancel_sign_up(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<Session> {
    let (profile, need, (starts_at, ends_at)) = coming_session_of_own_need(db, actor, need_id, starts_at).await?;
    let removed = session_signup::Entity::delete_many()
        .filter(session_signup::Column::NeedId.eq(need.id))
        .filter(session_signup::Column::StartsAt.eq(starts_at))
        .filter(session_signup::Column::VolunteerId.eq(profile.id))
        .exec(db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::conflict("you are not signed up for this session"));
    }
    let cancellation = session_cancellation::Entity::find_by_id((need.id, starts_at)).one(db).await?;
    let capacity = per_session(&need).then(|| capacity(&need));
    Ok(Session { need_id: need.id, starts_at, ends_at, cancellation, capacity })
}

/// The actor's volunteer profile, the need (published) and its session at `starts_at`, which must be to come.
async fn coming_session_of_own_need(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<(entity::volunteer_profile::Model, need::Model, (DateTime<Utc>, DateTime<Utc>))> {
    let profile = crate::volunteers::require_own(db, actor).await?;
    let need = super::service::get(db, need_id).await?;
    if need.status == super::NeedStatus::Draft.as_db() {
        return Err(AppError::not_found("need"));
    }
    let session = session_at(&need, starts_at, "input.sessionId")?;
    if session.0 <= now() {
        return Err(AppError::bad_input("input.sessionId", "has started or passed: only a coming session"));
    }
    Ok((profile, need, session))
}

/// The sign-ups of each of the sessions `keys` (need, start), in sign-up order, in one statement.
pub async fn of_sessions(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, DateTime<Utc>)],
) -> AppResult<HashMap<(Uuid, DateTime<Utc>), Vec<session_signup::Model>>> {
    use session_signup::Column as C;
    let needs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let starts: Vec<DateTime<Utc>> = keys.iter().map(|k| k.1).collect();
    let mut out: HashMap<(Uuid, DateTime<Utc>), Vec<session_signup::Model>> = HashMap::new();
    // Both lists hold a request's sessions (a few hundred at most); the rows of other pairs are dropped here.
    let rows = session_signup::Entity::find()
        .filter(C::NeedId.is_in(needs))
        .filter(C::StartsAt.is_in(starts))
        .order_by_asc(C::SignedUpAt)
        .all(db)
        .await?;
    for row in rows {
        let key = (row.need_id, row.starts_at);
        if keys.contains(&key) {
            out.entry(key).or_default().push(row);
        }
    }
    Ok(out)
}

/// The volunteers accepted on each need (profile ids, by acceptance), in one statement.
pub async fn accepted_volunteers(db: &impl ConnectionTrait, need_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    use application::Column as C;
    let rows: Vec<(Uuid, Uuid)> = application::Entity::find()
        .select_only()
        .column(C::NeedId)
        .column(C::VolunteerId)
        .filter(C::NeedId.is_in(need_ids.iter().copied()))
        .filter(C::Status.eq(ApplicationStatus::Accepted.as_db()))
        .order_by_asc(C::AcceptedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (need, volunteer) in rows {
        out.entry(need).or_default().push(volunteer);
    }
    Ok(out)
}

/// A volunteer's sign-ups among the needs, from `from` on (what their upcoming sessions are, for needs taken
/// session by session), in one statement.
pub async fn of_volunteer(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
    from: DateTime<Utc>,
) -> AppResult<Vec<session_signup::Model>> {
    Ok(session_signup::Entity::find()
        .filter(session_signup::Column::VolunteerId.eq(volunteer_id))
        .filter(session_signup::Column::StartsAt.gte(from))
        .all(db)
        .await?)
}

/// Ends a volunteer's sign-ups for the need's coming sessions: their application to it ended.
pub async fn drop_coming(db: &impl ConnectionTrait, need_id: Uuid, volunteer_id: Uuid) -> AppResult<()> {
    session_signup::Entity::delete_many()
        .filter(session_signup::Column::NeedId.eq(need_id))
        .filter(session_signup::Column::VolunteerId.eq(volunteer_id))
        .filter(session_signup::Column::StartsAt.gt(now()))
        .exec(db)
        .await?;
    Ok(())
}

//! A need's sessions: the occurrences of its weekly windows between its start and end dates, on the wall clock in
//! Europe/London, so that a Tuesday 19:00 session stays at 19:00 when the clocks change. Sessions are computed, never
//! stored; only the ones called off are (`session_cancellations`), and a cancelled session is still listed, marked,
//! so that nobody finds a session silently gone. A session is named by its need and its start.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use uuid::Uuid;

use crate::access::{self, AuthUser};
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::schedule::{Series, local_instant};
use crate::values::{TimeWindow, bounded_text};
use entity::{application, need, session_cancellation};

crate::db_enum! {
    pub enum SessionStatus {
        Scheduled => "SCHEDULED",
        Cancelled => "CANCELLED",
    }
}

/// One session of a need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub need_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Set when the session is called off.
    pub cancellation: Option<session_cancellation::Model>,
    /// How many may sign up for it, when its need takes sign-ups per session; `None`: its need's accepted
    /// volunteers all come.
    pub capacity: Option<i32>,
}

/// A session's capacity (`Session::capacity`) from its need's columns.
pub fn capacity_of(signup_mode: &str, session_capacity: Option<i32>, volunteers_needed: i32) -> Option<i32> {
    (signup_mode == super::SignupMode::PerSession.as_db()).then(|| session_capacity.unwrap_or(volunteers_needed))
}

fn capacity(need: &need::Model) -> Option<i32> {
    capacity_of(&need.signup_mode, need.session_capacity, need.volunteers_needed)
}

/// The longest span one listing covers: a year, 53 sessions of each weekly window at most.
pub const MAX_SPAN: TimeDelta = TimeDelta::days(366);
/// How far ahead a volunteer's upcoming sessions look: a term.
const UPCOMING: TimeDelta = TimeDelta::days(120);
const MAX_UPCOMING: usize = 100;

/// The sessions of `need` starting in `[from, to)`, by start: no database, only its schedule.
pub fn occurrences(need: &need::Model, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let weekly = TimeWindow::from_json(&need.weekly_schedule);
    let posted = need.published_at.unwrap_or(need.created_at).date_naive();
    occurrences_of(&weekly, need.start_date, need.end_date, posted, from, to)
}

/// The sessions of a schedule starting in `[from, to)`, by start. As the need's calendar has it: each weekly window
/// from its first day on or after the start date (or the day the need was posted) to the end date; a one-off need
/// (its start and end on one day) with no window on that day is that whole day, one session.
pub fn occurrences_of(
    weekly: &[TimeWindow],
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    posted: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let runs = Series::of(weekly, start, end, posted);
    let mut all: Vec<(DateTime<Utc>, DateTime<Utc>)> = runs
        .iter()
        .flat_map(|series| {
            series.sessions(from).skip_while(|(starts, _)| *starts < from).take_while(|(starts, _)| *starts < to)
        })
        .collect();
    if let (Some(day), true) = (start.filter(|d| Some(*d) == end), runs.is_empty()) {
        let (starts, ends) = whole_day(day);
        if starts >= from && starts < to {
            all.push((starts, ends));
        }
    }
    all.sort();
    all.dedup();
    all
}

/// A day on the wall clock, as instants: its midnight to the next.
pub fn whole_day(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = day.succ_opt().unwrap_or(day);
    (local_instant(day.and_time(NaiveTime::MIN)), local_instant(next.and_time(NaiveTime::MIN)))
}

pub fn check_span(from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<()> {
    if to <= from {
        return Err(AppError::bad_input("to", "must be after from"));
    }
    if to - from > MAX_SPAN {
        return Err(AppError::bad_input("to", "must be at most a year after from"));
    }
    Ok(())
}

/// The cancellations among the needs' sessions starting in `[from, to)`, in one statement.
pub(crate) async fn cancellations(
    db: &impl ConnectionTrait,
    need_ids: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<HashMap<(Uuid, DateTime<Utc>), session_cancellation::Model>> {
    use session_cancellation::Column as C;
    Ok(session_cancellation::Entity::find()
        .filter(C::NeedId.is_in(need_ids.iter().copied()))
        .filter(C::StartsAt.gte(from))
        .filter(C::StartsAt.lt(to))
        .all(db)
        .await?
        .into_iter()
        .map(|c| ((c.need_id, c.starts_at), c))
        .collect())
}

/// Every cancelled session of each need (a handful each), in one statement.
pub async fn cancellations_of(
    db: &impl ConnectionTrait,
    need_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<session_cancellation::Model>>> {
    let mut out: HashMap<Uuid, Vec<session_cancellation::Model>> = HashMap::new();
    let rows = session_cancellation::Entity::find()
        .filter(session_cancellation::Column::NeedId.is_in(need_ids.iter().copied()))
        .order_by_asc(session_cancellation::Column::StartsAt)
        .all(db)
        .await?;
    for row in rows {
        out.entry(row.need_id).or_default().push(row);
    }
    Ok(out)
}

/// Every cancelled session's start, for each need: what calendars mark (one statement).
pub async fn cancelled_starts(
    db: &impl ConnectionTrait,
    need_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<DateTime<Utc>>>> {
    Ok(cancellations_of(db, need_ids)
        .await?
        .into_iter()
        .map(|(need, rows)| (need, rows.into_iter().map(|r| r.starts_at).collect()))
        .collect())
}

/// The sessions `occurring` of a need (from `occurrences_of`), each marked with its cancellation if it has one.
pub fn mark(
    need_id: Uuid,
    capacity: Option<i32>,
    occurring: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    cancellations: &[session_cancellation::Model],
) -> Vec<Session> {
    occurring
        .into_iter()
        .map(|(starts_at, ends_at)| Session {
            need_id,
            starts_at,
            ends_at,
            cancellation: cancellations.iter().find(|c| c.starts_at == starts_at).cloned(),
            capacity,
        })
        .collect()
}

/// A need's sessions starting in `[from, to)`, cancelled ones marked.
pub async fn list(
    db: &impl ConnectionTrait,
    need: &need::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<Session>> {
    check_span(from, to)?;
    let cancelled: Vec<session_cancellation::Model> =
        cancellations(db, &[need.id], from, to).await?.into_values().collect();
    Ok(mark(need.id, capacity(need), occurrences(need, from, to), &cancelled))
}

/// The session of `need` that starts at `starts_at`, if it has one.
pub fn session_at(
    need: &need::Model,
    starts_at: DateTime<Utc>,
    field: &str,
) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let not_one = || AppError::bad_input(field, "is not the start of one of this need's sessions");
    let until = starts_at.checked_add_signed(TimeDelta::seconds(1)).ok_or_else(not_one)?;
    occurrences(need, starts_at, until).into_iter().find(|(starts, _)| *starts == starts_at).ok_or_else(not_one)
}

/// The need's coordinators call a coming session off, with a reason its volunteers will read.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn cancel(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
    reason: &str,
) -> AppResult<Session> {
    let need = super::service::get(db, need_id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    let reason = bounded_text("input.reason", reason, 3, 500)?;
    let (starts_at, ends_at) = session_at(&need, starts_at, "input.startsAt")?;
    let now = now();
    if starts_at <= now {
        return Err(AppError::bad_input("input.startsAt", "has passed: only a coming session can be called off"));
    }
    let txn = db.begin().await?;
    let cancellation = session_cancellation::ActiveModel {
        need_id: Set(need.id),
        starts_at: Set(starts_at),
        reason: Set(reason),
        cancelled_by: Set(Some(actor.id)),
        cancelled_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| match AppError::from(err) {
        AppError::Conflict(_) => AppError::conflict("this session is cancelled already"),
        other => other,
    })?;
    touch(&txn, need.id).await?;
    crate::notifications::sweeps::session_cancelled(&txn, &need, starts_at, &cancellation.reason).await?;
    txn.commit().await?;
    Ok(Session { need_id: need.id, starts_at, ends_at, cancellation: Some(cancellation), capacity: capacity(&need) })
}

/// Puts a cancelled session back.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn restore(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<Session> {
    let need = super::service::get(db, need_id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    let (starts_at, ends_at) = session_at(&need, starts_at, "input.startsAt")?;
    let txn = db.begin().await?;
    let removed = session_cancellation::Entity::delete_many()
        .filter(session_cancellation::Column::NeedId.eq(need.id))
        .filter(session_cancellation::Column::StartsAt.eq(starts_at))
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::conflict("this session is not cancelled"));
    }
    touch(&txn, need.id).await?;
    txn.commit().await?;
    Ok(Session { need_id: need.id, starts_at, ends_at, cancellation: None, capacity: capacity(&need) })
}

/// A cancelled or restored session changes the need's calendars: its stamp says so to their readers.
async fn touch(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<()> {
    need::Entity::update_many()
        .col_expr(need::Column::UpdatedAt, Expr::value(now()))
        .filter(need::Column::Id.eq(need_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The user's next sessions (cancelled ones marked, so the app can say so) across the needs they are accepted on,
/// over the next 120 days, by start: of a need taken session by session, only those they signed up for. Five
/// statements however many needs.
pub async fn upcoming(db: &impl ConnectionTrait, user_id: Uuid, first: usize) -> AppResult<Vec<Session>> {
    let Some(profile) = crate::volunteers::find_for_user(db, user_id).await? else { return Ok(Vec::new()) };
    let need_ids: HashSet<Uuid> = application::Entity::find()
        .filter(application::Column::VolunteerId.eq(profile.id))
        .filter(application::Column::Status.eq(ApplicationStatus::Accepted.as_db()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.need_id)
        .collect();
    let need_ids: Vec<Uuid> = need_ids.into_iter().collect();
    let needs = need::Entity::find().filter(need::Column::Id.is_in(need_ids.iter().copied())).all(db).await?;
    let (from, to) = (now(), now() + UPCOMING);
    let mut cancelled = cancellations(db, &need_ids, from, to).await?;
    let signed_up: HashSet<(Uuid, DateTime<Utc>)> = super::signups::of_volunteer(db, profile.id, from)
        .await?
        .into_iter()
        .map(|s| (s.need_id, s.starts_at))
        .collect();
    let signed_up = &signed_up;
    let mut sessions: Vec<Session> = needs
        .iter()
        .flat_map(|n| {
            let per_session = super::signups::per_session(n);
            occurrences(n, from, to)
                .into_iter()
                .filter(move |(s, _)| !per_session || signed_up.contains(&(n.id, *s)))
                .map(move |(s, e)| (n.id, capacity(n), s, e))
        })
        .map(|(need_id, capacity, starts_at, ends_at)| Session {
            need_id,
            starts_at,
            ends_at,
            cancellation: cancelled.remove(&(need_id, starts_at)),
            capacity,
        })
        .collect();
    sessions.sort_by_key(|s| (s.starts_at, s.need_id));
    sessions.truncate(first.min(MAX_UPCOMING));
    Ok(sessions)
}

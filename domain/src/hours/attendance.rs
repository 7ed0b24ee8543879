//! Checking in and out of sessions, and coordinators' records of who came.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{AttendanceStatus, HoursSource, HoursStatus};
use crate::access::{self, AuthUser};
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::needs::{NeedStatus, sessions, signups};
use crate::now;
use crate::values::schedule::TIME_ZONE;
use entity::{application, attendance, hours_entry, need, session_cancellation, session_signup};

/// How long before a session check-in opens unless configured (`PITCHIN_CHECK_IN_EARLY_MINUTES`); it closes at the
/// session's end.
pub const DEFAULT_EARLY_MINUTES: u32 = 30;
/// The most volunteers one `recordAttendance` names.
pub const MAX_RECORDED: usize = 500;
/// A session longer than this is a day (a one-off need's whole day): its length says nothing of anyone's hours, so
/// recording attendance at it approves none (volunteers log theirs).
const LONGEST_SESSION: TimeDelta = TimeDelta::hours(12);

/// A session the actor comes to: their profile, the need, their accepted application and the session's times.
struct OwnSession {
    profile_id: Uuid,
    need: need::Model,
    application: application::Model,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

async fn own_session(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<OwnSession> {
    let profile = crate::volunteers::require_own(db, actor).await?;
    let need = crate::needs::service::get(db, need_id).await?;
    if need.status == NeedStatus::Draft.as_db() {
        return Err(AppError::not_found("need"));
    }
    let (starts_at, ends_at) = sessions::session_at(&need, starts_at, "input.sessionId")?;
    let application = application::Entity::find()
        .filter(application::Column::NeedId.eq(need.id))
        .filter(application::Column::VolunteerId.eq(profile.id))
        .filter(application::Column::Status.eq(ApplicationStatus::Accepted.as_db()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::forbidden("only volunteers accepted on this need check in to its sessions"))?;
    if signups::per_session(&need)
        && session_signup::Entity::find_by_id((need.id, starts_at, profile.id)).one(db).await?.is_none()
    {
        return Err(AppError::forbidden("sign up for this session first"));
    }
    if session_cancellation::Entity::find_by_id((need.id, starts_at)).one(db).await?.is_some() {
        return Err(AppError::conflict("this session is cancelled"));
    }
    Ok(OwnSession { profile_id: profile.id, need, application, starts_at, ends_at })
}

/// The volunteer checks in at `at`, from `early` before the session starts until it ends.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn check_in(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
    at: DateTime<Utc>,
    early: TimeDelta,
) -> AppResult<attendance::Model> {
    let own = own_session(db, actor, need_id, starts_at).await?;
    if at < own.starts_at - early || at > own.ends_at {
        return Err(AppError::bad_input(
            "input.sessionId",
            format!("check-in opens {} minutes before the session and closes at its end", early.num_minutes()),
        ));
    }
    let existing = attendance::Entity::find_by_id((own.need.id, own.starts_at, own.profile_id)).one(db).await?;
    if existing.as_ref().is_some_and(|a| a.checked_in_at.is_some()) {
        return Err(AppError::conflict("you have checked in to this session already"));
    }
    let row = attendance::ActiveModel {
        need_id: Set(own.need.id),
        starts_at: Set(own.starts_at),
        volunteer_id: Set(own.profile_id),
        status: Set(AttendanceStatus::Attended.as_db().to_owned()),
        checked_in_at: Set(Some(at)),
        checked_out_at: Set(None),
        recorded_by: Set(existing.as_ref().and_then(|a| a.recorded_by)),
        updated_at: Set(now()),
    };
    // A coordinator may have recorded them already: the check-in completes that record.
    Ok(match existing {
        Some(_) => row.update(db).await?,
        None => row.insert(db).await.map_err(|err| match AppError::from(err) {
            AppError::Conflict(_) => AppError::conflict("you have checked in to this session already"),
            other => other,
        })?,
    })
}

/// The volunteer checks out at `at`; the time between the later of check-in and start and the earlier of check-out
/// and end is proposed as hours (PENDING), once per session.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn check_out(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> AppResult<(attendance::Model, Option<hours_entry::Model>)> {
    let own = own_session(db, actor, need_id, starts_at).await?;
    let existing = attendance::Entity::find_by_id((own.need.id, own.starts_at, own.profile_id)).one(db).await?;
    let Some(checked_in) = existing.as_ref().and_then(|a| a.checked_in_at) else {
        return Err(AppError::conflict("check in to this session first"));
    };
    if existing.as_ref().is_some_and(|a| a.checked_out_at.is_some()) {
        return Err(AppError::conflict("you have checked out of this session already"));
    }
    let out = at.max(checked_in);
    let minutes = (out.min(own.ends_at) - checked_in.max(own.starts_at)).num_minutes();
    let txn = db.begin().await?;
    let updated = attendance::Entity::update_many()
        .col_expr(attendance::Column::CheckedOutAt, sea_orm::sea_query::Expr::value(out))
        .col_expr(attendance::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(attendance::Column::NeedId.eq(own.need.id))
        .filter(attendance::Column::StartsAt.eq(own.starts_at))
        .filter(attendance::Column::VolunteerId.eq(own.profile_id))
        .filter(attendance::Column::CheckedOutAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::conflict("you have checked out of this session already"));
    }
    let proposed = if minutes > 0 {
        let minutes = i32::try_from(minutes.min(i64::from(super::service::MAX_MINUTES))).unwrap_or(0);
        session_hours(&txn, &own.application, &own.need, own.starts_at, minutes, HoursSource::CheckOut, None).await?
    } else {
        None
    };
    txn.commit().await?;
    let attendance = attendance::Entity::find_by_id((own.need.id, own.starts_at, own.profile_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("attendance gone after check-out"))?;
    Ok((attendance, proposed))
}

/// A session's hours for one volunteer, unless they have some for it already (`None` then).
async fn session_hours(
    db: &impl ConnectionTrait,
    application: &application::Model,
    need: &need::Model,
    starts_at: DateTime<Utc>,
    minutes: i32,
    source: HoursSource,
    decided_by: Option<Uuid>,
) -> AppResult<Option<hours_entry::Model>> {
    let now = now();
    let status = if decided_by.is_some() { HoursStatus::Approved } else { HoursStatus::Pending };
    let id = Uuid::now_v7();
    let row = hours_entry::ActiveModel {
        id: Set(id),
        application_id: Set(application.id),
        volunteer_id: Set(application.volunteer_id),
        need_id: Set(need.id),
        organisation_id: Set(need.organisation_id),
        worked_on: Set(starts_at.with_timezone(&TIME_ZONE).date_naive()),
        minutes: Set(minutes),
        note: Set(String::new()),
        status: Set(status.as_db().to_owned()),
        source: Set(source.as_db().to_owned()),
        session_starts_at: Set(Some(starts_at)),
        rejection_reason: Set(None),
        decided_by: Set(decided_by),
        decided_at: Set(decided_by.map(|_| now)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = hours_entry::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([hours_entry::Column::ApplicationId, hours_entry::Column::SessionStartsAt])
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec_without_returning(db)
        .await?;
    let entry = match inserted {
        sea_orm::TryInsertResult::Inserted(rows) if rows > 0 => hours_entry::Entity::find_by_id(id).one(db).await?,
        _ => None,
    };
    // Hours a coordinator recorded are approved at once: the volunteer hears of them as of any approval.
    if let Some(entry) = entry.as_ref().filter(|e| e.status == HoursStatus::Approved.as_db()) {
        crate::notifications::events::hours_decided(db, entry).await?;
    }
    Ok(entry)
}

/// A coordinator records who came to a session that has started (and was not cancelled) and who did not. Those who
/// came and have no hours for it yet get the session's length, approved (the coordinator's record is the
/// organisation's word), except the coordinator's own (pending, for someone else) and at a whole-day session.
#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn record(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    starts_at: DateTime<Utc>,
    attended: &[Uuid],
    absent: &[Uuid],
) -> AppResult<Vec<attendance::Model>> {
    let need = crate::needs::service::get(db, need_id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    let (starts_at, ends_at) = sessions::session_at(&need, starts_at, "input.sessionId")?;
    if starts_at > now() {
        return Err(AppError::bad_input("input.sessionId", "has not started: attendance is recorded once it has"));
    }
    if session_cancellation::Entity::find_by_id((need.id, starts_at)).one(db).await?.is_some() {
        return Err(AppError::conflict("this session was cancelled: nobody attended it"));
    }
    if attended.len() + absent.len() > MAX_RECORDED {
        return Err(AppError::bad_input("input.attended", format!("at most {MAX_RECORDED} volunteers at once")));
    }
    let named: HashSet<Uuid> = attended.iter().copied().collect();
    if let Some(i) = absent.iter().position(|v| named.contains(v)) {
        return Err(AppError::bad_input(format!("input.absent[{i}]"), "is also in attended"));
    }
    // Only the need's volunteers (accepted, or done with it since).
    let applications: HashMap<Uuid, application::Model> = application::Entity::find()
        .filter(application::Column::NeedId.eq(need.id))
        .filter(application::Column::VolunteerId.is_in(attended.iter().chain(absent).copied()))
        .filter(
            application::Column::Status
                .is_in([ApplicationStatus::Accepted.as_db(), ApplicationStatus::Completed.as_db()]),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.volunteer_id, a))
        .collect();
    for (field, ids) in [("input.attended", attended), ("input.absent", absent)] {
        if let Some(i) = ids.iter().position(|v| !applications.contains_key(v)) {
            return Err(AppError::bad_input(format!("{field}[{i}]"), "is not a volunteer on this need"));
        }
    }
    let length = ends_at - starts_at;
    let inferred = (length <= LONGEST_SESSION).then(|| i32::try_from(length.num_minutes()).unwrap_or(0));
    // A coordinator's own attendance is recorded, but their hours wait for someone else to approve them.
    let own = crate::volunteers::find_for_user(db, actor.id).await?.map(|p| p.id);
    let now = now();
    let txn = db.begin().await?;
    // Held first: two coordinators recording the same session at once take turns rather than deadlock.
    crate::needs::service::hold(&txn, need.id).await?;
    for (ids, status) in [(attended, AttendanceStatus::Attended), (absent, AttendanceStatus::Absent)] {
        for volunteer in ids {
            let row = attendance::ActiveModel {
                need_id: Set(need.id),
                starts_at: Set(starts_at),
                volunteer_id: Set(*volunteer),
                status: Set(status.as_db().to_owned()),
                checked_in_at: Set(None),
                checked_out_at: Set(None),
                recorded_by: Set(Some(actor.id)),
                updated_at: Set(now),
            };
            // A volunteer's own check-in times stay; the coordinator's word sets the status.
            attendance::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([
                        attendance::Column::NeedId,
                        attendance::Column::StartsAt,
                        attendance::Column::VolunteerId,
                    ])
                    .update_columns([
                        attendance::Column::Status,
                        attendance::Column::RecordedBy,
                        attendance::Column::UpdatedAt,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            let Some(application) = applications.get(volunteer) else { continue };
            match (status, inferred) {
                (AttendanceStatus::Attended, Some(minutes)) => {
                    let decided_by = (own != Some(*volunteer)).then_some(actor.id);
                    session_hours(&txn, application, &need, starts_at, minutes, HoursSource::Recorded, decided_by)
                        .await?;
                }
                // Recorded absent after all: the hours a record gave them for it go.
                (AttendanceStatus::Absent, _) => {
                    hours_entry::Entity::delete_many()
                        .filter(hours_entry::Column::ApplicationId.eq(application.id))
                        .filter(hours_entry::Column::SessionStartsAt.eq(starts_at))
                        .filter(hours_entry::Column::Source.eq(HoursSource::Recorded.as_db()))
                        .exec(&txn)
                        .await?;
                }
                (AttendanceStatus::Attended, None) => {}
            }
        }
    }
    txn.commit().await?;
    Ok(attendance::Entity::find()
        .filter(attendance::Column::NeedId.eq(need.id))
        .filter(attendance::Column::StartsAt.eq(starts_at))
        .all(db)
        .await?)
}

/// The attendance of each session (need, start), in one statement.
pub async fn of_sessions(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, DateTime<Utc>)],
) -> AppResult<HashMap<(Uuid, DateTime<Utc>), Vec<attendance::Model>>> {
    use attendance::Column as C;
    let rows = attendance::Entity::find()
        .filter(C::NeedId.is_in(keys.iter().map(|k| k.0)))
        .filter(C::StartsAt.is_in(keys.iter().map(|k| k.1)))
        .all(db)
        .await?;
    let mut out: HashMap<(Uuid, DateTime<Utc>), Vec<attendance::Model>> = HashMap::new();
    for row in rows {
        let key = (row.need_id, row.starts_at);
        if keys.contains(&key) {
            out.entry(key).or_default().push(row);
        }
    }
    Ok(out)
}

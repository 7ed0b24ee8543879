//! Hours: logged by volunteers, decided by organisations, totalled for volunteers and organisations.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{AttendanceStatus, HoursSource, HoursStatus};
use crate::access::{self, AuthUser};
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::bounded_text;
use crate::values::schedule::{TIME_ZONE, local_instant};
use entity::{attendance, hours_entry, need};

/// The most minutes one entry holds: a day.
pub const MAX_MINUTES: i32 = 24 * 60;
/// The longest span one impact report covers: five years.
pub const MAX_SPAN_DAYS: i64 = 5 * 366;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<hours_entry::Model> {
    hours_entry::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("hours entry"))
}

/// Today on the wall clock in London: the day hours are given on.
pub fn today() -> NaiveDate {
    now().with_timezone(&TIME_ZONE).date_naive()
}

/// The volunteer logs time they gave on a need they are (or were) accepted on; PENDING until the organisation
/// decides.
#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %application_id))]
pub async fn log(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    application_id: Uuid,
    worked_on: NaiveDate,
    minutes: i32,
    note: &str,
) -> AppResult<hours_entry::Model> {
    let application = crate::applications::service::get(db, application_id).await?;
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    // Someone else's application is not found, as it is to them everywhere else.
    if own.is_none_or(|p| p.id != application.volunteer_id) {
        return Err(AppError::not_found("application"));
    }
    if ![ApplicationStatus::Accepted.as_db(), ApplicationStatus::Completed.as_db()]
        .contains(&application.status.as_str())
    {
        return Err(AppError::conflict("hours are logged on a need you were accepted on"));
    }
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(AppError::bad_input("input.minutes", format!("must be between 1 and {MAX_MINUTES}")));
    }
    if worked_on > today() {
        return Err(AppError::bad_input("input.date", "must not be in the future"));
    }
    let accepted_on = application.accepted_at.map(|at| at.with_timezone(&TIME_ZONE).date_naive());
    if accepted_on.is_some_and(|day| worked_on < day) {
        return Err(AppError::bad_input("input.date", "is before you were accepted on this need"));
    }
    let note = bounded_text("input.note", note, 0, 500)?;
    let need = crate::needs::service::get(db, application.need_id).await?;
    let now = now();
    Ok(hours_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        application_id: Set(application.id),
        volunteer_id: Set(application.volunteer_id),
        need_id: Set(need.id),
        organisation_id: Set(need.organisation_id),
        worked_on: Set(worked_on),
        minutes: Set(minutes),
        note: Set(note),
        status: Set(HoursStatus::Pending.as_db().to_owned()),
        source: Set(HoursSource::Logged.as_db().to_owned()),
        session_starts_at: Set(None),
        rejection_reason: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// The organisation's coordinators approve a PENDING entry.
pub async fn approve(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<hours_entry::Model> {
    decide(db, actor, id, HoursStatus::Approved, None).await
}

/// The organisation's coordinators reject a PENDING entry, saying why (the volunteer reads it).
pub async fn reject(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    reason: &str,
) -> AppResult<hours_entry::Model> {
    let reason = bounded_text("input.reason", reason, 3, 500)?;
    decide(db, actor, id, HoursStatus::Rejected, Some(reason)).await
}

async fn decide(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    to: HoursStatus,
    reason: Option<String>,
) -> AppResult<hours_entry::Model> {
    use hours_entry::Column as C;
    let entry = get(db, id).await?;
    access::require_coordinator(db, actor, entry.organisation_id).await?;
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    if own.is_some_and(|p| p.id == entry.volunteer_id) {
        return Err(AppError::forbidden("someone else in the organisation must decide on your own hours"));
    }
    let now = now();
    let txn = db.begin().await?;
    // Conditional on PENDING: two coordinators deciding at once cannot both win.
    let result = hours_entry::Entity::update_many()
        .col_expr(C::Status, Expr::value(to.as_db()))
        .col_expr(C::RejectionReason, Expr::value(reason))
        .col_expr(C::DecidedBy, Expr::value(actor.id))
        .col_expr(C::DecidedAt, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(C::Status.eq(HoursStatus::Pending.as_db()))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict(format!("these hours are {} already", entry.status.to_lowercase())));
    }
    let decided = get(&txn, id).await?;
    crate::notifications::events::hours_decided(&txn, &decided).await?;
    txn.commit().await?;
    Ok(decided)
}

/// Approved and pending minutes, and the approved ones by month, organisation and need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub approved_minutes: i64,
    pub pending_minutes: i64,
    /// `YYYY-MM`, oldest first.
    pub by_month: Vec<(String, i64)>,
    pub by_organisation: Vec<(Uuid, i64)>,
    pub by_need: Vec<(Uuid, i64)>,
}

fn month(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Sums `(key, minutes)` pairs, largest first (then by key, so equal input gives equal output).
fn ranked<K: Ord + Copy + std::hash::Hash>(pairs: impl Iterator<Item = (K, i64)>) -> Vec<(K, i64)> {
    let mut sums: HashMap<K, i64> = HashMap::new();
    for (k, m) in pairs {
        *sums.entry(k).or_default() += m;
    }
    let mut out: Vec<(K, i64)> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// A volunteer's totals over all their entries (a few hundred at most), in one statement.
pub async fn totals_for_volunteer(db: &impl ConnectionTrait, volunteer_id: Uuid) -> AppResult<Totals> {
    let rows = hours_entry::Entity::find()
        .filter(hours_entry::Column::VolunteerId.eq(volunteer_id))
        .filter(hours_entry::Column::Status.ne(HoursStatus::Rejected.as_db()))
        .all(db)
        .await?;
    let approved: Vec<&hours_entry::Model> =
        rows.iter().filter(|r| r.status == HoursStatus::Approved.as_db()).collect();
    let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
    for r in &approved {
        *by_month.entry(month(r.worked_on)).or_default() += i64::from(r.minutes);
    }
    Ok(Totals {
        approved_minutes: approved.iter().map(|r| i64::from(r.minutes)).sum(),
        pending_minutes: rows
            .iter()
            .filter(|r| r.status == HoursStatus::Pending.as_db())
            .map(|r| i64::from(r.minutes))
            .sum(),
        by_month: by_month.into_iter().collect(),
        by_organisation: ranked(approved.iter().map(|r| (r.organisation_id, i64::from(r.minutes)))),
        by_need: ranked(approved.iter().map(|r| (r.need_id, i64::from(r.minutes)))),
    })
}

/// Entries, newest first: a volunteer's own, or an organisation's (its approval queue), optionally of one status.
pub async fn entries(
    db: &impl ConnectionTrait,
    of: EntriesOf,
    status: Option<HoursStatus>,
    first: u64,
) -> AppResult<Vec<hours_entry::Model>> {
    use hours_entry::Column as C;
    let mut select = match of {
        EntriesOf::Volunteer(id) => hours_entry::Entity::find().filter(C::VolunteerId.eq(id)),
        EntriesOf::Organisation(id) => hours_entry::Entity::find().filter(C::OrganisationId.eq(id)),
    };
    if let Some(status) = status {
        select = select.filter(C::Status.eq(status.as_db()));
    }
    Ok(select.order_by_desc(C::WorkedOn).order_by_desc(C::Id).limit(first.clamp(1, 100)).all(db).await?)
}

#[derive(Clone, Copy, Debug)]
pub enum EntriesOf {
    Volunteer(Uuid),
    Organisation(Uuid),
}

/// What an organisation's volunteers gave between two days (inclusive): approved hours, how many volunteers gave
/// them, how many sessions were held (at least one volunteer attended), and the hours by month, need and project.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Impact {
    pub approved_minutes: i64,
    pub active_volunteers: i64,
    pub sessions_held: i64,
    pub by_month: Vec<(String, i64)>,
    pub by_need: Vec<(Uuid, i64)>,
    pub by_project: Vec<(Uuid, i64)>,
}

/// Three statements however many entries.
pub async fn impact(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Impact> {
    if to < from {
        return Err(AppError::bad_input("to", "must not be before from"));
    }
    if (to - from).num_days() > MAX_SPAN_DAYS {
        return Err(AppError::bad_input("to", "must be within five years of from"));
    }
    use hours_entry::Column as C;
    let rows: Vec<(Uuid, Uuid, NaiveDate, i32)> = hours_entry::Entity::find()
        .select_only()
        .columns([C::VolunteerId, C::NeedId, C::WorkedOn, C::Minutes])
        .filter(C::OrganisationId.eq(organisation_id))
        .filter(C::Status.eq(HoursStatus::Approved.as_db()))
        .filter(C::WorkedOn.gte(from))
        .filter(C::WorkedOn.lte(to))
        .into_tuple()
        .all(db)
        .await?;
    let need_ids: HashSet<Uuid> = rows.iter().map(|r| r.1).collect();
    let projects: HashMap<Uuid, Uuid> = need::Entity::find()
        .select_only()
        .columns([need::Column::Id, need::Column::ProjectId])
        .filter(need::Column::Id.is_in(need_ids))
        .into_tuple::<(Uuid, Option<Uuid>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(need, project)| project.map(|p| (need, p)))
        .collect();
    // Sessions held: those starting within the days (on the wall clock) with someone attending.
    let start = local_instant(from.and_hms_opt(0, 0, 0).unwrap_or_default());
    let end = local_instant(to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).unwrap_or_default());
    let organisation_needs = Query::select()
        .column(need::Column::Id)
        .from(need::Entity)
        .and_where(need::Column::OrganisationId.eq(organisation_id))
        .to_owned();
    let held: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> = attendance::Entity::find()
        .select_only()
        .columns([attendance::Column::NeedId, attendance::Column::StartsAt])
        .distinct()
        .filter(attendance::Column::NeedId.in_subquery(organisation_needs))
        .filter(attendance::Column::Status.eq(AttendanceStatus::Attended.as_db()))
        .filter(attendance::Column::StartsAt.gte(start))
        .filter(attendance::Column::StartsAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        *by_month.entry(month(r.2)).or_default() += i64::from(r.3);
    }
    Ok(Impact {
        approved_minutes: rows.iter().map(|r| i64::from(r.3)).sum(),
        active_volunteers: i64::try_from(rows.iter().map(|r| r.0).collect::<HashSet<_>>().len()).unwrap_or(0),
        sessions_held: i64::try_from(held.len()).unwrap_or(0),
        by_month: by_month.into_iter().collect(),
        by_need: ranked(rows.iter().map(|r| (r.1, i64::from(r.3)))),
        by_project: ranked(rows.iter().filter_map(|r| projects.get(&r.1).map(|p| (*p, i64::from(r.3))))),
    })
}

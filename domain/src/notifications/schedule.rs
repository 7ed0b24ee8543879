//! Recurring jobs, persisted: each has a row (`scheduled_jobs`) holding when it is next due. The rules:
//! - **Once per run, across servers.** A server runs a due job only after claiming it: one UPDATE conditional on
//!   the due time it read and on no live claim, which one server wins (a row lock on PostgreSQL, the write lock on
//!   SQLite) and the others find changed.
//! - **Survives restarts.** The due time is in the database; a job due while every server was down runs once at the
//!   next start (not once per missed period), and its sweep decides what is still worth doing.
//! - **A run that dies** (the server stopped mid-run) is taken up again when its claim lapses (`LEASE`); the sweeps'
//!   messages carry keys, so a run repeated writes nothing twice.
//! - **A run that fails** is tried again after `RETRY` rather than waiting for its next period.
//!
//! Only the time of the next run lives here; what a run does is the sweep's (`sweeps`), given the time.
use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc, Weekday};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::AppResult;
use crate::values::schedule::local_instant;
use entity::scheduled_job;

crate::db_enum! {
    pub enum Job {
        /// Every 15 minutes: reminders for sessions starting within the reminder lead (24 hours by default).
        SessionReminders => "SESSION_REMINDERS",
        /// Hourly: each organisation's new applications, to its members.
        ApplicationDigests => "APPLICATION_DIGESTS",
        /// Daily at 09:00 (London): DBS checks ending in 60, 30 or 7 days.
        DbsRechecks => "DBS_RECHECKS",
        /// Mondays at 08:00 (London): each volunteer's best new needs of the week.
        WeeklyDigest => "WEEKLY_DIGEST",
    }
}

/// Longer than any run takes (the weekly digest of a 100,000-volunteer city takes seconds): a claim older than this
/// is a dead server's.
pub const LEASE: TimeDelta = TimeDelta::minutes(10);
/// How soon a failed run is tried again.
pub const RETRY: TimeDelta = TimeDelta::minutes(5);

impl Job {
    /// When the job runs next, after a run at `now`.
    pub fn next_after(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::SessionReminders => now + TimeDelta::minutes(15),
            Self::ApplicationDigests => {
                let hour = now.date_naive().and_hms_opt(chrono::Timelike::hour(&now), 0, 0).map(|h| h.and_utc());
                hour.unwrap_or(now) + TimeDelta::hours(1)
            }
            Self::DbsRechecks => next_local(now, None, NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN)),
            Self::WeeklyDigest => {
                next_local(now, Some(Weekday::Mon), NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN))
            }
        }
    }

    /// When the job first runs on a new database: reminders at once; the others at their next time, so a new
    /// deployment does not send a digest the minute it starts.
    pub fn first_due(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::SessionReminders => now,
            other => other.next_after(now),
        }
    }
}

/// The next instant after `now` that is `time` on the wall clock in London (on `day`, when given).
fn next_local(now: DateTime<Utc>, day: Option<Weekday>, time: NaiveTime) -> DateTime<Utc> {
    let today = now.with_timezone(&crate::values::schedule::TIME_ZONE).date_naive();
    (0..=8)
        .filter_map(|offset| today.checked_add_days(chrono::Days::new(offset)))
        .filter(|d| day.is_none_or(|w| d.weekday() == w))
        .map(|d| local_instant(d.and_time(time)))
        .find(|at| *at > now)
        .unwrap_or(now + TimeDelta::days(7))
}

/// Makes each job's row if it has none (at start; idempotent, also when servers start together).
pub async fn ensure(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<()> {
    let rows = Job::ALL.iter().map(|job| scheduled_job::ActiveModel {
        name: Set(job.as_db().to_owned()),
        due_at: Set(job.first_due(now)),
        claimed_until: Set(None),
        last_started_at: Set(None),
        last_finished_at: Set(None),
        last_error: Set(None),
    });
    scheduled_job::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(scheduled_job::Column::Name).do_nothing().to_owned())
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A claimed run of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub job: Job,
    /// When this run was due.
    pub due_at: DateTime<Utc>,
    /// When the last run that succeeded started, if any: where a digest of what arrived since picks up, so a
    /// failed run's span is covered by the next that succeeds.
    pub previous_start: Option<DateTime<Utc>>,
    /// When this run started (its claim).
    pub started_at: DateTime<Utc>,
    claimed_until: DateTime<Utc>,
}

/// Claims `job`'s run if it is due at `now` and no live claim holds it; `None` when it is not due or another server
/// has it. Two statements: a read, then the conditional update that decides.
pub async fn claim(db: &impl ConnectionTrait, job: Job, now: DateTime<Utc>) -> AppResult<Option<Run>> {
    use scheduled_job::Column as J;
    let Some(row) = scheduled_job::Entity::find_by_id(job.as_db()).one(db).await? else { return Ok(None) };
    if row.due_at > now || row.claimed_until.is_some_and(|until| until >= now) {
        return Ok(None);
    }
    let claimed_until = now + LEASE;
    let won = scheduled_job::Entity::update_many()
        .col_expr(J::ClaimedUntil, Expr::value(claimed_until))
        .filter(J::Name.eq(job.as_db()))
        .filter(J::DueAt.eq(row.due_at))
        .filter(J::ClaimedUntil.is_null().or(J::ClaimedUntil.lt(now)))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    Ok(won.then_some(Run {
        job,
        due_at: row.due_at,
        previous_start: row.last_started_at,
        started_at: now,
        claimed_until,
    }))
}

/// Ends a run: the next is due at the job's next time (or after `RETRY`, when this one failed). Does nothing if
/// the claim lapsed and another server took the job meanwhile.
pub async fn finish(
    db: &impl ConnectionTrait,
    run: &Run,
    now: DateTime<Utc>,
    error: Option<String>,
) -> AppResult<bool> {
    use scheduled_job::Column as J;
    let next = match error {
        None => run.job.next_after(now),
        Some(_) => Ord::min(run.job.next_after(now), now + RETRY),
    };
    let succeeded = error.is_none();
    let error: Option<String> = error.map(|e| e.chars().take(300).collect());
    let mut update = scheduled_job::Entity::update_many();
    if succeeded {
        // The success cursor: only a run that succeeded moves where the next one picks up.
        update = update.col_expr(J::LastStartedAt, Expr::value(run.started_at));
    }
    let changed = update
        .col_expr(J::DueAt, Expr::value(next))
        .col_expr(J::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(J::LastFinishedAt, Expr::value(now))
        .col_expr(J::LastError, Expr::value(error))
        .filter(J::Name.eq(run.job.as_db()))
        .filter(J::ClaimedUntil.eq(run.claimed_until))
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap_or_default()
    }

    #[test]
    fn each_job_comes_round_at_its_time_on_the_london_clock() {
        // Monday 7 December 2026, 10:20 GMT.
        let now = at(2026, 12, 7, 10, 20);
        assert_eq!(Job::SessionReminders.next_after(now), at(2026, 12, 7, 10, 35));
        assert_eq!(Job::ApplicationDigests.next_after(now), at(2026, 12, 7, 11, 0));
        assert_eq!(Job::DbsRechecks.next_after(now), at(2026, 12, 8, 9, 0));
        assert_eq!(Job::WeeklyDigest.next_after(now), at(2026, 12, 14, 8, 0));
        // In summer time, 08:00 in London is 07:00 UTC; a Monday before 08:00 is that Monday.
        assert_eq!(Job::WeeklyDigest.next_after(at(2027, 6, 7, 6, 30)), at(2027, 6, 7, 7, 0));
        assert_eq!(Job::DbsRechecks.next_after(at(2027, 6, 7, 6, 30)), at(2027, 6, 7, 8, 0));
        // A new deployment sends no digest at once.
        assert_eq!(Job::SessionReminders.first_due(now), now);
        assert_eq!(Job::WeeklyDigest.first_due(now), at(2026, 12, 14, 8, 0));
    }
}

//! The notification sweeps on the synthetic city, in this process against the database (no server: a sweep is one
//! server's scheduled job, not a request): the reminders for sessions in the next 24 hours, and the weekly digest
//! for every volunteer, each timed over a few rounds (median) with its SQL statements counted. Each round first
//! removes what the previous one wrote, so every round does the whole work (the steady state, where a sweep finds
//! its messages written already, is the second figure).
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use api::Settings;
use chrono::{DateTime, TimeDelta, Utc};
use domain::matching::index::MatchingIndex;
use domain::notifications::sweeps::{self, Swept};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

pub struct NotificationBenchOptions {
    pub rounds: usize,
}

pub struct SweepRow {
    pub name: &'static str,
    pub swept: Swept,
    /// Median over the rounds, milliseconds.
    pub first_ms: f64,
    pub first_statements: usize,
    /// The same sweep again at once (its messages written already): what each later run costs.
    pub again_ms: f64,
    pub again_statements: usize,
}

pub struct NotificationReport {
    pub rows: Vec<SweepRow>,
    pub rounds: usize,
    pub volunteers: u64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Deletes the messages a sweep wrote (their keys start with `prefix`).
async fn forget(db: &DatabaseConnection, prefix: &str) -> Result<(), String> {
    entity::notification::Entity::delete_many()
        .filter(entity::notification::Column::DedupeKey.starts_with(prefix))
        .exec(db)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

pub async fn run(settings: &Settings, options: NotificationBenchOptions) -> Result<NotificationReport, String> {
    let mut db = crate::matching::prepared_database(settings).await?;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let volunteers = {
        use sea_orm::PaginatorTrait;
        entity::volunteer_profile::Entity::find().count(&db).await.map_err(|e| format!("{e:?}"))?
    };
    let index = MatchingIndex::new();
    index.refresh(&db).await.map_err(|e| format!("{e:?}"))?;
    // The synthetic city's needs were posted over the months before it was made: the digest runs as of a week
    // after the newest of them, so it has a week of new needs to send, as a real Monday would.
    let newest: Option<DateTime<Utc>> = entity::need::Entity::find()
        .filter(entity::need::Column::PublishedAt.is_not_null())
        .all(&db)
        .await
        .map_err(|e| format!("{e:?}"))?
        .into_iter()
        .filter_map(|n| n.published_at)
        .max();
    let digest_at = newest.unwrap_or_else(Utc::now) + TimeDelta::hours(1);
    let now = Utc::now();
    let mut rows = Vec::new();
    for name in ["reminders for the next 24 hours", "weekly digest for every volunteer"] {
        let prefix = if name.starts_with("reminders") { "session-reminder:" } else { "weekly-digest:" };
        let (mut first, mut again) = (Vec::new(), Vec::new());
        let (mut first_statements, mut again_statements, mut swept) = (0, 0, Swept::default());
        for _ in 0..options.rounds.max(1) {
            forget(&db, prefix).await?;
            for (times, counts, is_first) in
                [(&mut first, &mut first_statements, true), (&mut again, &mut again_statements, false)]
            {
                statements.store(0, Ordering::Relaxed);
                let started = Instant::now();
                let result = if prefix == "session-reminder:" {
                    sweeps::session_reminders(&db, now, TimeDelta::hours(24)).await
                } else {
                    sweeps::weekly_digest(&db, &index, digest_at).await
                }
                .map_err(|e| format!("{name}: {e:?}"))?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                *counts = statements.load(Ordering::Relaxed);
                if is_first {
                    swept = result;
                }
            }
        }
        forget(&db, prefix).await?;
        rows.push(SweepRow {
            name,
            swept,
            first_ms: median(first),
            first_statements,
            again_ms: median(again),
            again_statements,
        });
    }
    Ok(NotificationReport { rows, rounds: options.rounds.max(1), volunteers })
}

pub fn report(report: &NotificationReport) -> String {
    let mut out = format!(
        "notification sweeps on {} volunteers, median of {} rounds\n\n| sweep | looked at | messages | time | statements | again (all written) |\n| --- | --- | --- | --- | --- | --- |\n",
        report.volunteers, report.rounds
    );
    for row in &report.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} ms | {} | {:.0} ms, {} statements |\n",
            row.name,
            row.swept.considered,
            row.swept.written,
            row.first_ms,
            row.first_statements,
            row.again_ms,
            row.again_statements
        ));
    }
    out
}

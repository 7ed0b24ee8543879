//! What a partner gets back: per key and day (on the UK's calendar), widget views, "I can help" clicks, and
//! applications that came through the partner's links. Counts only: no cookie, and nothing about who.
//!
//! Counted in memory (`Tally`) and added to `partner_days` every few seconds, one upsert per key and day: a busy
//! widget costs no write per view. Servers add their own counts, so several on one database sum correctly; a
//! server that dies loses at most its last few seconds of counts. `partnerStats` adds this server's counts first.
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{Days, NaiveDate};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::values::schedule::TIME_ZONE;
use entity::partner_day;

/// Longest span `days` reads: a year, leap day included.
pub const MAX_DAYS: u64 = 366;

/// Something a partner's link brought about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    View,
    Click,
    Application,
}

/// One key's counts for one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartnerDay {
    pub day: NaiveDate,
    pub widget_views: i64,
    pub clicks: i64,
    pub applications: i64,
}

/// Counts not yet written, by key and day.
#[derive(Default)]
pub struct Tally(Mutex<HashMap<(Uuid, NaiveDate), PartnerDay>>);

/// Today on the UK's calendar, which partners' days follow.
pub fn today() -> NaiveDate {
    crate::now().with_timezone(&TIME_ZONE).date_naive()
}

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, NaiveDate), PartnerDay>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn count(&self, api_key_id: Uuid, what: Counted) {
        let day = today();
        let mut counts = self.lock();
        let entry = counts.entry((api_key_id, day)).or_insert(PartnerDay { day, ..PartnerDay::default() });
        match what {
            Counted::View => entry.widget_views += 1,
            Counted::Click => entry.clicks += 1,
            Counted::Application => entry.applications += 1,
        }
    }

    /// Adds what has been counted to the table. Counts not written, because a statement failed or because the
    /// caller stopped waiting (a request that timed out, a server shutting down), are kept for the next time.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        let mut unwritten = Unwritten { tally: self, counts: self.lock().drain().collect() };
        while let Some(&((api_key_id, _), counts)) = unwritten.counts.last() {
            add(db, api_key_id, counts).await?;
            unwritten.counts.pop();
        }
        Ok(())
    }
}

/// Counts taken out of a `Tally` to be written: whatever is left when it is dropped goes back.
struct Unwritten<'a> {
    tally: &'a Tally,
    counts: Vec<((Uuid, NaiveDate), PartnerDay)>,
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if self.counts.is_empty() {
            return;
        }
        let mut counts = self.tally.lock();
        for (key, more) in self.counts.drain(..) {
            let entry = counts.entry(key).or_insert(PartnerDay { day: key.1, ..PartnerDay::default() });
            entry.widget_views += more.widget_views;
            entry.clicks += more.clicks;
            entry.applications += more.applications;
        }
    }
}

/// Adds one key's counts for one day: one statement, the row made if it is the day's first.
async fn add(db: &impl ConnectionTrait, api_key_id: Uuid, counts: PartnerDay) -> AppResult<()> {
    use partner_day::{Column, Entity};
    let row = partner_day::ActiveModel {
        api_key_id: Set(api_key_id),
        day: Set(counts.day),
        widget_views: Set(counts.widget_views),
        clicks: Set(counts.clicks),
        applications: Set(counts.applications),
    };
    let plus = |column: Column, n: i64| Expr::col((Entity, column)).add(n);
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::ApiKeyId, Column::Day])
                .value(Column::WidgetViews, plus(Column::WidgetViews, counts.widget_views))
                .value(Column::Clicks, plus(Column::Clicks, counts.clicks))
                .value(Column::Applications, plus(Column::Applications, counts.applications))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The key's counts for every day from `from` to `to`, both included, with zeros for quiet days. One statement.
pub async fn days(
    db: &impl ConnectionTrait,
    api_key_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<PartnerDay>> {
    if to < from {
        return Err(AppError::bad_input("to", "must not be before from"));
    }
    if from.checked_add_days(Days::new(MAX_DAYS)).is_some_and(|last| to >= last) {
        return Err(AppError::bad_input("to", format!("at most {MAX_DAYS} days from from")));
    }
    let rows: HashMap<NaiveDate, partner_day::Model> = partner_day::Entity::find()
        .filter(partner_day::Column::ApiKeyId.eq(api_key_id))
        .filter(partner_day::Column::Day.between(from, to))
        .order_by_asc(partner_day::Column::Day)
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.day, r))
        .collect();
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|day| {
            rows.get(&day).map_or(PartnerDay { day, ..PartnerDay::default() }, |r| PartnerDay {
                day,
                widget_views: r.widget_views,
                clicks: r.clicks,
                applications: r.applications,
            })
        })
        .collect())
}

//! The notifications outbox: a row per message, written by the change it tells of in that change's transaction
//! (or by a scheduled sweep), then sent by the transport's dispatcher. The rules, as for webhooks:
//! - **Claims.** A dispatcher claims due rows for one attempt each with one conditional UPDATE (on PostgreSQL over
//!   `FOR UPDATE SKIP LOCKED` rows, on SQLite under its single writer) that stamps them with the claim's expiry;
//!   only the holder of that stamp may record the outcome, so two servers never send the same attempt.
//! - **At least once.** An attempt whose outcome was never recorded (a server that died mid-send) is tried again
//!   when its claim lapses.
//! - **Backoff.** A failed attempt is tried again after 5 s × 4^(n−1) (±20 %), up to `MAX_ATTEMPTS`; a permanent
//!   refusal (SMTP 5xx) is not retried.
//! - **Screening at send time.** The person's preferences, weekly cap and address are read when the message is
//!   claimed, not when it is written, so turning a kind off stops what is already queued.
//! - **Once per key.** Sweeps give each message a key (`dedupe_key`, unique), so a reminder is written once however
//!   often the sweep runs.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::preferences::{self, Preferences};
use super::{Notice, NotificationKind, NotificationStatus};
use crate::error::{AppError, AppResult};
use crate::store::page::fetch_rows;
use crate::webhooks::outbox::Backoff;
use entity::{notification, user, volunteer_profile};

/// Attempts before a message is given up: with `Backoff`'s schedule from 5 s, the last comes about 7.6 hours after
/// the first, while a reminder for tomorrow is still worth having.
pub const MAX_ATTEMPTS: i32 = 8;

/// Rows written per statement by a sweep: 11 values each, well under SQLite's 32,766 bound variables.
const CHUNK: usize = 1_000;

/// A message to write: to whom, what, and (for a sweep's) its key.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub user_id: Uuid,
    pub notice: Notice,
    pub dedupe_key: Option<String>,
}

fn row(
    user_id: Uuid,
    notice: &Notice,
    dedupe_key: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<notification::ActiveModel> {
    Ok(notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        kind: Set(notice.kind().as_db().to_owned()),
        payload: Set(serde_json::to_string(notice).map_err(AppError::internal)?),
        dedupe_key: Set(dedupe_key),
        status: Set(NotificationStatus::Pending.as_db().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
    })
}

/// Writes one message to a user; call it inside the change's transaction, after its writes. One statement.
pub async fn enqueue(db: &impl ConnectionTrait, user_id: Uuid, notice: Notice) -> AppResult<()> {
    notification::Entity::insert(row(user_id, &notice, None, crate::now())?).exec_without_returning(db).await?;
    Ok(())
}

/// Writes one message to a volunteer, naming their account in the same statement (an INSERT … SELECT from their
/// profile), so a change that knows only the volunteer pays one statement. Nothing for a profile that is gone.
pub async fn enqueue_for_volunteer(db: &impl ConnectionTrait, volunteer_id: Uuid, notice: Notice) -> AppResult<()> {
    use notification::Column as N;
    use volunteer_profile::Column as V;
    let now = crate::now();
    let payload = serde_json::to_string(&notice).map_err(AppError::internal)?;
    let mut select = Query::select();
    select
        .expr(Expr::value(Uuid::now_v7()))
        .column(V::UserId)
        .expr(Expr::value(notice.kind().as_db()))
        .expr(Expr::value(payload))
        .expr(Expr::value(NotificationStatus::Pending.as_db()))
        .expr(Expr::value(0))
        .expr(Expr::value(now))
        .expr(Expr::value(now))
        .from(volunteer_profile::Entity)
        .and_where(Expr::col(V::Id).eq(volunteer_id));
    let mut insert = Query::insert();
    insert
        .into_table(notification::Entity)
        .columns([N::Id, N::UserId, N::Kind, N::Payload, N::Status, N::Attempts, N::NextAttemptAt, N::CreatedAt])
        .select_from(select)
        .map_err(AppError::internal)?;
    db.execute(&insert).await?;
    Ok(())
}

/// Writes many messages (a sweep's), a thousand a statement; one whose key was written before is left out.
/// Returns how many were new.
pub async fn enqueue_many(db: &impl ConnectionTrait, outgoing: Vec<Outgoing>) -> AppResult<u64> {
    let now = crate::now();
    let mut written = 0;
    for chunk in outgoing.chunks(CHUNK) {
        let rows = chunk
            .iter()
            .map(|o| row(o.user_id, &o.notice, o.dedupe_key.clone(), now))
            .collect::<AppResult<Vec<_>>>()?;
        let inserted = notification::Entity::insert_many(rows)
            .on_conflict(OnConflict::column(notification::Column::DedupeKey).do_nothing().to_owned())
            .try_insert()
            .exec_without_returning(db)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(rows) = inserted {
            written += rows;
        }
    }
    Ok(written)
}

// ---- Sending: claims, screening and outcomes -----------------------------------------------------------------

/// A message claimed for one attempt, with its notice and its recipient's account.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub notification: notification::Model,
    pub notice: Notice,
    pub user: user::Model,
}

/// Whether a claimed message is to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not sent, for this reason (recorded as SUPPRESSED).
    Suppress(&'static str),
}

/// Claims up to `limit` due messages for one attempt each, until `now + lease` (longer than an attempt can take),
/// and screens each against its recipient's preferences, weekly cap and address. A message whose payload cannot
/// be read is given up at once. Four statements a batch, however many messages.
pub async fn claim(
    db: &impl ConnectionTrait,
    limit: u64,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> AppResult<Vec<(Claimed, Verdict)>> {
    use notification::Column as N;
    let due = Alias::new("due");
    let mut select = Query::select();
    select
        .column((due.clone(), N::Id))
        .from_as(notification::Entity, due.clone())
        .and_where(Expr::col((due.clone(), N::Status)).eq(NotificationStatus::Pending.as_db()))
        .and_where(Expr::col((due.clone(), N::NextAttemptAt)).lte(now))
        .and_where(
            Expr::col((due.clone(), N::ClaimedUntil)).is_null().or(Expr::col((due.clone(), N::ClaimedUntil)).lt(now)),
        )
        .order_by((due.clone(), N::NextAttemptAt), sea_orm::Order::Asc)
        .order_by((due.clone(), N::Id), sea_orm::Order::Asc)
        .limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Two servers claiming at once pass over each other's rows instead of waiting for them.
        select.lock_with_tables_behavior(LockType::Update, [due], LockBehavior::SkipLocked);
    }
    let claimed = notification::Entity::update_many()
        .col_expr(N::ClaimedUntil, Expr::value(now + lease))
        .col_expr(N::Attempts, Expr::col(N::Attempts).add(1))
        .filter(N::Id.in_subquery(select))
        .exec_with_returning(db)
        .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let user_ids: HashSet<Uuid> = claimed.iter().map(|n| n.user_id).collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let prefs = preferences::of_users(db, &user_ids).await?;
    let capped: Vec<Uuid> = prefs.iter().filter(|(_, p)| p.weekly_cap.is_some()).map(|(id, _)| *id).collect();
    let batch: Vec<Uuid> = claimed.iter().map(|n| n.id).collect();
    let mut sent_this_week = sent_since(db, &capped, now - TimeDelta::days(7), now, &batch).await?;
    let mut screened = Vec::with_capacity(claimed.len());
    for notification in claimed {
        let Some(user) = users.get(&notification.user_id).cloned() else { continue };
        let notice: Notice = match serde_json::from_str(&notification.payload) {
            Ok(notice) => notice,
            Err(error) => {
                tracing::error!(?error, notification = %notification.id, "unreadable notification payload");
                give_up(db, &notification, "unreadable payload").await?;
                continue;
            }
        };
        let verdict = screen(&user, notice.kind(), prefs.get(&user.id), &mut sent_this_week);
        screened.push((Claimed { notification, notice, user }, verdict));
    }
    Ok(screened)
}

/// The rules a message passes to be sent. Account messages (a verification code, a sign-in notice) always are, to
/// the address as it stands; the rest only to a confirmed address, for a kind not turned off, under the weekly cap
/// (which counts what was sent over the last seven days, this batch's included).
fn screen(
    user: &user::Model,
    kind: NotificationKind,
    prefs: Option<&Preferences>,
    sent_this_week: &mut HashMap<Uuid, i64>,
) -> Verdict {
    if user.deleted_at.is_some() {
        return Verdict::Suppress("the account was erased");
    }
    if kind.is_account() {
        return Verdict::Send;
    }
    if user.email_verified_at.is_none() {
        return Verdict::Suppress("the address is not confirmed");
    }
    let Some(prefs) = prefs else { return Verdict::Send };
    if prefs.disabled.contains(&kind) {
        return Verdict::Suppress("turned off by the recipient");
    }
    if let Some(cap) = prefs.weekly_cap {
        let sent = sent_this_week.entry(user.id).or_insert(0);
        if *sent >= i64::from(cap) {
            return Verdict::Suppress("the recipient's weekly cap was reached");
        }
        *sent += 1;
    }
    Verdict::Send
}

#[derive(FromQueryResult)]
struct SentCount {
    user_id: Uuid,
    sent: i64,
}

/// How many messages that count towards a weekly cap each user was sent since `since`, or is being sent now by
/// another server (claimed, outside `batch`). Two servers screening one person's messages in the same instant may
/// each let one through: the cap is a courtesy, checked at send time, not a ledger.
async fn sent_since(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    batch: &[Uuid],
) -> AppResult<HashMap<Uuid, i64>> {
    use notification::Column as N;
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let account: Vec<&str> = NotificationKind::ALL.iter().filter(|k| k.is_account()).map(|k| k.as_db()).collect();
    let mut select = Query::select();
    select
        .column(N::UserId)
        .expr_as(Func::count(Expr::col(N::Id)), Alias::new("sent"))
        .from(notification::Entity)
        .and_where(Expr::col(N::UserId).is_in(user_ids.iter().copied()))
        .and_where(
            Expr::col(N::Status).eq(NotificationStatus::Sent.as_db()).and(Expr::col(N::SentAt).gte(since)).or(
                Expr::col(N::Status)
                    .eq(NotificationStatus::Pending.as_db())
                    .and(Expr::col(N::ClaimedUntil).gte(now))
                    .and(Expr::col(N::Id).is_not_in(batch.iter().copied())),
            ),
        )
        .and_where(Expr::col(N::Kind).is_not_in(account))
        .group_by_col(N::UserId);
    Ok(fetch_rows::<SentCount>(db, &select).await?.into_iter().map(|c| (c.user_id, c.sent)).collect())
}

async fn give_up(db: &impl ConnectionTrait, notification: &notification::Model, why: &str) -> AppResult<()> {
    use notification::Column as N;
    notification::Entity::update_many()
        .col_expr(N::Status, Expr::value(NotificationStatus::Failed.as_db()))
        .col_expr(N::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(N::LastError, Expr::value(why))
        .filter(N::Id.eq(notification.id))
        .exec(db)
        .await?;
    Ok(())
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Not sent, on purpose (the verdict's reason).
    Suppressed(&'static str),
    /// The server refused or could not be reached; `permanent` when it said the message will never be taken (an
    /// SMTP 5xx), which is not retried.
    Failed {
        error: String,
        permanent: bool,
    },
}

/// What `record` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Sent,
    Suppressed,
    /// Another attempt is due at this time.
    Retrying(DateTime<Utc>),
    GaveUp,
    /// The claim had lapsed and another server took the message: this outcome is not its to record.
    Stale,
}

/// Records an attempt's outcome, if the claim is still this one's. `jitter` in [-1, 1] spreads the next attempt.
/// A message that held a one-time code forgets it once it is done with.
pub async fn record(
    db: &impl ConnectionTrait,
    claimed: &Claimed,
    outcome: Outcome,
    backoff: Backoff,
    jitter: f64,
) -> AppResult<Recorded> {
    use notification::Column as N;
    let notification = &claimed.notification;
    let Some(claim) = notification.claimed_until else {
        return Err(AppError::internal("recording an unclaimed notification"));
    };
    let now = crate::now();
    let mut update = notification::Entity::update_many()
        .col_expr(N::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(N::Id.eq(notification.id))
        .filter(N::ClaimedUntil.eq(claim))
        .filter(N::Status.eq(NotificationStatus::Pending.as_db()));
    let recorded = match outcome {
        Outcome::Sent => {
            update = update
                .col_expr(N::Status, Expr::value(NotificationStatus::Sent.as_db()))
                .col_expr(N::SentAt, Expr::value(now))
                .col_expr(N::LastError, Expr::value(Option::<String>::None));
            Recorded::Sent
        }
        Outcome::Suppressed(why) => {
            update = update
                .col_expr(N::Status, Expr::value(NotificationStatus::Suppressed.as_db()))
                .col_expr(N::LastError, Expr::value(why));
            Recorded::Suppressed
        }
        Outcome::Failed { error, permanent } => {
            let error: String = error.chars().take(300).collect();
            update = update.col_expr(N::LastError, Expr::value(error));
            if permanent || notification.attempts >= MAX_ATTEMPTS {
                update = update.col_expr(N::Status, Expr::value(NotificationStatus::Failed.as_db()));
                Recorded::GaveUp
            } else {
                let next = now + backoff.delay(notification.attempts, jitter);
                update = update.col_expr(N::NextAttemptAt, Expr::value(next));
                Recorded::Retrying(next)
            }
        }
    };
    if claimed.notice.holds_secret() && !matches!(recorded, Recorded::Retrying(_)) {
        let forgotten = Notice::EmailVerification { token: String::new() };
        update =
            update.col_expr(N::Payload, Expr::value(serde_json::to_string(&forgotten).map_err(AppError::internal)?));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Ok(Recorded::Stale);
    }
    Ok(recorded)
}

/// When the next message falls due, if any is pending: a read, so that a dispatcher claims (a write) only when
/// there is something to claim.
pub async fn next_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Option<DateTime<Utc>>> {
    use notification::Column as N;
    #[derive(FromQueryResult)]
    struct Due {
        due: Option<DateTime<Utc>>,
    }
    let mut select = Query::select();
    select
        .expr_as(Expr::col(N::NextAttemptAt).min(), Alias::new("due"))
        .from(notification::Entity)
        .and_where(Expr::col(N::Status).eq(NotificationStatus::Pending.as_db()))
        .and_where(Expr::col(N::ClaimedUntil).is_null().or(Expr::col(N::ClaimedUntil).lt(now)));
    Ok(fetch_rows::<Due>(db, &select).await?.into_iter().next().and_then(|d| d.due))
}

/// Messages done with (sent, suppressed or given up) older than `age` are forgotten.
pub async fn forget_old(db: &impl ConnectionTrait, age: TimeDelta) -> AppResult<u64> {
    use notification::Column as N;
    let result = notification::Entity::delete_many()
        .filter(N::Status.ne(NotificationStatus::Pending.as_db()))
        .filter(N::CreatedAt.lt(crate::now() - age))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// A user's notifications, newest first (at most `limit`): what the tests and an export read.
pub async fn of_user(db: &impl ConnectionTrait, user_id: Uuid, limit: u64) -> AppResult<Vec<notification::Model>> {
    use sea_orm::QueryOrder;
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The names a batch of messages mentions: each need's title and organisation, and organisations named directly.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub needs: HashMap<Uuid, (String, String)>,
    pub organisations: HashMap<Uuid, String>,
    /// Invitations (by application) that an urgent dispatch made and that are still its, with the minutes each
    /// stays open: their message says the first to accept take the places.
    pub urgent: HashMap<Uuid, i32>,
}

#[derive(FromQueryResult)]
struct Urgent {
    application_id: Uuid,
    offer_minutes: i32,
}

#[derive(FromQueryResult)]
struct NeedName {
    id: Uuid,
    title: String,
    organisation: String,
}

/// Reads the names a batch mentions, in three statements at most, as they are now.
pub async fn names(db: &impl ConnectionTrait, notices: &[&Notice]) -> AppResult<Names> {
    use entity::{need, organisation};
    let need_ids: HashSet<Uuid> = notices.iter().flat_map(|n| n.need_ids()).collect();
    let organisation_ids: HashSet<Uuid> = notices.iter().flat_map(|n| n.organisation_ids()).collect();
    let mut names = Names::default();
    if !need_ids.is_empty() {
        let mut select = Query::select();
        select
            .column((need::Entity, need::Column::Id))
            .column((need::Entity, need::Column::Title))
            .expr_as(Expr::col((organisation::Entity, organisation::Column::Name)), Alias::new("organisation"))
            .from(need::Entity)
            .inner_join(
                organisation::Entity,
                Expr::col((organisation::Entity, organisation::Column::Id))
                    .equals((need::Entity, need::Column::OrganisationId)),
            )
            .and_where(Expr::col((need::Entity, need::Column::Id)).is_in(need_ids));
        names.needs =
            fetch_rows::<NeedName>(db, &select).await?.into_iter().map(|n| (n.id, (n.title, n.organisation))).collect();
    }
    if !organisation_ids.is_empty() {
        names.organisations = organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(organisation_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
    }
    let invited: Vec<Uuid> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::Invitation { application_id, .. } => Some(*application_id),
            _ => None,
        })
        .collect();
    if !invited.is_empty() {
        use entity::{application, dispatch_invitation as di, urgent_dispatch as ud};
        let mut select = Query::select();
        select
            .column((di::Entity, di::Column::ApplicationId))
            .column((ud::Entity, ud::Column::OfferMinutes))
            .from(di::Entity)
            .inner_join(
                ud::Entity,
                Expr::col((ud::Entity, ud::Column::Id)).equals((di::Entity, di::Column::DispatchId)),
            )
            // Still the dispatch's: the application's latest invitation is this one.
            .inner_join(
                application::Entity,
                Expr::col((application::Entity, application::Column::Id))
                    .equals((di::Entity, di::Column::ApplicationId))
                    .and(
                        Expr::col((application::Entity, application::Column::InvitedAt))
                            .equals((di::Entity, di::Column::InvitedAt)),
                    ),
            )
            .and_where(Expr::col((di::Entity, di::Column::ApplicationId)).is_in(invited));
        names.urgent =
            fetch_rows::<Urgent>(db, &select).await?.into_iter().map(|u| (u.application_id, u.offer_minutes)).collect();
    }
    Ok(names)
}

/// Notifications waiting to be sent (the outbox's depth, for the metrics).
pub async fn pending(db: &impl ConnectionTrait) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let n = notification::Entity::find()
        .filter(notification::Column::Status.eq(NotificationStatus::Pending.as_db()))
        .count(db)
        .await?;
    Ok(n)
}

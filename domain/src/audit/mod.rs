//! The audit log: who viewed or changed another person's personal data, and when; platform admins' key changes.
//!
//! Changes are written by the service that makes them, in its own transaction, so the log and the change commit
//! together. Views are collected while a request runs (`ViewLog::note`), one entry per person seen with the fields
//! seen, and written in one statement when the request ends (`ViewLog::flush`); the transport withholds its answer
//! if that write fails, so nobody sees personal data that the log does not show.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::access::Viewer;
use crate::error::AppResult;
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use entity::audit_event;

crate::db_enum! {
    /// What an audit entry records.
    pub enum AuditAction {
        /// Someone saw another person's personal data.
        Viewed => "VIEWED",
        /// Someone changed another person's data (an application's status, an organisation membership).
        Changed => "CHANGED",
        /// An account was erased (by its owner, or by the retention rule).
        Erased => "ERASED",
        /// A platform admin issued an API key.
        KeyIssued => "KEY_ISSUED",
        /// A platform admin revoked an API key.
        KeyRevoked => "KEY_REVOKED",
        /// A platform admin changed an API key's partner settings.
        KeyChanged => "KEY_CHANGED",
        /// Someone made, changed or removed a partner's webhook endpoint, or sent a delivery again.
        WebhookChanged => "WEBHOOK_CHANGED",
        /// Someone opened, adjusted or moved money between funds.
        FundChanged => "FUND_CHANGED",
        /// A bid was approved, rejected, paid, completed or cancelled.
        BidDecided => "BID_DECIDED",
    }
}

/// Who did it: a user, an API key, or the platform itself (the retention rule, the command line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub user: Option<Uuid>,
    pub api_key: Option<Uuid>,
}

impl Actor {
    pub const PLATFORM: Actor = Actor { user: None, api_key: None };

    pub fn of(viewer: &Viewer) -> Self {
        Self { user: viewer.user_id(), api_key: viewer.api_key.as_ref().map(|k| k.id) }
    }

    pub fn user(id: Uuid) -> Self {
        Self { user: Some(id), api_key: None }
    }
}

/// One entry, as stored.
fn entry(
    at: DateTime<Utc>,
    actor: Actor,
    action: AuditAction,
    subject_user_id: Option<Uuid>,
    fields: String,
    detail: String,
) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(at),
        actor_user_id: Set(actor.user),
        actor_api_key_id: Set(actor.api_key),
        action: Set(action.as_db().to_owned()),
        subject_user_id: Set(subject_user_id),
        fields: Set(fields),
        detail: Set(detail),
    }
}

/// Writes one entry (inside the caller's transaction, when it has one).
pub async fn record(
    db: &impl ConnectionTrait,
    actor: Actor,
    action: AuditAction,
    subject_user_id: Option<Uuid>,
    fields: &[&str],
    detail: impl Into<String>,
) -> AppResult<()> {
    entry(crate::now(), actor, action, subject_user_id, fields.join(","), detail.into()).insert(db).await?;
    Ok(())
}

/// Writes one CHANGED entry per (person, detail), in one statement.
pub async fn record_changes(
    db: &impl ConnectionTrait,
    actor: Actor,
    fields: &[&str],
    changes: impl IntoIterator<Item = (Uuid, String)>,
) -> AppResult<()> {
    let now = crate::now();
    let rows: Vec<_> = changes
        .into_iter()
        .map(|(subject, detail)| entry(now, actor, AuditAction::Changed, Some(subject), fields.join(","), detail))
        .collect();
    if !rows.is_empty() {
        audit_event::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// The personal data seen during one request, by person: written as one entry per person when the request ends.
#[derive(Default)]
pub struct ViewLog {
    seen: Mutex<BTreeMap<Uuid, BTreeSet<&'static str>>>,
}

impl ViewLog {
    pub fn note(&self, subject_user_id: Uuid, field: &'static str) {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.entry(subject_user_id).or_default().insert(field);
    }

    /// Writes what was seen, in one statement (none when nothing was).
    pub async fn flush(&self, db: &impl ConnectionTrait, actor: Actor) -> AppResult<()> {
        let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if seen.is_empty() {
            return Ok(());
        }
        let now = crate::now();
        let rows = seen.into_iter().map(|(subject, fields)| {
            let fields = fields.into_iter().collect::<Vec<_>>().join(",");
            entry(now, actor, AuditAction::Viewed, Some(subject), fields, String::new())
        });
        audit_event::Entity::insert_many(rows).exec(db).await?;
        Ok(())
    }
}

/// Which entries of the log to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only entries about this user's data.
    pub subject_user_id: Option<Uuid>,
    /// Only entries by this user.
    pub actor_user_id: Option<Uuid>,
    pub action: Option<AuditAction>,
}

fn sort_key() -> SortKey {
    use audit_event::Column as C;
    SortKey {
        name: "auditEvents:NEWEST",
        kind: SortKind::Time,
        key: Expr::col((audit_event::Entity, C::OccurredAt)),
        id: Expr::col((audit_event::Entity, C::Id)),
        descending: true,
    }
}

/// A page of the log, newest first, each entry with its cursor, and the statement that counts the whole log.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, audit_event::Model)>, SelectStatement)> {
    use audit_event::Column as C;
    let mut select = Query::select();
    select.columns([
        C::Id,
        C::OccurredAt,
        C::ActorUserId,
        C::ActorApiKeyId,
        C::Action,
        C::SubjectUserId,
        C::Fields,
        C::Detail,
    ]);
    select.from(audit_event::Entity);
    if let Some(id) = filter.subject_user_id {
        select.and_where(C::SubjectUserId.eq(id));
    }
    if let Some(id) = filter.actor_user_id {
        select.and_where(C::ActorUserId.eq(id));
    }
    if let Some(action) = filter.action {
        select.and_where(C::Action.eq(action.as_db()));
    }
    let count = select.clone();
    let sort = sort_key();
    sort.apply(&mut select, page)?;
    let rows: Vec<audit_event::Model> = fetch_rows(db, &select).await?;
    let rows = rows.into_iter().map(|e| (sort.cursor(SortValue::Time(e.occurred_at), e.id), e)).collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

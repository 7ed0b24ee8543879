//! The audit log: who viewed or changed another person's personal data, and when; visible to platform admins.
//!
//! Changes are written by the mutation that makes them, in its own transaction, so the log and the change commit
//! together. Views are collected while a request runs (`viewed`), one entry per person seen with the fields seen,
//! and written in one statement when the request ends; if that write fails the response is withheld, so nobody
//! sees personal data that the log does not show (see `http::execute`). People viewing their own data are not
//! logged.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use uuid::Uuid;

use crate::api_keys::ApiKey;
use crate::auth::Viewer;
use crate::error::{ApiResult, AppError, AppResult};
use crate::graphql::ids::{NodeKind, decode, encode};
use crate::graphql::pagination::{
    ListConnection, Page, PageRows, SortKey, SortKind, SortValue, TotalCount, connection, fetch_rows,
};
use crate::graphql::{db, loaders, viewer};
use crate::users::User;
use entity::audit_event;

crate::graphql_enum! {
    /// What an audit entry records.
    pub enum AuditAction as domain::audit::AuditAction {
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
    fn note(&self, subject_user_id: Uuid, field: &'static str) {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.entry(subject_user_id).or_default().insert(field);
    }

    /// Writes what was seen, in one statement (none when nothing was).
    pub async fn flush(&self, db: &DatabaseConnection, actor: Actor) -> AppResult<()> {
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

/// Notes that the caller is being shown `field` of another person's personal data.
pub fn viewed(ctx: &Context<'_>, subject_user_id: Uuid, field: &'static str) -> AppResult<()> {
    if viewer(ctx)?.user_id() == Some(subject_user_id) {
        return Ok(());
    }
    let log =
        ctx.data::<Arc<ViewLog>>().map_err(|_| AppError::internal("view log missing from the GraphQL context"))?;
    log.note(subject_user_id, field);
    Ok(())
}

pub struct AuditEvent(audit_event::Model);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        encode(NodeKind::AuditEvent, self.0.id)
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn action(&self) -> Option<AuditAction> {
        AuditAction::from_db(&self.0.action)
    }
    /// The user who acted; null for an API key or the platform itself (the retention rule, the command line).
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(id) = self.0.actor_user_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::new))
    }
    /// The API key that acted, if one did.
    async fn actor_api_key(&self, ctx: &Context<'_>) -> ApiResult<Option<ApiKey>> {
        let Some(id) = self.0.actor_api_key_id else { return Ok(None) };
        Ok(entity::api_key::Entity::find_by_id(id).one(db(ctx)?).await?.map(ApiKey))
    }
    /// The person whose data it was (an erased account shows as its anonymous tombstone).
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(id) = self.0.subject_user_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::new))
    }
    /// The fields viewed or changed, as `type.field`.
    async fn fields(&self) -> Vec<&str> {
        self.0.fields.split(',').filter(|f| !f.is_empty()).collect()
    }
    async fn detail(&self) -> &str {
        &self.0.detail
    }
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Only entries about this user's data.
    pub subject_id: Option<ID>,
    /// Only entries by this user.
    pub actor_id: Option<ID>,
    pub action: Option<AuditAction>,
}

pub type AuditEventConnection = ListConnection<AuditEvent>;

const NEWEST: &str = "auditEvents:NEWEST";

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first. Platform admins only.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AuditEventConnection> {
        domain::access::require_platform_admin(viewer(ctx)?, "read the audit log")?;
        let page = Page::parse(first, after, None, None)?;
        let filter = filter.unwrap_or_default();
        let (rows, total) = list(db(ctx)?, &filter, &page).await?;
        Ok(connection(rows, total, |event| {
            let cursor = sort_key().cursor(SortValue::Time(event.occurred_at), event.id);
            (cursor, AuditEvent(event), EmptyFields)
        }))
    }
}

fn sort_key() -> SortKey {
    use audit_event::Column as C;
    SortKey {
        name: NEWEST,
        kind: SortKind::Time,
        key: Expr::col((audit_event::Entity, C::OccurredAt)),
        id: Expr::col((audit_event::Entity, C::Id)),
        descending: true,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    filter: &AuditEventFilter,
    page: &Page,
) -> AppResult<(PageRows<audit_event::Model>, TotalCount)> {
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
    if let Some(id) = &filter.subject_id {
        select.and_where(C::SubjectUserId.eq(decode("filter.subjectId", id, NodeKind::User)?));
    }
    if let Some(id) = &filter.actor_id {
        select.and_where(C::ActorUserId.eq(decode("filter.actorId", id, NodeKind::User)?));
    }
    if let Some(action) = filter.action {
        select.and_where(C::Action.eq(action.as_db()));
    }
    let total = TotalCount::of(select.clone());
    sort_key().apply(&mut select, page)?;
    let rows: Vec<audit_event::Model> = fetch_rows(db, &select).await?;
    Ok((PageRows::from_fetched(rows, page), total))
}

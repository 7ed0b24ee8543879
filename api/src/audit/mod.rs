//! The audit log: who viewed or changed another person's personal data, and when; visible to platform admins.
//!
//! Changes are written by the mutation that makes them, in its own transaction, so the log and the change commit
//! together. Views are collected while a request runs (`viewed`), one entry per person seen with the fields seen,
//! and written in one statement when the request ends; if that write fails the response is withheld, so nobody
//! sees personal data that the log does not show (see `http::execute`). People viewing their own data are not
//! logged.
use std::sync::Arc;

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::api_keys::ApiKey;
use crate::error::{ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{db, loaders, viewer};
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

pub use domain::audit::{Actor, ViewLog, record, record_changes};

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

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first. Platform admins only.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
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
        let user = |field: &str, id: Option<ID>| id.map(|id| decode(field, &id, NodeKind::User)).transpose();
        let filter = domain::audit::AuditFilter {
            subject_user_id: user("filter.subjectId", filter.subject_id)?,
            actor_user_id: user("filter.actorId", filter.actor_id)?,
            action: filter.action.map(Into::into),
        };
        let (rows, count) = domain::audit::list(db(ctx)?, &filter, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, event)| (cursor, AuditEvent(event), EmptyFields)))
    }
}

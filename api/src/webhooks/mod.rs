//! Partners' webhooks: endpoints that belong to an API key, hearing need events (any key that reads public
//! listings, or the key's own organisation's needs) and, for keys scoped to an organisation, its needs'
//! application events. Platform admins and the admins of the key's organisation manage them; the key itself
//! never writes. Deliveries are signed per Standard Webhooks and retried for about a day (`sender`).
pub mod sender;

use crate::error::{ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{db, public_url, viewer};
use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::webhooks::targets::{Target, TargetPolicy};
use domain::webhooks::{outbox, service};
use entity::{webhook_delivery, webhook_endpoint};

crate::graphql_enum! {
    /// What a webhook reports.
    pub enum WebhookEvent as domain::webhooks::WebhookEvent {
        /// A need was published (or published again after being closed).
        NeedPublished => "NEED_PUBLISHED",
        /// A published need changed: its text, schedule, place, or places left.
        NeedUpdated => "NEED_UPDATED",
        /// A need was closed.
        NeedClosed => "NEED_CLOSED",
        /// Someone applied to, or was invited to, one of the key's organisation's needs.
        ApplicationCreated => "APPLICATION_CREATED",
        /// An application to one of the key's organisation's needs changed status.
        ApplicationStatusChanged => "APPLICATION_STATUS_CHANGED",
    }
}

crate::graphql_enum! {
    /// Where a delivery stands.
    pub enum WebhookDeliveryStatus as domain::webhooks::DeliveryStatus {
        /// Waiting for its next attempt (or being sent).
        Pending => "PENDING",
        /// The endpoint answered 2xx.
        Delivered => "DELIVERED",
        /// Every attempt failed, over about a day; the endpoint was disabled.
        Failed => "FAILED",
    }
}

/// Where a partner hears of changes.
pub struct WebhookEndpoint(webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        encode(NodeKind::WebhookEndpoint, self.0.id)
    }
    /// The key the endpoint belongs to: it hears only what the key may read. (An id: the key's details are
    /// platform admins' to read, in `apiKeys`.)
    async fn api_key_id(&self) -> ID {
        encode(NodeKind::ApiKey, self.0.api_key_id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn events(&self) -> Vec<WebhookEvent> {
        service::events_of(&self.0).into_iter().map(Into::into).collect()
    }
    /// False when turned off, or when Pitch In gave up on it (`disabledReason` says why); enabling it again sends
    /// its deliveries still pending.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One event for one endpoint, and how sending it went.
pub struct WebhookDelivery(webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        encode(NodeKind::WebhookDelivery, self.0.id)
    }
    /// The `webhook-id` header it is sent with, the same on every attempt.
    async fn message_id(&self) -> String {
        domain::webhooks::signing::message_id(self.0.id)
    }
    async fn event(&self) -> Option<WebhookEvent> {
        WebhookEvent::from_db(&self.0.event)
    }
    /// The body sent, as JSON text.
    async fn body(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(sender::body(&self.0, public_url(ctx)?)?)
    }
    async fn status(&self) -> Option<WebhookDeliveryStatus> {
        WebhookDeliveryStatus::from_db(&self.0.status)
    }
    /// Attempts made so far (since it was last sent again by hand).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When the next attempt is due, while it is pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == domain::webhooks::DeliveryStatus::Pending.as_db()).then_some(self.0.next_attempt_at)
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    /// The HTTP status the endpoint last answered with, if it answered.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// What went wrong last, in words.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub type WebhookDeliveryConnection = ListConnection<WebhookDelivery>;

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// The partner's key: the endpoint hears what the key may read.
    pub api_key_id: ID,
    /// Where to POST: `https://` (in production, never an internal address).
    pub url: String,
    pub events: Vec<WebhookEvent>,
}

#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    pub webhook_endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`): verify each delivery's `webhook-signature` with it. Shown only now.
    pub secret: String,
}

/// A change to an endpoint; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub id: ID,
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    /// Turn deliveries off or on; on again sends what is still pending.
    pub enabled: Option<bool>,
}

#[derive(InputObject)]
pub struct DeleteWebhookEndpointInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    pub deleted_id: ID,
}

/// A webhook address as given, parsed and checked against where webhooks may go, its name resolved.
async fn target(ctx: &Context<'_>, field: &str, raw: &str) -> AppResult<Target> {
    let policy = *ctx.data::<TargetPolicy>().map_err(|_| AppError::internal("webhook policy missing"))?;
    let target = Target::parse(field, raw, policy)?;
    sender::check_resolves(field, &target, policy).await?;
    Ok(target)
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// A partner key's webhook endpoints, oldest first. For platform admins and the admins of the key's
    /// organisation.
    async fn webhook_endpoints(&self, ctx: &Context<'_>, api_key_id: ID) -> ApiResult<Vec<WebhookEndpoint>> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("apiKeyId", &api_key_id, NodeKind::ApiKey)?;
        Ok(service::list(db(ctx)?, &actor, id).await?.into_iter().map(WebhookEndpoint).collect())
    }

    /// An endpoint's deliveries, newest first: what was sent, how often, and what came back.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<WebhookDeliveryConnection> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("endpointId", &endpoint_id, NodeKind::WebhookEndpoint)?;
        let page = Page::parse(first, after, None, None)?;
        let (rows, count) = outbox::deliveries(db(ctx)?, &actor, id, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, d)| (cursor, WebhookDelivery(d), EmptyFields)))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers where a partner hears of changes. The signing secret is in the payload and shown only there.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> ApiResult<CreateWebhookEndpointPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let api_key_id = decode("input.apiKeyId", &input.api_key_id, NodeKind::ApiKey)?;
        // Who may, before anything is looked up.
        service::managed_key(db(ctx)?, &actor, api_key_id).await?;
        let new = service::NewEndpoint {
            api_key_id,
            url: target(ctx, "input.url", &input.url).await?,
            events: input.events.into_iter().map(Into::into).collect(),
        };
        let (endpoint, secret) = service::create(db(ctx)?, &actor, new).await?;
        Ok(CreateWebhookEndpointPayload { webhook_endpoint: WebhookEndpoint(endpoint), secret })
    }

    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpoint> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.id", &input.id, NodeKind::WebhookEndpoint)?;
        service::managed(db(ctx)?, &actor, id).await?;
        let url = match &input.url {
            Some(url) => Some(target(ctx, "input.url", url).await?),
            None => None,
        };
        let patch = service::EndpointPatch {
            url,
            events: input.events.map(|events| events.into_iter().map(Into::into).collect()),
            enabled: input.enabled,
        };
        Ok(WebhookEndpoint(service::update(db(ctx)?, &actor, id, patch).await?))
    }

    /// Removes an endpoint and its deliveries.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookEndpointInput,
    ) -> ApiResult<DeleteWebhookEndpointPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.id", &input.id, NodeKind::WebhookEndpoint)?;
        service::delete(db(ctx)?, &actor, id).await?;
        Ok(DeleteWebhookEndpointPayload { deleted_id: input.id })
    }

    /// Sends a delivered or failed delivery again, from its first attempt and with the same `webhook-id`.
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> ApiResult<WebhookDelivery> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("deliveryId", &delivery_id, NodeKind::WebhookDelivery)?;
        Ok(WebhookDelivery(outbox::redeliver(db(ctx)?, &actor, id).await?))
    }
}

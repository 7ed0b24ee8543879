//! Partners' webhooks: endpoints that belong to an API key (`service`), the outbox of deliveries written in the
//! transaction of each change (`outbox`), where a webhook may be sent (`targets`: no SSRF), and how each delivery
//! is signed (`signing`, the Standard Webhooks scheme). Sending over HTTP is the transport's (`api`): it claims
//! due deliveries here, sends them, and records what happened here.
pub mod outbox;
pub mod service;
pub mod signing;
pub mod targets;

crate::db_enum! {
    /// What a webhook reports.
    pub enum WebhookEvent {
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

crate::db_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt (or being sent).
        Pending => "PENDING",
        /// The endpoint answered 2xx.
        Delivered => "DELIVERED",
        /// Every attempt failed, over about a day; the endpoint was disabled.
        Failed => "FAILED",
    }
}

impl WebhookEvent {
    /// Events about applications: only for keys scoped to an organisation, and only its needs' applications.
    pub fn is_about_applications(self) -> bool {
        matches!(self, Self::ApplicationCreated | Self::ApplicationStatusChanged)
    }

    /// The event's type in a delivery's body, as Standard Webhooks names them (full-stop delimited).
    pub fn wire_type(self) -> &'static str {
        match self {
            Self::NeedPublished => "need.published",
            Self::NeedUpdated => "need.updated",
            Self::NeedClosed => "need.closed",
            Self::ApplicationCreated => "application.created",
            Self::ApplicationStatusChanged => "application.status_changed",
        }
    }
}

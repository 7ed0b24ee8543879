use sea_orm::entity::prelude::*;

/// One event for one endpoint: written in the transaction of the change it reports, then sent until a 2xx answer
/// or until its attempts run out. Its id is the message id a receiver sees (`webhook-id`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's name (`NEED_PUBLISHED`, …).
    pub event: String,
    /// What the event says, as JSON in the domain's terms; the sender writes the body a receiver gets from it.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// PENDING, DELIVERED or FAILED.
    pub status: String,
    /// Attempts made (or under way): each is claimed by one server, so none is sent twice.
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// While a server sends the current attempt; past this, another may take the next one.
    pub claimed_until: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

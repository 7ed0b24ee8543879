use sea_orm::entity::prelude::*;

/// One message to one person: written in the transaction of the change it tells of (or by a scheduled sweep), then
/// sent by email until the server takes it or its attempts run out. What it says is `payload`, in the domain's
/// terms; the sender writes the message from it, to the person's address as it is when sent.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `SESSION_REMINDER`, `WAITLIST_OFFER`, …
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Set for messages a sweep makes, so that one is made once however often it runs.
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    /// PENDING, SENT, FAILED, or SUPPRESSED (never sent: the person's weekly cap, or an address not confirmed).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// While a server sends the current attempt; past this, another may take the next one.
    pub claimed_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

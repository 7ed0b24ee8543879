use sea_orm::entity::prelude::*;

/// Where a partner wants to hear of changes: an HTTPS address of theirs, belonging to one of their API keys.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub api_key_id: Uuid,
    pub url: String,
    /// The events sent, comma-separated and wrapped in commas (`,NEED_PUBLISHED,NEED_CLOSED,`), so that one
    /// `LIKE '%,EVENT,%'` finds an endpoint's subscription.
    pub events: String,
    /// The signing secret (`whsec_…`), shown once to whoever made the endpoint. Kept in clear: every delivery is
    /// signed with it, so it cannot be hashed as a password is.
    pub secret: String,
    pub enabled: bool,
    /// Why deliveries stopped, when Pitch In disabled the endpoint itself.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

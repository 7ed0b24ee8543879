use sea_orm::entity::prelude::*;

/// One entry of the audit log: someone viewed or changed another person's personal data (or an admin acted on
/// the platform's keys). Never updated; kept when the accounts it names are erased.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurred_at: DateTimeUtc,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    /// VIEWED | CHANGED | ERASED | KEY_ISSUED | KEY_REVOKED
    pub action: String,
    /// Whose personal data it was.
    pub subject_user_id: Option<Uuid>,
    /// Comma-separated names of the fields viewed or changed.
    pub fields: String,
    pub detail: String,
}

impl ActiveModelBehavior for ActiveModel {}

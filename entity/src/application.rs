use sea_orm::entity::prelude::*;

/// A volunteer's application to a need; one per (need, volunteer).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub need_id: Uuid,
    pub volunteer_id: Uuid,
    pub message: String,
    /// APPLIED | INVITED | ACCEPTED | DECLINED | WITHDRAWN | COMPLETED
    pub status: String,
    pub applied_at: Option<DateTimeUtc>,
    pub invited_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub declined_at: Option<DateTimeUtc>,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A project's crowdfunding campaign: a target by a deadline, all or nothing or keep what you raise.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    /// The project's organisation, kept here for the access checks.
    pub organisation_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    pub target_pence: i64,
    pub deadline: DateTimeUtc,
    /// ALL_OR_NOTHING | KEEP_WHAT_YOU_RAISE
    pub model: String,
    /// DRAFT | LIVE | SUCCEEDED | FAILED | CANCELLED
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub launched_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

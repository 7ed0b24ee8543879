use sea_orm::entity::prelude::*;

/// One invitation, kept after its application row is reopened and its `invited_at` overwritten: what the weekly
/// caps on invitations and an organisation's outreach count.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub invited_at: DateTimeUtc,
    pub volunteer_id: Uuid,
    pub need_id: Uuid,
}

impl ActiveModelBehavior for ActiveModel {}

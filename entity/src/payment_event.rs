use sea_orm::entity::prelude::*;

/// A payment provider's webhook message already applied, by its id: a second delivery is a replay.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub pledge_id: Option<Uuid>,
    pub received_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

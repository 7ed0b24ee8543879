use sea_orm::entity::prelude::*;

/// An interest a decider declared in a bid: they may then neither score nor decide it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bid_interests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bid_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A member of a fund's decision panel.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fund_deciders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub fund_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

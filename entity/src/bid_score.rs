use sea_orm::entity::prelude::*;

/// A panel member's scores for a bid, one per criterion, each 1 to 5.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bid_scores")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bid_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `[{criterion, score}]`
    pub scores: Json,
    #[sea_orm(column_type = "Text")]
    pub comment: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

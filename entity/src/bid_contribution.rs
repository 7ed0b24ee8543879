use sea_orm::entity::prelude::*;

/// A fund's part of an award: pledged by its decider before the decision, committed with it, paid and released on
/// that fund.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bid_contributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bid_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub fund_id: Uuid,
    pub amount_pence: i64,
    pub paid_pence: i64,
    /// False while only pledged; true once the award commits it.
    pub committed: bool,
    pub pledged_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

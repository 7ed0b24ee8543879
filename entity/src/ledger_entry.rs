use sea_orm::entity::prelude::*;

/// One movement of a fund's money. Never updated or deleted: corrections are ADJUSTMENT entries.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub fund_id: Uuid,
    /// ALLOCATION | COMMITMENT | PAYMENT | RELEASE | ADJUSTMENT
    pub kind: String,
    /// Pence; only an ADJUSTMENT may be negative.
    pub amount_pence: i64,
    pub bid_id: Option<Uuid>,
    /// For a match fund's entries: the campaign matched.
    pub campaign_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub memo: String,
}

impl ActiveModelBehavior for ActiveModel {}

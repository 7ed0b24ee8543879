use sea_orm::entity::prelude::*;

/// A pot of money for a financial year: a ward member's budget, a partnership's fund, a council's strategic fund,
/// or a match fund for crowdfunding. Its money moves only through ledger entries.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation whose money it is (a council, a partnership, a business).
    pub owner_id: Uuid,
    /// WARD_BUDGET | PARTNERSHIP_FUND | STRATEGIC_FUND | MATCH_FUND
    pub kind: String,
    pub name: String,
    /// "2026-27"
    pub financial_year: String,
    /// The ward member whose budget it is (WARD_BUDGET).
    pub holder_id: Option<Uuid>,
    /// `{minAward, maxAward, eligibleKinds, opensOn, closesOn, minDaysAhead, criteria}` (pence as integers).
    pub rules: Json,
    /// SOLE | PANEL
    pub decision_mode: String,
    /// Scores a PANEL needs before it decides (0 for SOLE).
    pub quorum: i32,
    /// Whether unspent money carries past the financial year's end.
    pub rolls_over: bool,
    /// Allocated less committed and paid: the guard every commitment checks, in the same statement.
    pub available_pence: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A project's request to a fund for money, from draft to completion.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bids")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub fund_id: Uuid,
    pub project_id: Uuid,
    /// The project's organisation, which bids.
    pub organisation_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    /// Pence.
    pub amount_requested: i64,
    /// `[{item, amount}]`, amounts in pence.
    pub budget_lines: Json,
    /// The priorities it addresses, as a JSON array of ids.
    pub priority_ids: Json,
    #[sea_orm(column_type = "Text")]
    pub expected_outcomes: String,
    /// `[{source, amount}]`, amounts in pence.
    pub match_funding: Json,
    /// The day of the event it pays for, if any (some funds want bids some days ahead).
    pub event_date: Option<Date>,
    /// DRAFT | SUBMITTED | UNDER_REVIEW | APPROVED | REJECTED | WITHDRAWN | PAID | COMPLETED
    pub status: String,
    pub amount_awarded: Option<i64>,
    pub amount_paid: i64,
    #[sea_orm(column_type = "Text")]
    pub conditions: String,
    #[sea_orm(column_type = "Text")]
    pub rejection_reason: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    /// The monitoring report: `{outcomes, volunteersInvolved, photoUrls}`.
    pub report: Option<Json>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

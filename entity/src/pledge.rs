use sea_orm::entity::prelude::*;

/// A pledge to a campaign: a backer's, or a match fund's matching one (`match_id`, and the pledge it matches).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pledges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub backer_id: Option<Uuid>,
    pub match_id: Option<Uuid>,
    pub matches_pledge_id: Option<Uuid>,
    pub amount_pence: i64,
    pub display_name: String,
    pub anonymous: bool,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// PROMISED | PAID | CANCELLED | RELEASED
    pub status: String,
    /// What the backer's checkout hands the payment provider, and its webhook names.
    pub reference: String,
    pub provider_payment_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

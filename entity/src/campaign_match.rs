use sea_orm::entity::prelude::*;

/// A match fund backing a campaign: so much matched for every pound pledged, up to a cap.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_matches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub fund_id: Uuid,
    /// Hundredths: 100 matches £1 for every £1.
    pub ratio_percent: i32,
    pub cap_pence: i64,
    /// What its matching pledges hold now (cancelled and released ones given back).
    pub matched_pence: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A user's volunteering profile (1:1 with the user). Holds personal data: see the API's access rules.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteer_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub user_id: Uuid,
    pub display_name: String,
    pub bio: String,
    pub skills: Json,
    pub interests: Json,
    pub languages: Json,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub travel_radius_km: f64,
    pub availability: Json,
    /// `TimeWindow::week_mask` of `availability` (0: none, or not computed).
    pub availability_mask: i64,
    /// DBS check status only, never a certificate's content.
    pub dbs_level: String,
    pub dbs_issued_on: Option<Date>,
    pub dbs_recheck_by: Option<Date>,
    pub dbs_update_service: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when the volunteer's account was erased: an anonymous tombstone that keeps organisations' histories.
    pub deleted_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

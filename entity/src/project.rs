use sea_orm::entity::prelude::*;

/// What an organisation runs: a class, a club, a defibrillator, a pavilion repaint.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub title: String,
    pub summary: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// A `NeedCategory`.
    pub category: String,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub ward_id: Option<Uuid>,
    /// Serves a whole area rather than one place.
    pub area_wide: bool,
    /// Who it helps, in the organisation's words.
    #[sea_orm(column_type = "Text")]
    pub beneficiaries: String,
    pub min_age: Option<i16>,
    pub max_age: Option<i16>,
    /// Language names as a JSON array.
    pub languages: Json,
    /// Weekly time windows as a JSON array of {day, start, end}, when people attend it.
    pub weekly_schedule: Json,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    /// PROPOSED | ACTIVE | COMPLETED | CLOSED
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

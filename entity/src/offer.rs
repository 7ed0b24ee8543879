use sea_orm::entity::prelude::*;

/// Something offered by a volunteer or an organisation: time, skills, space, introductions, equipment.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Exactly one of `volunteer_id` and `organisation_id` is set.
    pub volunteer_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub remote: bool,
    pub availability: Json,
    /// ACTIVE | PAUSED | CLOSED
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

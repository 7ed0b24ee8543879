use sea_orm::entity::prelude::*;

/// An organisation's record that one of its members saw a volunteer's DBS certificate or checked the Update
/// Service: who, when, how and at what level; never the certificate's content.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dbs_verifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub volunteer_id: Uuid,
    pub organisation_id: Uuid,
    /// The member who checked; `None` once their account is gone.
    pub verified_by: Option<Uuid>,
    /// BASIC | STANDARD | ENHANCED | ENHANCED_BARRED_LISTS
    pub level: String,
    /// The day the certificate was seen or the Update Service checked.
    pub checked_on: Date,
    /// CERTIFICATE_SEEN | UPDATE_SERVICE
    pub method: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

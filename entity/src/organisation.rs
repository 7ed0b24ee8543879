use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// CHARITY | SOCIAL_ENTERPRISE | ... (string-backed so both backends share one schema)
    pub kind: String,
    pub description: String,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub verified: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Its registered charity number, as the register prints it (`1234567`, `SC012345`, `NIC100001`).
    pub charity_number: Option<String>,
    /// Its Companies House number, eight characters.
    pub company_number: Option<String>,
    /// A council's code in the Local Authorities in England register (`GB-LAE-…` in open data).
    pub local_authority_code: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}

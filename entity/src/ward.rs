use sea_orm::entity::prelude::*;

/// A council ward, as the ONS codes it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The ONS GSS code: E05 (England), W05 (Wales), S13 (Scotland) or N08 (Northern Ireland) and six digits.
    #[sea_orm(unique)]
    pub gss_code: String,
    pub name: String,
    /// The council (an organisation of kind COUNCIL).
    pub council_id: Uuid,
    /// The community partnership it belongs to (an organisation of kind COMMUNITY_PARTNERSHIP), if any.
    pub partnership_id: Option<Uuid>,
    pub population: Option<i64>,
    /// Index of Multiple Deprivation decile: 1 is the most deprived tenth of the country.
    pub imd_decile: Option<i16>,
    /// Population and deprivation are illustrative (not the official figures).
    pub figures_illustrative: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

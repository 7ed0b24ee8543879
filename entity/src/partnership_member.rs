use sea_orm::entity::prelude::*;

/// Someone's seat on a community partnership, and whom they represent there.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The partnership (an organisation of kind COMMUNITY_PARTNERSHIP).
    pub partnership_id: Uuid,
    pub user_id: Uuid,
    /// WARD_MEMBER | COUNTY_COUNCILLOR | POLICE | HEALTH | YOUTH | BUSINESS | COMMUNITY | COUNCIL_OFFICER
    pub role: String,
    /// The ward a ward member represents.
    pub ward_id: Option<Uuid>,
    /// The organisation they represent there, if any.
    pub organisation_id: Option<Uuid>,
    pub votes: i32,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

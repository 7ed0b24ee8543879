use sea_orm::entity::prelude::*;

/// A statement of a volunteer's approved hours and roles, as they chose to show it, fixed when made; public at
/// `/statements/{code}` until revoked.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteering_statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// 32 random bytes, base64url: the statement's address, not guessable.
    #[sea_orm(unique)]
    pub code: String,
    pub volunteer_id: Uuid,
    /// The name printed on it, as the volunteer gave it.
    pub name: String,
    pub from_date: Date,
    pub to_date: Date,
    /// The roles: a JSON array of {organisation, role, firstDate, lastDate, minutes}.
    pub lines: Json,
    pub total_minutes: i64,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A volunteer's private calendar feed. Its URL is the token id with an HMAC of it under the server's key; only
/// the id is stored, so a copy of the database opens no one's calendar.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: Uuid,
    /// 128 random bits as 32 hex digits.
    #[sea_orm(unique)]
    pub token_id: String,
}

impl ActiveModelBehavior for ActiveModel {}

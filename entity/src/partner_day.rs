use sea_orm::entity::prelude::*;

/// One partner API key's counts for one day (Europe/London): counts only, nothing about who.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_key_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// Widget pages served that named the key as `partner`.
    pub widget_views: i64,
    /// "I can help" followed from such a widget.
    pub clicks: i64,
    /// `applyToNeed` calls that named the key as `ref`.
    pub applications: i64,
}

impl ActiveModelBehavior for ActiveModel {}

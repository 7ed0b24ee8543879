use sea_orm::entity::prelude::*;

/// Index of a need's required skill tags, so `needs(filter: {skills})` is an indexed lookup on both backends.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "need_skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill: String,
}

impl ActiveModelBehavior for ActiveModel {}

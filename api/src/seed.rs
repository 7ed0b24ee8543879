//! Demo data (filled in below).
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::error::AppResult;

pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(entity::user::Entity::find().count(db).await? == 0 && entity::organisation::Entity::find().count(db).await? == 0)
}

pub async fn demo(_db: &DatabaseConnection) -> AppResult<()> {
    Ok(())
}

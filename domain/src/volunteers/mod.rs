//! Volunteers' profiles and their safeguarding checks.
pub mod calendar;
pub mod service;
pub mod verification;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{AppError, AppResult};
use entity::volunteer_profile;

pub async fn find_for_user(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Option<volunteer_profile::Model>> {
    Ok(volunteer_profile::Entity::find().filter(volunteer_profile::Column::UserId.eq(user_id)).one(db).await?)
}

/// The caller's own profile, or a clear error telling them to create one.
pub async fn require_own(db: &impl ConnectionTrait, actor: &AuthUser) -> AppResult<volunteer_profile::Model> {
    find_for_user(db, actor.id)
        .await?
        .ok_or_else(|| AppError::forbidden("create your volunteer profile first (upsertVolunteerProfile)"))
}
crate::db_enum! {
    /// Disclosure and Barring Service check levels, lowest to highest (matching compares them in this order).
    pub enum DbsLevel {
        None => "NONE",
        Basic => "BASIC",
        Standard => "STANDARD",
        Enhanced => "ENHANCED",
        /// Enhanced with barred-list checks: only for regulated activity with children or vulnerable adults.
        EnhancedBarredLists => "ENHANCED_BARRED_LISTS",
    }
}

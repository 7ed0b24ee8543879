//! Organisations and their members.
pub mod service;

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// An organisation's id, as services take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrganisationId(pub Uuid);

/// The organisations' change feed (`store::changes`). Organisations are never removed today, so none is a
/// tombstone.
pub async fn feed_page(
    db: &impl ConnectionTrait,
    after: Option<crate::store::changes::Cursor>,
    horizon: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> AppResult<Vec<entity::organisation::Model>> {
    use entity::organisation::{Column, Entity};
    crate::store::changes::page::<Entity>(
        db,
        sea_orm::Condition::all(),
        (Column::UpdatedAt, Column::Id),
        after,
        horizon,
        limit,
    )
    .await
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<entity::organisation::Model> {
    entity::organisation::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("organisation"))
}
crate::db_enum! {
    pub enum OrganisationKind {
        Charity => "CHARITY",
        SocialEnterprise => "SOCIAL_ENTERPRISE",
        CommunityGroup => "COMMUNITY_GROUP",
        PartyAssociation => "PARTY_ASSOCIATION",
        Council => "COUNCIL",
        CommunityPartnership => "COMMUNITY_PARTNERSHIP",
        Business => "BUSINESS",
        FaithGroup => "FAITH_GROUP",
        Other => "OTHER",
    }
}

crate::db_enum! {
    /// A member's role: owners manage everything, admins manage the organisation and its members,
    /// coordinators run its needs, offers and applications.
    pub enum MemberRole {
        Owner => "OWNER",
        Admin => "ADMIN",
        Coordinator => "COORDINATOR",
    }
}

crate::db_enum! {
    pub enum OrganisationOrder {
        /// Alphabetical by name.
        Name => "NAME",
        /// Most recently created first.
        Newest => "NEWEST",
    }
}

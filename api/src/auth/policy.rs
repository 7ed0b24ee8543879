//! Who may do what, as small functions that services call and tests exercise directly.
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::AuthUser;
use crate::error::{AppError, AppResult};
use crate::organisations::MemberRole;

/// The actor's role in an organisation, read from the database (not a per-request cache), for decisions.
pub async fn member_role(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    organisation_id: Uuid,
) -> AppResult<Option<MemberRole>> {
    let row = entity::membership::Entity::find()
        .filter(entity::membership::Column::OrganisationId.eq(organisation_id))
        .filter(entity::membership::Column::UserId.eq(actor.id))
        .one(db)
        .await?;
    Ok(row.and_then(|m| MemberRole::from_db(&m.role)))
}

/// Edit the organisation itself and add members: owners and admins of it, or platform admins.
pub fn can_manage_organisation(actor: &AuthUser, role: Option<MemberRole>) -> bool {
    actor.is_admin() || matches!(role, Some(MemberRole::Owner | MemberRole::Admin))
}

/// Post and edit needs and offers, decide applications: any member, or platform admins.
pub fn can_coordinate(actor: &AuthUser, role: Option<MemberRole>) -> bool {
    actor.is_admin() || role.is_some()
}

/// Only owners (and platform admins) may make someone an owner.
pub fn can_grant(actor: &AuthUser, role: Option<MemberRole>, granted: MemberRole) -> bool {
    match granted {
        MemberRole::Owner => actor.is_admin() || role == Some(MemberRole::Owner),
        MemberRole::Admin | MemberRole::Coordinator => can_manage_organisation(actor, role),
    }
}

pub async fn require_coordinator(db: &impl ConnectionTrait, actor: &AuthUser, organisation_id: Uuid) -> AppResult<()> {
    let role = member_role(db, actor, organisation_id).await?;
    if can_coordinate(actor, role) {
        Ok(())
    } else {
        Err(AppError::forbidden("only members of this organisation may do that"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::PlatformRole;

    fn member() -> AuthUser {
        AuthUser { id: Uuid::new_v4(), role: PlatformRole::Member }
    }

    #[test]
    fn organisation_rules() {
        let admin = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Admin };
        assert!(can_manage_organisation(&admin, None));
        assert!(!can_manage_organisation(&member(), None));
        assert!(!can_manage_organisation(&member(), Some(MemberRole::Coordinator)));
        assert!(can_manage_organisation(&member(), Some(MemberRole::Admin)));
        assert!(can_coordinate(&member(), Some(MemberRole::Coordinator)));
        assert!(!can_coordinate(&member(), None));
        assert!(!can_grant(&member(), Some(MemberRole::Admin), MemberRole::Owner));
        assert!(can_grant(&member(), Some(MemberRole::Owner), MemberRole::Owner));
        assert!(can_grant(&member(), Some(MemberRole::Admin), MemberRole::Coordinator));
    }
}

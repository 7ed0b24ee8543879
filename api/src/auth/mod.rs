//! Who is calling: password hashing, access tokens, the per-request `Viewer`, and the access policy.
pub mod password;
pub mod policy;
pub mod sessions;
pub mod token;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::organisations::MemberRole;
use crate::users::PlatformRole;

/// A signed-in user, as proven by a valid access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: PlatformRole,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == PlatformRole::Admin
    }
}

/// The caller of one request. Created by the HTTP layer and attached to the GraphQL request.
#[derive(Default)]
pub struct Viewer {
    pub user: Option<AuthUser>,
    /// The caller's organisation roles, read at most once per request (for read-side visibility only;
    /// mutations re-check against the database).
    memberships: OnceCell<HashMap<Uuid, MemberRole>>,
}

impl Viewer {
    pub fn new(user: Option<AuthUser>) -> Self {
        Self { user, memberships: OnceCell::new() }
    }

    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn require_user(&self) -> AppResult<AuthUser> {
        self.user.ok_or_else(AppError::unauthenticated)
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_some_and(|u| u.is_admin())
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.user.map(|u| u.id)
    }

    pub async fn memberships(&self, db: &DatabaseConnection) -> AppResult<&HashMap<Uuid, MemberRole>> {
        self.memberships
            .get_or_try_init(|| async {
                let Some(user) = self.user else { return Ok(HashMap::new()) };
                let rows = entity::membership::Entity::find()
                    .filter(entity::membership::Column::UserId.eq(user.id))
                    .all(db)
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|m| MemberRole::from_db(&m.role).map(|role| (m.organisation_id, role)))
                    .collect())
            })
            .await
    }

    /// Whether the caller may see an organisation's private side (drafts, applications, members).
    pub async fn is_member_of(&self, db: &DatabaseConnection, organisation_id: Uuid) -> AppResult<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        Ok(self.memberships(db).await?.contains_key(&organisation_id))
    }
}

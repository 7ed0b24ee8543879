//! Who is calling: password hashing, access tokens, the per-request `Viewer`, and the access policy.
pub mod password;
pub mod policy;
pub mod sessions;
pub mod token;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::api_keys::ApiKeyCaller;
use crate::error::{AppError, AppResult};
use crate::organisations::MemberRole;
use crate::users::PlatformRole;

/// The account behind a verified access token, as it is now: a token of an erased account, or one issued before
/// the user signed out everywhere or changed their password, is refused; the role is read fresh, so a demoted admin
/// loses their rights at once. One statement per signed-in request.
///
/// A request that only reads (`reads_only`) gets the account's organisation roles in the same statement: read-side
/// visibility needs them on most signed-in reads, at a round trip of their own otherwise. A mutation reads them
/// when it first needs them, so that its answer sees the memberships it made.
pub async fn account_of(
    reads: &crate::reads::Reads,
    token_user: AuthUser,
    issued_at: DateTime<Utc>,
    reads_only: bool,
) -> AppResult<Viewer> {
    use entity::{membership, user};
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let ended = || AppError::Unauthenticated("the access token is no longer valid: sign in again".into());
    let mut select = Query::select()
        .column((user::Entity, sea_orm::sea_query::Asterisk))
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(token_user.id))
        .to_owned();
    if reads_only {
        select
            .expr_as(Expr::col((membership::Entity, membership::Column::OrganisationId)), Alias::new("member_of"))
            .expr_as(Expr::col((membership::Entity, membership::Column::Role)), Alias::new("member_role"))
            .left_join(
                membership::Entity,
                Expr::col((membership::Entity, membership::Column::UserId)).equals((user::Entity, user::Column::Id)),
            );
    }
    let rows: Vec<AccountRow> = crate::graphql::pagination::read_rows(reads, &select).await?;
    let account = rows.first().map(|r| &r.account).ok_or_else(ended)?;
    if account.deleted_at.is_some() {
        return Err(ended());
    }
    // To the millisecond: the token a password change hands back is issued after its cut-off, and is kept.
    if account.sessions_valid_from.is_some_and(|from| issued_at.timestamp_millis() < from.timestamp_millis()) {
        return Err(ended());
    }
    let user = crate::users::service::auth_user(account);
    let memberships = reads_only.then(|| {
        rows.iter()
            .filter_map(|r| Some((r.member_of?, MemberRole::from_db(r.member_role.as_deref()?)?)))
            .collect::<HashMap<_, _>>()
    });
    Ok(Viewer { user: Some(user), api_key: None, memberships: OnceCell::new_with(memberships) })
}

/// An account with one of its memberships (none, or not read: both null).
struct AccountRow {
    account: entity::user::Model,
    member_of: Option<Uuid>,
    member_role: Option<String>,
}

impl sea_orm::FromQueryResult for AccountRow {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            account: entity::user::Model::from_query_result(row, pre)?,
            member_of: row.try_get(pre, "member_of").ok().flatten(),
            member_role: row.try_get(pre, "member_role").ok().flatten(),
        })
    }
}

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
    /// A partner calling with an API key (never together with a user).
    pub api_key: Option<ApiKeyCaller>,
    /// The caller's organisation roles, read at most once per request (for read-side visibility only;
    /// mutations re-check against the database).
    memberships: OnceCell<HashMap<Uuid, MemberRole>>,
}

impl Viewer {
    pub fn new(user: Option<AuthUser>) -> Self {
        Self { user, api_key: None, memberships: OnceCell::new() }
    }

    pub fn for_api_key(key: ApiKeyCaller) -> Self {
        Self { user: None, api_key: Some(key), memberships: OnceCell::new() }
    }

    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn require_user(&self) -> AppResult<AuthUser> {
        match (self.user, &self.api_key) {
            (Some(user), _) => Ok(user),
            (None, Some(_)) => Err(AppError::forbidden("an API key cannot do that: it needs a signed-in user")),
            (None, None) => Err(AppError::unauthenticated()),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_some_and(|u| u.is_admin())
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.user.map(|u| u.id)
    }

    pub async fn memberships(&self, db: &DatabaseConnection) -> AppResult<&HashMap<Uuid, MemberRole>> {
        // Usually read with the account; reading them later is boxed (see `graphql::boxed`).
        if let Some(memberships) = self.memberships.get() {
            return Ok(memberships);
        }
        let read = self.memberships.get_or_try_init(|| async {
            let Some(user) = self.user else { return Ok(HashMap::new()) };
            let rows = entity::membership::Entity::find()
                .filter(entity::membership::Column::UserId.eq(user.id))
                .all(db)
                .await?;
            Ok(rows
                .into_iter()
                .filter_map(|m| MemberRole::from_db(&m.role).map(|role| (m.organisation_id, role)))
                .collect())
        });
        crate::graphql::boxed(read).await
    }

    /// Whether the caller may read the volunteers matched to an organisation's needs: its members, platform admins,
    /// and API keys with that organisation's matches scope.
    pub async fn may_read_matches_of(&self, db: &DatabaseConnection, organisation_id: Uuid) -> AppResult<bool> {
        if self.api_key.as_ref().is_some_and(|key| key.reads_matches_of(organisation_id)) {
            return Ok(true);
        }
        self.is_member_of(db, organisation_id).await
    }

    /// Whether the caller may see an organisation's private side (drafts, applications, members).
    pub async fn is_member_of(&self, db: &DatabaseConnection, organisation_id: Uuid) -> AppResult<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        Ok(self.memberships(db).await?.contains_key(&organisation_id))
    }
}

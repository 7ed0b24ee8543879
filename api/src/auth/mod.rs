//! Who is calling: password hashing, access tokens, the per-request `Viewer`, and the access policy.
pub mod policy;
pub mod token;

pub use domain::users::{password, sessions};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::organisations::MemberRole;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The account behind a verified access token, as it is now: a token of an erased account, or one issued before
/// the user signed out everywhere or changed their password, is refused; the role is read fresh, so a demoted admin
/// loses their rights at once. One statement per signed-in request.
///
/// A request that only reads (`reads_only`) gets the account's organisation roles in the same statement: read-side
/// visibility needs them on most signed-in reads, at a round trip of their own otherwise. A mutation reads them
/// when it first needs them, so that its answer sees the memberships it made.
pub async fn account_of(
    reads: &domain::store::Reads,
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
    let rows: Vec<AccountRow> = crate::kit::pagination::read_rows(reads, &select).await?;
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
    Ok(Viewer::with_memberships(user, memberships))
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

pub use domain::access::{AuthUser, Viewer};

//! Account rules: registration, sign-in.
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession};
use uuid::Uuid;

use super::{PlatformRole, password};
use crate::access::AuthUser;
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::{Email, Password, bounded_text};
use entity::user;

/// Who is registering: as typed, checked here.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

pub fn auth_user(user: &user::Model) -> AuthUser {
    AuthUser { id: user.id, role: PlatformRole::from_db(&user.role).unwrap_or(PlatformRole::Member) }
}

/// `register`'s checks and password hash, done before its transaction (hashing takes a while: no connection is
/// held meanwhile). `Registration::insert` then writes the account.
#[tracing::instrument(skip_all)]
pub async fn prepare_registration(db: &impl ConnectionTrait, input: NewAccount) -> AppResult<Registration> {
    let email = Email::parse("email", &input.email)?;
    let password = Password::parse("password", &input.password, &email)?;
    let display_name = bounded_text("displayName", &input.display_name, 1, 80)?;
    if find_by_email(db, &email).await?.is_some() {
        return Err(AppError::conflict("an account with that email address already exists"));
    }
    let password_hash = password::hash(password.expose().to_owned()).await?;
    Ok(Registration { email, password_hash, display_name })
}

/// A checked registration, its password hashed, ready to write.
pub struct Registration {
    email: Email,
    password_hash: String,
    display_name: String,
}

impl Registration {
    pub async fn insert(self, db: &impl ConnectionTrait) -> AppResult<user::Model> {
        insert_user(db, self.email, self.password_hash, self.display_name, PlatformRole::Member, false).await
    }
}

/// Creates a user with a role; used by `register` (always MEMBER, unverified) and by the CLI and seed (whose
/// addresses are vouched for by whoever runs them, so `email_verified` is set).
pub async fn create_user(
    db: &impl ConnectionTrait,
    email: Email,
    password: Password,
    display_name: String,
    role: PlatformRole,
    email_verified: bool,
) -> AppResult<user::Model> {
    if find_by_email(db, &email).await?.is_some() {
        return Err(AppError::conflict("an account with that email address already exists"));
    }
    let password_hash = password::hash(password.expose().to_owned()).await?;
    insert_user(db, email, password_hash, display_name, role, email_verified).await
}

/// Writes an account whose password is hashed already; an address taken meanwhile is a `CONFLICT`.
async fn insert_user(
    db: &impl ConnectionTrait,
    email: Email,
    password_hash: String,
    display_name: String,
    role: PlatformRole,
    email_verified: bool,
) -> AppResult<user::Model> {
    let now = now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.into_inner()),
        password_hash: Set(password_hash),
        display_name: Set(display_name),
        role: Set(role.as_db().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        email_verified_at: Set(email_verified.then_some(now)),
        deleted_at: Set(None),
        sessions_valid_from: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::conflict("an account with that email address already exists"),
        other => other,
    })?;
    Ok(model)
}

#[tracing::instrument(skip_all)]
pub async fn login(db: &impl ConnectionTrait, email: &str, password: String) -> AppResult<user::Model> {
    let wrong = || AppError::Unauthenticated("the email address or password is incorrect".into());
    // A malformed email cannot belong to anyone; still spend the same time as a real check.
    let user = match Email::parse("email", email) {
        Ok(email) => find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(wrong()),
    }
}

/// Changes a user's password after checking the current one, and ends every session of theirs.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn change_password(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    actor: &AuthUser,
    current_password: String,
    new_password: &str,
) -> AppResult<user::Model> {
    let user = user::Entity::find_by_id(actor.id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
    if !password::verify(current_password, Some(user.password_hash.clone())).await? {
        return Err(AppError::Unauthenticated("the current password is incorrect".into()));
    }
    let email = Email::parse("email", &user.email)?;
    let new_password = Password::parse("input.newPassword", new_password, &email)?;
    let password_hash = password::hash(new_password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(password_hash);
    active.updated_at = Set(now());
    let user = active.update(&txn).await?;
    super::sessions::end_all(&txn, user.id).await?;
    txn.commit().await?;
    Ok(user)
}

/// The live account with this address (erased accounts' tombstones are nobody's).
pub async fn find_by_email(db: &impl ConnectionTrait, email: &Email) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

//! What the `pitchin` command line does for operators: the first platform admin, and partner API keys. The command
//! line is trusted (it holds the database), so these go straight to the services, logged as done by the platform.
use base64::Engine;
use rand::RngCore;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::api_keys::service as keys;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::kit::ids::{NodeKind, decode_any};
use crate::values::{Email, Password, bounded_text};
use domain::api_keys::ApiKeyScope;
use domain::users::PlatformRole;

/// Creates a platform admin. With no password given, makes a strong one; returns it so it can be shown once.
pub async fn create_admin(
    db: &DatabaseConnection,
    email: &str,
    display_name: &str,
    password: Option<String>,
) -> AppResult<(entity::user::Model, Option<String>)> {
    let email = Email::parse("--email", email)?;
    let display_name = bounded_text("--display-name", display_name, 1, 80)?;
    let generated = password.is_none().then(|| {
        let mut bytes = [0u8; 18];
        rand::rng().fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    });
    let raw = password.or_else(|| generated.clone()).unwrap_or_default();
    let password = Password::parse("password", &raw, &email)?;
    let user = crate::users::service::create_user(db, email, password, display_name, PlatformRole::Admin, true).await?;
    Ok((user, generated))
}

/// An organisation named by its id (as the API shows it) or its slug.
pub async fn find_organisation(db: &DatabaseConnection, id_or_slug: &str) -> AppResult<Uuid> {
    if let Some((NodeKind::Organisation, id)) = decode_any(id_or_slug) {
        return Ok(id);
    }
    crate::organisations::service::find_by_slug(db, id_or_slug)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| AppError::not_found("organisation"))
}

pub fn parse_scope(raw: &str) -> Result<ApiKeyScope, String> {
    let wanted = raw.trim().replace('-', "_").to_uppercase();
    ApiKeyScope::from_db(&wanted).ok_or_else(|| {
        let known: Vec<_> = ApiKeyScope::ALL.iter().map(|s| s.as_db().to_lowercase().replace('_', "-")).collect();
        format!("unknown scope {raw:?}: use one of {}", known.join(", "))
    })
}

pub async fn issue_key(
    db: &DatabaseConnection,
    name: &str,
    scopes: Vec<ApiKeyScope>,
    organisation: Option<&str>,
    rate_limit_per_minute: Option<i32>,
) -> AppResult<(entity::api_key::Model, String)> {
    let organisation_id = match organisation {
        Some(o) => Some(find_organisation(db, o).await?),
        None => None,
    };
    let new = keys::NewApiKey {
        name: name.to_owned(),
        scopes,
        organisation_id,
        rate_limit_per_minute,
        partner: Default::default(),
    };
    keys::issue(db, Actor::PLATFORM, new).await
}

/// Revokes a key named by its id or its shown prefix.
pub async fn revoke_key(db: &DatabaseConnection, id_or_prefix: &str) -> AppResult<entity::api_key::Model> {
    let id = match decode_any(id_or_prefix) {
        Some((NodeKind::ApiKey, id)) => id,
        _ => {
            let matching: Vec<_> = keys::list(db).await?.into_iter().filter(|k| k.key_prefix == id_or_prefix).collect();
            match matching.as_slice() {
                [one] => one.id,
                [] => return Err(AppError::not_found("API key")),
                _ => return Err(AppError::conflict("several keys have that prefix: give the id")),
            }
        }
    };
    keys::revoke(db, Actor::PLATFORM, id).await
}

//! Accounts: registering, signing in, and the `User` view.
pub use domain::users::service;
pub mod verification;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::auth::sessions::{self, IssuedRefresh};
use std::sync::Arc;

use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, encode};
use crate::kit::loaders::{ChildFilter, ChildRelation, child_connection};
use crate::kit::pagination::Page;
use crate::kit::{db, loaders, viewer};
use crate::organisations::{Membership, MembershipConnection};
use crate::volunteers::VolunteerProfile;

crate::graphql_enum! {
    /// What a user may do across the whole platform.
    pub enum PlatformRole as domain::users::PlatformRole {
        Member => "MEMBER",
        /// May do everything, in every organisation.
        Admin => "ADMIN",
    }
}

/// A person with an account. Their email is visible only to themselves and platform admins.
pub struct User {
    pub model: entity::user::Model,
    /// Set on the user a `register` or `login` payload returns: the caller has just proven to be them.
    signed_in: bool,
}

impl User {
    pub fn new(model: entity::user::Model) -> Self {
        Self { model, signed_in: false }
    }

    fn is_self(&self, ctx: &Context<'_>) -> Result<bool, AppError> {
        let viewer = viewer(ctx)?;
        Ok(self.signed_in || domain::access::may_see_account(viewer, self.model.id))
    }
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        encode(NodeKind::User, self.model.id)
    }

    async fn display_name(&self) -> &str {
        &self.model.display_name
    }

    /// Only for the user themselves and platform admins.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<&str> {
        if self.is_self(ctx)? {
            if !self.signed_in {
                crate::audit::viewed(ctx, self.model.id, "user.email")?;
            }
            Ok(&self.model.email)
        } else {
            Err(AppError::forbidden("only this user can see their email address").into())
        }
    }

    /// When the user confirmed their email address; null until then. Only for the user themselves and platform
    /// admins.
    async fn email_verified_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        if self.is_self(ctx)? {
            Ok(self.model.email_verified_at)
        } else {
            Err(AppError::forbidden("only this user can see that").into())
        }
    }

    /// The user's next sessions across the needs they are accepted on (the next 120 days, cancelled ones marked),
    /// by start; at most `first` (default 10, at most 100). Only for the user themselves.
    async fn upcoming_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<crate::needs::sessions::Session>> {
        if !self.is_self(ctx)? || viewer(ctx)?.user_id() != Some(self.model.id) {
            return Err(AppError::forbidden("only this user can see their sessions").into());
        }
        crate::needs::sessions::upcoming(ctx, self.model.id, first).await
    }

    async fn role(&self) -> PlatformRole {
        PlatformRole::from_db(&self.model.role).unwrap_or(PlatformRole::Member)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// The user's volunteer profile, if they have one. Only for the user themselves and platform admins.
    async fn volunteer_profile(&self, ctx: &Context<'_>) -> ApiResult<Option<VolunteerProfile>> {
        if !self.is_self(ctx)? {
            return Err(AppError::forbidden("only this user can see their own profile here").into());
        }
        Ok(loaders(ctx)?.profiles_by_user.load_one(self.model.id).await?.map(VolunteerProfile::from))
    }

    /// The organisations this user belongs to, most recent first. Only for the user themselves and platform admins.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MembershipConnection> {
        if !self.is_self(ctx)? {
            return Err(AppError::forbidden("only this user can see their memberships").into());
        }
        let page = Page::parse(first, after, last, before)?;
        child_connection(
            &loaders(ctx)?.user_memberships,
            ChildRelation::UserMemberships,
            self.model.id,
            ChildFilter::default(),
            page,
            false,
            |m| (Membership(m), async_graphql::connection::EmptyFields),
        )
        .await
        .map_err(ApiError::from)
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// A signed-in session: an access token to send as `Authorization: Bearer <accessToken>`, and a refresh token
/// to trade for the next pair (`refreshToken`) before `refreshTokenExpiresAt`. Each refresh token works once.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    /// Keep it secret (it is a password for this session); it is stored only as a hash.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(InputObject)]
pub struct RefreshTokenInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct LogoutInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The code from the verification mail.
    pub token: String,
}

#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    pub email_verified_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct RequestEmailVerificationPayload {
    pub sent: bool,
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Sessions ended by this call (0 when the token's session had already ended).
    pub sessions_ended: i32,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user, or null for anonymous callers.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = viewer(ctx)?.user else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(user.id).await?.map(User::new))
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates an account and signs it in, and mails a code to confirm the address (`verifyEmail`). An account
    /// whose address is not confirmed within 30 days (by default) is erased.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> ApiResult<AuthPayload> {
        let db = db(ctx)?;
        let account =
            service::NewAccount { email: input.email, password: input.password, display_name: input.display_name };
        let registration = service::prepare_registration(db, account).await?;
        // The account, its verification code and its session are written together or not at all; the code is
        // mailed only once they are.
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        let user = registration.insert(&txn).await?;
        verification::send(&txn, &user).await?;
        let refresh = sessions::start(&txn, user.id).await?;
        let answer = payload(ctx, user, refresh)?;
        txn.commit().await?;
        Ok(answer)
    }

    /// Confirms an email address with the code mailed to it. Needs no sign-in: the code is the proof.
    async fn verify_email(&self, ctx: &Context<'_>, input: VerifyEmailInput) -> ApiResult<VerifyEmailPayload> {
        let email_verified_at = verification::confirm(db(ctx)?, &input.token).await?;
        Ok(VerifyEmailPayload { email_verified_at })
    }

    /// Mails the signed-in user a new code to confirm their address; `sent` is false when it is confirmed already.
    async fn request_email_verification(&self, ctx: &Context<'_>) -> ApiResult<RequestEmailVerificationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let db = db(ctx)?;
        let user = entity::user::Entity::find_by_id(actor.id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
        if user.email_verified_at.is_some() {
            return Ok(RequestEmailVerificationPayload { sent: false });
        }
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        verification::send(&txn, &user).await?;
        txn.commit().await?;
        Ok(RequestEmailVerificationPayload { sent: true })
    }

    /// Trades a refresh token for a new access token and the next refresh token. A refresh token works once: one
    /// presented again ends its whole session.
    async fn refresh_token(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> ApiResult<AuthPayload> {
        let db = db(ctx)?;
        let (user_id, refresh) = sessions::rotate(db, &input.refresh_token).await?;
        let user = entity::user::Entity::find_by_id(user_id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
        payload(ctx, user, refresh).map_err(ApiError::from)
    }

    /// Signs out on this device: ends the session the refresh token belongs to. Access tokens already issued
    /// still work until they expire (at most 15 minutes).
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> ApiResult<LogoutPayload> {
        let ended = sessions::end(db(ctx)?, &input.refresh_token).await?;
        Ok(LogoutPayload { sessions_ended: i32::from(ended) })
    }

    /// Signs out everywhere: ends every session of the signed-in user.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> ApiResult<LogoutPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let ended = sessions::end_all(db(ctx)?, actor.id).await?;
        Ok(LogoutPayload { sessions_ended: i32::try_from(ended).unwrap_or(i32::MAX) })
    }

    /// Changes the signed-in user's password, ends every session, and starts a new one for this caller.
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> ApiResult<AuthPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let user = service::change_password(db(ctx)?, &actor, input.current_password, &input.new_password).await?;
        session(ctx, user).await.map_err(ApiError::from)
    }

    /// Signs in. A wrong email and a wrong password give the same answer; too many attempts for one email
    /// address (registered or not) are refused for a while with RATE_LIMITED.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        ctx.data::<Arc<SignInAttempts>>()
            .map_err(|_| crate::kit::missing("sign-in limits"))?
            .attempt(&input.email)
            .await?;
        let db = db(ctx)?;
        let user = service::login(db, &input.email, input.password).await?;
        // The session and the notice to the account's holder are written together.
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        let refresh = sessions::start(&txn, user.id).await?;
        domain::notifications::events::signed_in(&txn, user.id).await?;
        let answer = payload(ctx, user, refresh)?;
        txn.commit().await?;
        Ok(answer)
    }
}

/// Starts a session for a user who has just proven who they are.
async fn session(ctx: &Context<'_>, user: entity::user::Model) -> Result<AuthPayload, AppError> {
    let refresh = sessions::start(db(ctx)?, user.id).await?;
    payload(ctx, user, refresh)
}

fn payload(ctx: &Context<'_>, user: entity::user::Model, refresh: IssuedRefresh) -> Result<AuthPayload, AppError> {
    let keys = crate::kit::token_keys(ctx)?;
    let issued = keys.issue(&service::auth_user(&user))?;
    Ok(AuthPayload {
        access_token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
        refresh_token: refresh.token,
        refresh_token_expires_at: refresh.expires_at,
        user: User { model: user, signed_in: true },
    })
}

/// Sign-in attempts per email address (as typed, normalised), so guessing one account's password is slow from any
/// number of addresses. Unregistered addresses are limited alike: the answer reveals nothing. Counted in Redis
/// when it is configured, so that every server's attempts add up.
pub struct SignInAttempts(Option<crate::kit::rates::Limit<String>>);

impl SignInAttempts {
    /// At most `n` attempts an hour for each address (0: no limit).
    pub fn per_hour(n: u32, shared: Option<Arc<crate::kit::rates::Shared>>) -> Self {
        Self(crate::kit::rates::Limit::new("sign-in", n, std::time::Duration::from_secs(3600), shared))
    }

    /// Counts an attempt for `email`; `RATE_LIMITED` when there have been too many lately.
    pub async fn attempt(&self, email: &str) -> AppResult<()> {
        let Some(limit) = &self.0 else { return Ok(()) };
        match limit.check(&email.trim().to_lowercase()).await {
            None => Ok(()),
            // Whole seconds, rounded up, as every RATE_LIMITED answer says them.
            Some(wait) => Err(AppError::RateLimited {
                retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            }),
        }
    }

    /// Forgets this server's counts for addresses not tried lately (the housekeeping calls it).
    pub fn forget_idle(&self) {
        if let Some(limit) = &self.0 {
            limit.forget_idle();
        }
    }
}

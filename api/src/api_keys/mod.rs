//! Partner API keys: sent as `X-Api-Key`, issued by platform admins (or `pitchin api-key issue`), with scopes, an
//! organisation for the matches scope, their own rate limit, revocation and a last-used time.
//!
//! A key acts as nobody in particular: it reads what its scopes allow and never writes. `READ_PUBLIC_LISTINGS`
//! opens the public queries (needs, organisations, offers, `node`); `READ_ORGANISATION_MATCHES` opens
//! `matchesForNeed` for one organisation's needs, showing what a stranger may see of each volunteer (no contact
//! details, place or DBS status). A request with a key whose scopes do not cover one of its root fields is refused
//! whole, before it runs.
pub use domain::api_keys::service;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::api_keys::stats;

use crate::audit::Actor;
use crate::error::{ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::{db, viewer};
use crate::organisations::Organisation;

crate::graphql_enum! {
    /// What an API key may read.
    pub enum ApiKeyScope as domain::api_keys::ApiKeyScope {
        /// Public listings: needs, organisations, offers, as anyone may read them.
        ReadPublicListings => "READ_PUBLIC_LISTINGS",
        /// `matchesForNeed` for the needs of the key's organisation.
        ReadOrganisationMatches => "READ_ORGANISATION_MATCHES",
    }
}

pub use domain::access::ApiKeyCaller;

/// Refuses a document the key's scopes do not cover: any mutation, and any root field outside its scopes (a
/// subscription's too: `needPublished` and `needUpdated` are public listings). Every
/// operation in the document is checked, whichever would run (so no rule about which one runs can be played
/// against this one). The caller parses; a document that does not parse is left for the executor to answer.
pub fn check_operation(key: &ApiKeyCaller, document: &ExecutableDocument) -> AppResult<()> {
    use domain::api_keys::ApiKeyScope as Scope;
    let mut fields = Vec::new();
    for (_, operation) in document.operations.iter() {
        if operation.node.ty == OperationType::Mutation {
            return Err(AppError::forbidden("API keys are read-only: sign in as a user to make changes"));
        }
        let Some(root) = crate::kit::root_fields(document, &operation.node.selection_set.node) else {
            return Err(AppError::forbidden("fragments are nested too deeply to check this API key's scopes"));
        };
        fields.extend(root);
    }
    for field in fields {
        let needed = match field {
            "__schema" | "__type" | "__typename" => continue,
            "matchesForNeed" => Scope::ReadOrganisationMatches,
            _ => Scope::ReadPublicListings,
        };
        if !key.scopes.contains(&needed) {
            return Err(AppError::forbidden(format!("this API key's scopes do not include {}", needed.as_db())));
        }
    }
    Ok(())
}

/// A partner API key as platform admins see it (never the key itself, which is shown once, when issued).
pub struct ApiKey(pub entity::api_key::Model);

#[Object]
impl ApiKey {
    async fn id(&self) -> ID {
        encode(NodeKind::ApiKey, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The key's first characters, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.key_prefix
    }
    async fn scopes(&self) -> Vec<ApiKeyScope> {
        self.0.scopes.split(',').filter_map(ApiKeyScope::from_db).collect()
    }
    /// The organisation whose matches the key may read.
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(id) = self.0.organisation_id else { return Ok(None) };
        Ok(crate::kit::loaders(ctx)?.organisations.load_one(id).await?.map(Organisation))
    }
    /// Requests a minute the key may make, with bursts up to the same number.
    async fn rate_limit_per_minute(&self) -> i32 {
        self.0.rate_limit_per_minute
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the key was last used, to the minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Origins that may frame the partner's widget (`/embed/needs?partner=<this id>`); empty: any site.
    async fn allowed_origins(&self) -> Vec<String> {
        service::allowed_origins(&self.0)
    }
    /// The partner's own page for applying, where its widget's "I can help" links lead (`{needId}` stands for the
    /// need's id); null: the need's public page.
    async fn apply_url(&self) -> Option<&str> {
        self.0.apply_url.as_deref()
    }
}

#[derive(InputObject)]
pub struct IssueApiKeyInput {
    /// Who the key is for, e.g. "Bristol Volunteer Centre website".
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
    /// Required with READ_ORGANISATION_MATCHES, refused without it.
    pub organisation_id: Option<ID>,
    /// Default 600.
    pub rate_limit_per_minute: Option<i32>,
    /// Origins that may frame the partner's widget, such as `https://library.example`; none: any site.
    #[graphql(default)]
    pub allowed_origins: Vec<String>,
    /// The partner's own page for applying; `{needId}` stands for the need's id, else `need=` is added.
    pub apply_url: Option<String>,
}

/// A key's partner settings, replaced whole.
#[derive(InputObject)]
pub struct UpdateApiKeyInput {
    pub id: ID,
    #[graphql(default)]
    pub allowed_origins: Vec<String>,
    pub apply_url: Option<String>,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct IssueApiKeyPayload {
    pub api_key: ApiKey,
    /// The key: send it as the `X-Api-Key` header. Shown only now; Pitch In keeps only its hash.
    pub key: String,
}

fn require_admin(ctx: &Context<'_>) -> AppResult<Actor> {
    let viewer = viewer(ctx)?;
    domain::access::require_platform_admin(viewer, "manage API keys")?;
    Ok(Actor::of(viewer))
}

/// One day of what a partner's links brought about (days on the UK's calendar). Counts only: nothing about who.
#[derive(SimpleObject)]
pub struct PartnerDay {
    pub day: NaiveDate,
    /// Widget pages served that named the key as `partner`.
    pub widget_views: i64,
    /// "I can help" followed from the partner's widget.
    pub clicks: i64,
    /// Applications whose `applyToNeed` named the key as `ref`.
    pub applications: i64,
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// Every partner API key, newest first. Platform admins only.
    async fn api_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiKey>> {
        require_admin(ctx)?;
        Ok(service::list(db(ctx)?).await?.into_iter().map(ApiKey).collect())
    }

    /// A partner key's counts for each day from `from` to `to` (both included, at most 366 days), quiet days as
    /// zeros. For platform admins and members of the key's organisation.
    async fn partner_stats(
        &self,
        ctx: &Context<'_>,
        api_key_id: ID,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Vec<PartnerDay>> {
        let viewer = viewer(ctx)?;
        viewer.require_user()?;
        let db = db(ctx)?;
        let id = decode("apiKeyId", &api_key_id, NodeKind::ApiKey)?;
        let key = service::get(db, id).await?;
        let member = match key.organisation_id {
            Some(organisation) => viewer.is_member_of(db, organisation).await?,
            None => false,
        };
        if !domain::access::may_see_partner_stats(viewer, member) {
            return Err(AppError::forbidden("only platform admins and the key's organisation see its counts").into());
        }
        // This server's counts not yet written, so that the answer is up to now here; if they cannot be written
        // now, the answer is the table's and they are written later.
        if let Err(error) = crate::kit::partner_tally(ctx)?.flush(db).await {
            tracing::warn!(?error, "partnerStats: could not write this server's counts first");
        }
        Ok(stats::days(db, id, from, to)
            .await?
            .into_iter()
            .map(|d| PartnerDay {
                day: d.day,
                widget_views: d.widget_views,
                clicks: d.clicks,
                applications: d.applications,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Issues a partner API key. Platform admins only. The key is in the payload and nowhere else.
    async fn issue_api_key(&self, ctx: &Context<'_>, input: IssueApiKeyInput) -> ApiResult<IssueApiKeyPayload> {
        let actor = require_admin(ctx)?;
        let organisation_id = input
            .organisation_id
            .as_ref()
            .map(|id| decode("input.organisationId", id, NodeKind::Organisation))
            .transpose()?;
        let new = service::NewApiKey {
            name: input.name,
            scopes: input.scopes.into_iter().map(Into::into).collect(),
            organisation_id,
            rate_limit_per_minute: input.rate_limit_per_minute,
            partner: service::PartnerSettings { allowed_origins: input.allowed_origins, apply_url: input.apply_url },
        };
        let (model, key) = service::issue(db(ctx)?, actor, new).await?;
        Ok(IssueApiKeyPayload { api_key: ApiKey(model), key })
    }

    /// Replaces a key's partner settings (the origins that may frame its widget, its page for applying). Platform
    /// admins only.
    async fn update_api_key(&self, ctx: &Context<'_>, input: UpdateApiKeyInput) -> ApiResult<ApiKey> {
        let actor = require_admin(ctx)?;
        let id = decode("input.id", &input.id, NodeKind::ApiKey)?;
        let settings = service::PartnerSettings { allowed_origins: input.allowed_origins, apply_url: input.apply_url };
        Ok(ApiKey(service::update_partner(db(ctx)?, actor, id, settings).await?))
    }

    /// Revokes a key at once. Platform admins only.
    async fn revoke_api_key(&self, ctx: &Context<'_>, input: RevokeApiKeyInput) -> ApiResult<ApiKey> {
        let actor = require_admin(ctx)?;
        let id = decode("input.id", &input.id, NodeKind::ApiKey)?;
        Ok(ApiKey(service::revoke(db(ctx)?, actor, id).await?))
    }
}

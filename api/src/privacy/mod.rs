//! Personal-data rights (UK GDPR) over GraphQL: `exportMyData` and `deleteMyAccount`; what they do is
//! `domain::privacy`'s.
use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use domain::privacy::{Erased, erase, erase_stale_unverified, export};

use crate::error::ApiResult;
use crate::kit::{db, viewer};

#[derive(InputObject)]
pub struct DeleteMyAccountInput {
    /// The account's password, asked again: erasure cannot be undone.
    pub password: String,
}

#[derive(SimpleObject)]
pub struct DeleteMyAccountPayload {
    /// When the personal data was erased. Every session and access token of the account has ended.
    pub erased_at: DateTime<Utc>,
    /// Applications kept (anonymised) in organisations' histories.
    pub applications_kept: i32,
    /// Live applications withdrawn, their places given back.
    pub applications_withdrawn: i32,
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases the signed-in user's personal data for good (UK GDPR right to erasure). Refused with CONFLICT while
    /// they are the only owner of an organisation: make someone else an owner first.
    async fn delete_my_account(
        &self,
        ctx: &Context<'_>,
        input: DeleteMyAccountInput,
    ) -> ApiResult<DeleteMyAccountPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let erased = domain::privacy::delete_account(db(ctx)?, &actor, input.password).await?;
        Ok(DeleteMyAccountPayload {
            erased_at: erased.erased_at,
            applications_kept: erased.applications_kept,
            applications_withdrawn: erased.applications_withdrawn,
        })
    }
}

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything Pitch In holds about the signed-in user, as one JSON document (UK GDPR right of access and
    /// portability).
    async fn export_my_data(&self, ctx: &Context<'_>) -> ApiResult<Json<Value>> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(Json(export(db(ctx)?, &actor).await?))
    }
}

//! Volunteers' profiles: skills, interests, languages, where and when they can help, and DBS status.
//!
//! Personal data rules: anyone who meets a profile (through an application they may see, or `node`) sees
//! its display name, bio, skills, interests and languages. Contact details, availability and DBS status
//! are for the volunteer, platform admins, and organisations the volunteer has applied to. The postcode
//! and exact location are for the volunteer and platform admins only.
pub use domain::volunteers::service;
use domain::volunteers::{calendar, verification};

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{self, ProfileAccess, ProfileField};
use domain::store::rows::Read;

use crate::applications::{Application, ApplicationConnection, ApplicationStatus};
use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, encode};
use crate::kit::loaders::{ChildFilter, ChildRelation, child_connection};
use crate::kit::pagination::Page;
use crate::kit::{Location, LocationInput, boxed, loaders, viewer};
use crate::needs::{NeedCategory, TimeWindowInput, TimeWindowView};
use crate::values::text::json_strings;
use crate::values::{Postcode, TimeWindow};
use entity::volunteer_profile;

crate::graphql_enum! {
    /// Disclosure and Barring Service check levels, lowest to highest.
    pub enum DbsLevel as domain::volunteers::DbsLevel {
        None => "NONE",
        Basic => "BASIC",
        Standard => "STANDARD",
        Enhanced => "ENHANCED",
        /// Enhanced with barred-list checks: only for regulated activity with children or vulnerable adults.
        EnhancedBarredLists => "ENHANCED_BARRED_LISTS",
    }
}

pub struct VolunteerProfile(pub Arc<Read<volunteer_profile::Model>>);

/// How the caller relates to a profile (`domain::access` decides what that lets them see). Whether the volunteer has
/// applied to one of the caller's organisations is asked only of signed-in callers who are not themselves.
async fn access(ctx: &Context<'_>, profile: &Read<volunteer_profile::Model>) -> AppResult<ProfileAccess> {
    let viewer = viewer(ctx)?;
    let me = viewer.user_id() == Some(*profile.user_id()) || viewer.is_admin();
    let applied =
        !me && viewer.user.is_some() && loaders(ctx)?.contact_visible.load_one(*profile.id()).await?.unwrap_or(false);
    Ok(access::profile_access(viewer, *profile.user_id(), applied))
}

/// Lets the caller see one field of a profile's personal data, noting it in the audit log when it is someone else's.
/// Boxed (see `graphql::boxed`): most of a profile's fields are plain.
fn require<'a>(
    ctx: &'a Context<'_>,
    profile: &'a Read<volunteer_profile::Model>,
    needed: ProfileField,
    what: &'a str,
    field: &'static str,
) -> futures::future::BoxFuture<'a, AppResult<()>> {
    boxed(async move {
        if access::may_see_profile_field(access(ctx, profile).await?, needed) {
            crate::audit::viewed(ctx, *profile.user_id(), field)
        } else {
            Err(AppError::forbidden(format!("you may not see this volunteer's {what}")))
        }
    })
}

/// Whether `node(id)` may return this profile.
pub async fn can_see_profile(ctx: &Context<'_>, profile: &Read<volunteer_profile::Model>) -> AppResult<bool> {
    Ok(access::may_find_profile(access(ctx, profile).await?))
}

/// A DBS check's status (never the certificate's content).
#[derive(SimpleObject)]
pub struct DbsCheck {
    pub level: DbsLevel,
    pub issued_on: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    /// Subscribed to the DBS Update Service, so the check can be confirmed online at any time.
    pub on_update_service: bool,
}

impl From<volunteer_profile::Model> for VolunteerProfile {
    fn from(profile: volunteer_profile::Model) -> Self {
        Self(Arc::new(Read::whole(profile)))
    }
}

#[Object]
impl VolunteerProfile {
    pub async fn id(&self) -> ID {
        encode(NodeKind::VolunteerProfile, *self.0.id())
    }
    async fn display_name(&self) -> ApiResult<&str> {
        Ok(self.0.display_name()?)
    }
    async fn bio(&self) -> ApiResult<&str> {
        Ok(self.0.bio()?)
    }
    async fn skills(&self) -> ApiResult<Vec<String>> {
        Ok(json_strings(self.0.skills()?))
    }
    /// Categories of need the volunteer is interested in.
    async fn interests(&self) -> ApiResult<Vec<NeedCategory>> {
        Ok(json_strings(self.0.interests()?).iter().filter_map(|c| NeedCategory::from_db(c)).collect())
    }
    async fn languages(&self) -> ApiResult<Vec<String>> {
        Ok(json_strings(self.0.languages()?))
    }
    async fn travel_radius_km(&self) -> ApiResult<f64> {
        Ok(*self.0.travel_radius_km()?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        *self.0.created_at()
    }
    async fn updated_at(&self) -> ApiResult<DateTime<Utc>> {
        Ok(*self.0.updated_at()?)
    }

    /// Contact email. For the volunteer, platform admins, and organisations they have applied to.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<String> {
        require(ctx, &self.0, ProfileField::Email, "contact details", "volunteerProfile.email").await?;
        let user = loaders(ctx)?.users.load_one(*self.0.user_id()).await?;
        // An erased account's tombstone has no address.
        user.filter(|u| u.deleted_at.is_none())
            .map(|u| u.email)
            .ok_or_else(|| AppError::NotFound("this volunteer has deleted their account".into()))
            .map_err(ApiError::from)
    }
    /// When the volunteer is free each week. For the volunteer, platform admins, and organisations they have applied to.
    async fn availability(&self, ctx: &Context<'_>) -> ApiResult<Vec<TimeWindowView>> {
        require(ctx, &self.0, ProfileField::Availability, "availability", "volunteerProfile.availability").await?;
        Ok(TimeWindow::from_json(self.0.availability()?).into_iter().map(Into::into).collect())
    }
    /// For the volunteer, platform admins, and organisations they have applied to.
    async fn dbs_check(&self, ctx: &Context<'_>) -> ApiResult<DbsCheck> {
        require(ctx, &self.0, ProfileField::DbsStatus, "DBS status", "volunteerProfile.dbsCheck").await?;
        Ok(DbsCheck {
            level: DbsLevel::from_db(self.0.dbs_level()?).unwrap_or(DbsLevel::None),
            issued_on: *self.0.dbs_issued_on()?,
            recheck_by: *self.0.dbs_recheck_by()?,
            on_update_service: *self.0.dbs_update_service()?,
        })
    }
    /// The volunteer's hours: approved totals by month, organisation and need, what awaits approval, and the
    /// entries. Only for the volunteer and platform admins.
    async fn hours(&self, ctx: &Context<'_>) -> ApiResult<crate::hours::VolunteerHours> {
        require(ctx, &self.0, ProfileField::Applications, "hours", "volunteerProfile.hours").await?;
        crate::hours::of_volunteer(ctx, *self.0.id()).await
    }
    /// The volunteer's statements of volunteering, newest first (revoked ones too). Only for the volunteer and
    /// platform admins.
    async fn statements(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::hours::VolunteeringStatement>> {
        require(ctx, &self.0, ProfileField::Applications, "statements", "volunteerProfile.statements").await?;
        crate::hours::statements_of(ctx, *self.0.id()).await
    }
    /// DBS checks organisations have verified (who saw the certificate or checked the Update Service, when, how),
    /// newest first. For the volunteer and platform admins; an organisation they applied to sees its own records only.
    async fn dbs_verifications(&self, ctx: &Context<'_>) -> ApiResult<Vec<DbsVerification>> {
        require(ctx, &self.0, ProfileField::DbsStatus, "DBS status", "volunteerProfile.dbsVerifications").await?;
        let rows = boxed(loaders(ctx)?.dbs_verifications.load_one(*self.0.id())).await?.unwrap_or_default();
        let viewer = viewer(ctx)?;
        let mut shown = Vec::with_capacity(rows.len());
        for row in rows {
            // The viewer's memberships are read once per request.
            let member = viewer.is_member_of(crate::kit::db(ctx)?, row.organisation_id).await?;
            if access::may_see_dbs_verification(viewer, *self.0.user_id(), member) {
                shown.push(DbsVerification(row));
            }
        }
        Ok(shown)
    }
    /// Only for the volunteer and platform admins.
    async fn postcode(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        require(ctx, &self.0, ProfileField::Postcode, "postcode", "volunteerProfile.postcode").await?;
        Ok(self.0.postcode()?.as_deref())
    }
    /// Only for the volunteer and platform admins.
    async fn location(&self, ctx: &Context<'_>) -> ApiResult<Option<Location>> {
        require(ctx, &self.0, ProfileField::Location, "location", "volunteerProfile.location").await?;
        Ok(Location::from_stored(*self.0.lat()?, *self.0.lng()?))
    }

    /// The address of the volunteer's private calendar feed (iCalendar): the needs they are invited to or accepted
    /// on, for a phone's calendar to subscribe to. Only for the volunteer themself, not even platform admins: the
    /// address is the secret that opens the feed. `rotateCalendarToken` replaces it. Null only for a profile made
    /// without a feed (rotating makes one).
    async fn calendar_url(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        if !access::may_see_calendar_url(viewer(ctx)?, *self.0.user_id()) {
            return Err(AppError::forbidden("only the volunteer may see their calendar's address").into());
        }
        let Some(token_id) = calendar::token_id(crate::kit::db(ctx)?, *self.0.id()).await? else { return Ok(None) };
        calendar_url(ctx, &token_id).map(Some).map_err(ApiError::from)
    }

    /// The volunteer's applications, newest first. Only for the volunteer and platform admins.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<ApplicationStatus>,
    ) -> ApiResult<ApplicationConnection> {
        require(ctx, &self.0, ProfileField::Applications, "applications", "volunteerProfile.applications").await?;
        let filter = ChildFilter { statuses: status.map(|s| vec![s.as_db().to_owned()]) };
        let page = Page::parse(first, after, last, before)?;
        child_connection(
            &loaders(ctx)?.volunteer_applications,
            ChildRelation::VolunteerApplications,
            *self.0.id(),
            filter,
            page,
            false,
            |a| (Application(a), async_graphql::connection::EmptyFields),
        )
        .await
        .map_err(ApiError::from)
    }
}

#[derive(InputObject, Clone)]
pub struct DbsCheckInput {
    pub level: DbsLevel,
    pub issued_on: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    #[graphql(default)]
    pub on_update_service: bool,
}

impl UpsertVolunteerProfileInput {
    fn parse(self) -> AppResult<service::VolunteerProfileDraft> {
        Ok(service::VolunteerProfileDraft {
            display_name: self.display_name,
            bio: self.bio,
            skills: self.skills,
            interests: self.interests.into_iter().map(Into::into).collect(),
            languages: self.languages,
            postcode: Postcode::parse_optional("input.postcode", self.postcode.as_deref())?,
            location: crate::kit::parse_location(self.location.as_ref())?,
            travel_radius_km: self.travel_radius_km,
            availability: TimeWindowInput::parse_all("input.availability", &self.availability)?,
            dbs_check: self.dbs_check.map(|d| service::DbsCheckDraft {
                level: d.level.into(),
                issued_on: d.issued_on,
                recheck_by: d.recheck_by,
                on_update_service: d.on_update_service,
            }),
        })
    }
}

/// The whole profile: creates it the first time, replaces it afterwards.
#[derive(InputObject)]
pub struct UpsertVolunteerProfileInput {
    pub display_name: String,
    #[graphql(default)]
    pub bio: String,
    #[graphql(default)]
    pub skills: Vec<String>,
    #[graphql(default)]
    pub interests: Vec<NeedCategory>,
    #[graphql(default)]
    pub languages: Vec<String>,
    pub postcode: Option<String>,
    pub location: Option<LocationInput>,
    #[graphql(default = 10.0)]
    pub travel_radius_km: f64,
    #[graphql(default)]
    pub availability: Vec<TimeWindowInput>,
    pub dbs_check: Option<DbsCheckInput>,
}

#[derive(SimpleObject)]
pub struct UpsertVolunteerProfilePayload {
    pub volunteer_profile: VolunteerProfile,
}

#[derive(SimpleObject)]
pub struct RotateCalendarTokenPayload {
    pub volunteer_profile: VolunteerProfile,
    /// The new address; the old one no longer opens the feed.
    pub calendar_url: String,
}

/// The address of a volunteer's private feed (served by `http::calendar`).
fn calendar_url(ctx: &Context<'_>, token_id: &str) -> AppResult<String> {
    let token = crate::kit::token_keys(ctx)?.calendar.token(token_id)?;
    Ok(format!("{}/calendar/{token}.ics", crate::kit::public_url(ctx)?))
}

crate::graphql_enum! {
    /// How a DBS check was verified.
    pub enum DbsCheckMethod as domain::volunteers::verification::CheckMethod {
        /// A member saw the original certificate.
        CertificateSeen => "CERTIFICATE_SEEN",
        /// A member checked the certificate's status on the DBS Update Service.
        UpdateService => "UPDATE_SERVICE",
    }
}

#[derive(InputObject)]
pub struct VerifyDbsCheckInput {
    pub volunteer_id: ID,
    /// The certificate's level.
    pub level: DbsLevel,
    /// The day the certificate was seen or the Update Service checked.
    pub checked_on: NaiveDate,
    pub method: DbsCheckMethod,
    /// The organisation vouching; needed only by members of more than one.
    pub organisation_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct VerifyDbsCheckPayload {
    pub verification: DbsVerification,
}

/// An organisation's record of a volunteer's DBS check.
pub struct DbsVerification(pub entity::dbs_verification::Model);

#[Object]
impl DbsVerification {
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<crate::organisations::Organisation> {
        let organisation = boxed(loaders(ctx)?.organisations.load_one(self.0.organisation_id)).await?;
        organisation
            .map(crate::organisations::Organisation)
            .ok_or_else(|| AppError::not_found("organisation"))
            .map_err(ApiError::from)
    }
    async fn level(&self) -> DbsLevel {
        DbsLevel::from_db(&self.0.level).unwrap_or(DbsLevel::None)
    }
    async fn checked_on(&self) -> NaiveDate {
        self.0.checked_on
    }
    async fn method(&self) -> DbsCheckMethod {
        DbsCheckMethod::from_db(&self.0.method).unwrap_or(DbsCheckMethod::CertificateSeen)
    }
    /// The member who checked (their display name); `null` once their account is gone.
    async fn verified_by(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(id) = self.0.verified_by else { return Ok(None) };
        let user = loaders(ctx)?.users.load_one(id).await?;
        Ok(user.filter(|u| u.deleted_at.is_none()).map(|u| u.display_name))
    }
    async fn verified_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The last day it counts for needs that require a verified check (three years after `checkedOn`).
    async fn valid_until(&self) -> NaiveDate {
        verification::valid_until(self.0.checked_on)
    }
}

#[derive(Default)]
pub struct VolunteerMutation;

#[Object]
impl VolunteerMutation {
    /// Creates or replaces the signed-in user's volunteer profile.
    async fn upsert_volunteer_profile(
        &self,
        ctx: &Context<'_>,
        input: UpsertVolunteerProfileInput,
    ) -> ApiResult<UpsertVolunteerProfilePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let profile = service::upsert(crate::kit::db(ctx)?, &actor, input.parse()?).await?;
        Ok(UpsertVolunteerProfilePayload { volunteer_profile: VolunteerProfile::from(profile) })
    }

    /// A member records that they saw a volunteer's DBS certificate, or checked it on the Update Service: who (the
    /// member), when (`checkedOn`, within the last three years) and how; never the certificate's content. The
    /// volunteer must have applied to the organisation. A need with `safeguardingVerified` then matches and accepts
    /// only volunteers its organisation verified at its level.
    async fn verify_dbs_check(
        &self,
        ctx: &Context<'_>,
        input: VerifyDbsCheckInput,
    ) -> ApiResult<VerifyDbsCheckPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let command = verification::VerifyDbsCheck {
            volunteer_id: crate::kit::ids::decode(
                "input.volunteerId",
                &input.volunteer_id,
                NodeKind::VolunteerProfile,
            )?,
            organisation_id: input
                .organisation_id
                .map(|id| crate::kit::ids::decode("input.organisationId", &id, NodeKind::Organisation))
                .transpose()?,
            level: input.level.into(),
            checked_on: input.checked_on,
            method: input.method.into(),
        };
        let row = verification::verify(crate::kit::db(ctx)?, &actor, command).await?;
        Ok(VerifyDbsCheckPayload { verification: DbsVerification(row) })
    }

    /// Gives the signed-in volunteer's calendar feed a new address: the old one stops working at once (for a
    /// phone that was lost, or an address shared by mistake).
    async fn rotate_calendar_token(&self, ctx: &Context<'_>) -> ApiResult<RotateCalendarTokenPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (profile, token_id) = calendar::rotate(crate::kit::db(ctx)?, &actor).await?;
        Ok(RotateCalendarTokenPayload {
            calendar_url: calendar_url(ctx, &token_id)?,
            volunteer_profile: VolunteerProfile::from(profile),
        })
    }
}

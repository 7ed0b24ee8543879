//! Applications: a volunteer asking to fill a place on a need, and the organisation's decisions.
pub use domain::applications::service;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use domain::access;
use domain::store::rows::Read;
use futures::{Stream, StreamExt};

use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::eager::Eager;
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::ListConnection;
use crate::kit::{boxed, db, live_events, loaders, viewer};
use crate::needs::Need;
use crate::volunteers::VolunteerProfile;

crate::graphql_enum! {
    pub enum ApplicationStatus as domain::applications::ApplicationStatus {
        Applied => "APPLIED",
        /// Waiting for a place on a full need; `waitlistPosition` says where in line.
        Waitlisted => "WAITLISTED",
        /// Invited by the organisation, or offered a freed place from the waitlist (until `offerExpiresAt`); holds a
        /// place while the volunteer decides.
        Invited => "INVITED",
        /// Holds one of the need's places.
        Accepted => "ACCEPTED",
        Declined => "DECLINED",
        Withdrawn => "WITHDRAWN",
        /// An offer from the waitlist that lapsed unanswered; its place went to the next in line.
        Expired => "EXPIRED",
        Completed => "COMPLETED",
    }
}

pub struct Application(pub Read<entity::application::Model>);

pub type ApplicationConnection = ListConnection<Application>;

/// The volunteer who applied, members of the need's organisation, and platform admins.
/// The facts `domain::access::may_see_application` needs are read only as far as the answer is open.
pub async fn can_see(ctx: &Context<'_>, application: &Read<entity::application::Model>) -> AppResult<bool> {
    let viewer = viewer(ctx)?;
    if viewer.user.is_none() || viewer.is_admin() {
        return Ok(access::may_see_application(viewer, None, false));
    }
    let loaders = loaders(ctx)?;
    let applicant = loaders.volunteers.load_one(*application.volunteer_id()).await?.map(|p| *p.user_id());
    if access::may_see_application(viewer, applicant, false) {
        return Ok(true);
    }
    let member = match loaders.needs.load_one(*application.need_id()).await? {
        Some(need) => viewer.is_member_of(db(ctx)?, *need.organisation_id()).await?,
        None => false,
    };
    Ok(access::may_see_application(viewer, applicant, member))
}

impl From<entity::application::Model> for Application {
    fn from(application: entity::application::Model) -> Self {
        Self(Read::whole(application))
    }
}

#[Object]
impl Application {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Application, *self.0.id())
    }
    async fn need(&self, ctx: &Context<'_>) -> ApiResult<Need> {
        let need = boxed(loaders(ctx)?.needs.load_one(*self.0.need_id())).await?;
        need.map(Need).ok_or_else(|| AppError::not_found("need")).map_err(ApiError::from)
    }
    async fn volunteer(&self, ctx: &Context<'_>) -> ApiResult<Eager<VolunteerProfile>> {
        let loaders = loaders(ctx)?;
        let id = *self.0.volunteer_id();
        // Usually joined with the application's page: then no trip through the loader for each of a dashboard's
        // hundreds of applications.
        let profile = match loaders.joined_volunteers.get(id) {
            Some(profile) => Some(profile),
            None => boxed(loaders.volunteers.load_one(id)).await?.map(std::sync::Arc::new),
        };
        profile
            .map(|p| Eager(VolunteerProfile(p)))
            .ok_or_else(|| AppError::not_found("volunteer"))
            .map_err(ApiError::from)
    }
    async fn message(&self) -> ApiResult<&str> {
        Ok(self.0.message()?)
    }
    async fn status(&self) -> ApplicationStatus {
        ApplicationStatus::from_db(self.0.status()).unwrap_or(ApplicationStatus::Withdrawn)
    }
    async fn applied_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.applied_at()?)
    }
    async fn invited_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.invited_at()?)
    }
    async fn accepted_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.accepted_at()?)
    }
    async fn declined_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.declined_at()?)
    }
    async fn withdrawn_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.withdrawn_at()?)
    }
    async fn completed_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.completed_at()?)
    }
    /// When it joined the waitlist (kept while an offer from the waitlist is open).
    async fn waitlisted_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.waitlisted_at()?)
    }
    /// Where it stands in the need's waitlist, 1 being next; only while WAITLISTED.
    async fn waitlist_position(&self, ctx: &Context<'_>) -> ApiResult<Option<i32>> {
        if self.0.status() != domain::applications::ApplicationStatus::Waitlisted.as_db() {
            return Ok(None);
        }
        let line = boxed(loaders(ctx)?.waitlists.load_one(*self.0.need_id())).await?.unwrap_or_default();
        Ok(line.iter().position(|id| id == self.0.id()).and_then(|at| i32::try_from(at + 1).ok()))
    }
    /// When an offer from the waitlist lapses unless accepted (`PITCHIN_WAITLIST_OFFER_HOURS` after it was made);
    /// `null` for anything else, invitations from the organisation included.
    async fn offer_expires_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        if self.0.status() != domain::applications::ApplicationStatus::Invited.as_db()
            || self.0.waitlisted_at()?.is_none()
        {
            return Ok(None);
        }
        let offer_for = crate::kit::waitlist_offer(ctx)?;
        Ok(self.0.invited_at()?.map(|at| domain::applications::waitlist::offer_deadline(at, offer_for)))
    }
    async fn expired_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.expired_at()?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        *self.0.created_at()
    }
    async fn updated_at(&self) -> ApiResult<DateTime<Utc>> {
        Ok(*self.0.updated_at()?)
    }
}

#[derive(InputObject)]
pub struct ApplyToNeedInput {
    pub need_id: ID,
    /// A note to the organisation, up to 2,000 characters.
    #[graphql(default)]
    pub message: String,
    /// The partner whose link brought the volunteer: the `ref` of the need's page (an `ApiKey` id). Counted for
    /// the partner (`partnerStats`), never stored with the application; a revoked or unknown key is not counted.
    #[graphql(name = "ref")]
    pub referrer: Option<ID>,
}

#[derive(InputObject)]
pub struct WithdrawApplicationInput {
    pub application_id: ID,
}

#[derive(InputObject)]
pub struct AcceptApplicationInput {
    pub application_id: ID,
}

#[derive(InputObject)]
pub struct DeclineApplicationInput {
    pub application_id: ID,
}

#[derive(InputObject)]
pub struct CompleteApplicationInput {
    pub application_id: ID,
}

/// The application after the change, and its need (whose places and status may have changed too).
#[derive(SimpleObject)]
pub struct ApplicationPayload {
    pub application: Application,
    pub need: Need,
}

fn payload((application, need): (entity::application::Model, entity::need::Model)) -> ApplicationPayload {
    ApplicationPayload { application: Application::from(application), need: Need::from(need) }
}

fn application_id(id: &ID) -> AppResult<uuid::Uuid> {
    decode("input.applicationId", id, NodeKind::Application)
}

#[derive(Default)]
pub struct ApplicationMutation;

#[Object]
impl ApplicationMutation {
    /// Applies to an open need as the signed-in volunteer (who needs a volunteer profile). A full need puts the
    /// application on its waitlist (WAITLISTED, with its `waitlistPosition`); past the waitlist's cap the answer is
    /// the error `NEED_FULL`, whose `extensions.similarNeeds` lists open needs the volunteer matches instead.
    async fn apply_to_need(&self, ctx: &Context<'_>, input: ApplyToNeedInput) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let need_id = decode("input.needId", &input.need_id, NodeKind::Need)?;
        let referrer = input.referrer.as_ref().map(|r| decode("input.ref", r, NodeKind::ApiKey)).transpose()?;
        // Looked up first: once the application is made, nothing about counting it may fail the answer.
        let partner = match referrer {
            Some(key) => domain::api_keys::service::partner(db(ctx)?, key).await?.map(|k| k.id),
            None => None,
        };
        let applied = match service::apply(db(ctx)?, &actor, need_id, &input.message).await {
            // Turned away from a full need: shown where else they could help.
            Err(AppError::Full { message, .. }) => {
                let index = crate::kit::matching_index(ctx)?;
                // The refusal stands even if the suggestions cannot be worked out.
                let similar = domain::matching::service::similar_open_needs(db(ctx)?, index, actor.id, need_id, 5)
                    .await
                    .unwrap_or_else(|err| {
                        tracing::warn!(error = ?err, "could not suggest needs to someone turned away");
                        Vec::new()
                    });
                return Err(AppError::Full { message, similar }.into());
            }
            other => other?,
        };
        if let Some(key) = partner {
            crate::kit::partner_tally(ctx)?.count(key, domain::api_keys::stats::Counted::Application);
        }
        Ok(payload(applied))
    }

    /// The volunteer withdraws; an accepted place is given back.
    async fn withdraw_application(
        &self,
        ctx: &Context<'_>,
        input: WithdrawApplicationInput,
    ) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        service::withdraw(db(ctx)?, &actor, application_id(&input.application_id)?)
            .await
            .map(payload)
            .map_err(ApiError::from)
    }

    /// The organisation accepts; takes a place, and never more places than the need has.
    async fn accept_application(
        &self,
        ctx: &Context<'_>,
        input: AcceptApplicationInput,
    ) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        service::accept(db(ctx)?, &actor, application_id(&input.application_id)?)
            .await
            .map(payload)
            .map_err(ApiError::from)
    }

    /// The organisation declines; if the volunteer held a place, it is given back.
    async fn decline_application(
        &self,
        ctx: &Context<'_>,
        input: DeclineApplicationInput,
    ) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        service::decline(db(ctx)?, &actor, application_id(&input.application_id)?)
            .await
            .map(payload)
            .map_err(ApiError::from)
    }

    /// The organisation marks an accepted volunteer's work as done.
    async fn complete_application(
        &self,
        ctx: &Context<'_>,
        input: CompleteApplicationInput,
    ) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        service::complete(db(ctx)?, &actor, application_id(&input.application_id)?)
            .await
            .map(payload)
            .map_err(ApiError::from)
    }
}

/// Applications as they change, over `/graphql/ws`.
#[derive(Default)]
pub struct ApplicationSubscription;

#[Subscription]
impl ApplicationSubscription {
    /// Applications as they are made and as their status changes: the signed-in volunteer's own, and those to the
    /// needs of organisations the signed-in user is a member of (membership checked afresh at each event, so
    /// someone removed from an organisation hears no more of it).
    async fn application_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Application> + use<>, ApiError> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(live_events(ctx).await?.filter_map(move |event| {
            let heard = match &*event {
                domain::live::Event::Application { application, members, volunteer_user_id }
                    if *volunteer_user_id == actor.id || members.contains(&actor.id) =>
                {
                    Some(Application::from(application.clone()))
                }
                _ => None,
            };
            std::future::ready(heard)
        }))
    }
}

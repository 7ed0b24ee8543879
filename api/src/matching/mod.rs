//! Matching: explainable scores for (need, volunteer) pairs, ranked lists for coordinators and volunteers,
//! offers that fit a need, and optimal capacity-aware assignment plans.
//!
//! Volunteers appear in matches with their public profile fields only; the distance shown is measured from
//! their home rounded to about a kilometre, to 0.1 km, so a match never pinpoints where anyone lives.
pub use domain::matching::{assignment, index, plans, scoring, service};

use async_graphql::connection::EmptyFields;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use sea_orm::EntityTrait;

use self::scoring::Evaluation;
use crate::applications::{Application, ApplicationPayload};
use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{db, live_events, live_hub, matching_index, viewer};
use crate::needs::Need;
use crate::offers::Offer;
use crate::volunteers::VolunteerProfile;

crate::graphql_enum! {
    /// A hard constraint of matching.
    pub enum MatchConstraint as scoring::MatchConstraint {
        /// The need is OPEN and has places left.
        NeedOpen => "NEED_OPEN",
        /// The volunteer's DBS check meets the need's safeguarding level and is valid on its start date.
        Safeguarding => "SAFEGUARDING",
        /// The need is within the volunteer's travel radius (or remote).
        Distance => "DISTANCE",
        /// The volunteer's weekly availability overlaps the need's schedule.
        Availability => "AVAILABILITY",
        /// The volunteer has not already applied, been invited or been accepted.
        NotAlreadyApplied => "NOT_ALREADY_APPLIED",
    }
}

crate::graphql_enum! {
    /// A soft factor of the match score.
    pub enum MatchFactor as scoring::MatchFactor {
        Skills => "SKILLS",
        Interest => "INTEREST",
        Distance => "DISTANCE",
        Availability => "AVAILABILITY",
        Languages => "LANGUAGES",
        FewApplicants => "FEW_APPLICANTS",
    }
}

crate::graphql_enum! {
    /// A factor of an offer's fit to a need.
    pub enum OfferFactor as scoring::OfferFactor {
        Kind => "KIND",
        Category => "CATEGORY",
        Distance => "DISTANCE",
        Availability => "AVAILABILITY",
    }
}

/// One factor's part in a match score.
#[derive(SimpleObject)]
pub struct MatchReason {
    pub factor: MatchFactor,
    pub weight: f64,
    /// `weight × value`; a match's contributions add up to its score.
    pub contribution: f64,
    pub explanation: String,
}

/// A hard constraint that excludes a pair.
#[derive(SimpleObject)]
pub struct ConstraintFailure {
    pub constraint: MatchConstraint,
    pub explanation: String,
}

fn reasons(e: &Evaluation) -> Vec<MatchReason> {
    e.reasons
        .iter()
        .map(|r| MatchReason {
            factor: r.factor.into(),
            weight: r.weight,
            contribution: r.contribution,
            explanation: r.explanation.clone(),
        })
        .collect()
}

/// A volunteer who suits a need.
#[derive(SimpleObject)]
pub struct VolunteerMatch {
    pub volunteer: VolunteerProfile,
    pub score: f64,
    /// To 0.1 km, from the volunteer's home rounded to about a kilometre; null for remote needs.
    pub distance_km: Option<f64>,
    pub matched_skills: Vec<String>,
    pub missing_skills: Vec<String>,
    pub overlap_hours_per_week: f64,
    pub reasons: Vec<MatchReason>,
}

/// A need that suits a volunteer.
#[derive(SimpleObject)]
pub struct NeedMatch {
    pub need: Need,
    pub score: f64,
    pub distance_km: Option<f64>,
    pub matched_skills: Vec<String>,
    pub missing_skills: Vec<String>,
    pub overlap_hours_per_week: f64,
    pub reasons: Vec<MatchReason>,
}

#[derive(SimpleObject)]
pub struct OfferMatchReason {
    pub factor: OfferFactor,
    pub weight: f64,
    pub contribution: f64,
    pub explanation: String,
}

/// An offer that fits a need.
#[derive(SimpleObject)]
pub struct OfferMatch {
    pub offer: Offer,
    pub score: f64,
    pub distance_km: Option<f64>,
    pub overlap_hours_per_week: f64,
    pub reasons: Vec<OfferMatchReason>,
}

/// The full breakdown for one (need, volunteer) pair, including the constraints that failed.
#[derive(SimpleObject)]
pub struct MatchExplanation {
    pub need: Need,
    pub volunteer: VolunteerProfile,
    pub eligible: bool,
    pub failed_constraints: Vec<ConstraintFailure>,
    pub score: f64,
    pub reasons: Vec<MatchReason>,
    pub distance_km: Option<f64>,
    pub matched_skills: Vec<String>,
    pub missing_skills: Vec<String>,
    pub overlap_hours_per_week: f64,
}

pub type VolunteerMatchConnection = ListConnection<VolunteerMatch>;
pub type NeedMatchConnection = ListConnection<NeedMatch>;
pub type OfferMatchConnection = ListConnection<OfferMatch>;

const MATCHES_FOR_NEED: &str = "matchesForNeed";
const RECOMMENDED_NEEDS: &str = "recommendedNeeds";
const MATCHING_OFFERS: &str = "matchingOffers";

#[derive(InputObject)]
pub struct ProposeAssignmentsInput {
    /// Plan for every open need of this organisation…
    pub organisation_id: Option<ID>,
    /// …or for these needs (give one of the two).
    pub need_ids: Option<Vec<ID>>,
    #[graphql(default = 1)]
    pub max_needs_per_volunteer: i32,
}

#[derive(InputObject)]
pub struct ProposedAssignmentInput {
    pub need_id: ID,
    /// The volunteer's profile id.
    pub volunteer_id: ID,
}

#[derive(SimpleObject)]
pub struct ProposedAssignment {
    pub need: Need,
    pub volunteer: VolunteerProfile,
    pub score: f64,
}

/// Places a plan leaves empty, and why.
#[derive(SimpleObject)]
pub struct UnmetPlaces {
    pub need: Need,
    pub places: i32,
    pub reason: String,
}

/// An optimal staffing of the needs: every need gets one volunteer before any gets a second (where
/// possible), then the total score is as high as it can be.
#[derive(SimpleObject)]
pub struct AssignmentPlan {
    pub proposals: Vec<ProposedAssignment>,
    pub total_score: f64,
    pub needs_covered: i32,
    pub unmet: Vec<UnmetPlaces>,
}

#[derive(SimpleObject)]
pub struct ConfirmAssignmentsPayload {
    /// The new invitations, each holding a place until the volunteer answers.
    pub applications: Vec<Application>,
}

#[derive(Default)]
pub struct MatchingQuery;

#[Object]
impl MatchingQuery {
    /// Volunteers for a need, best first. Only for members of the need's organisation (and API keys with its
    /// READ_ORGANISATION_MATCHES scope).
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn matches_for_need(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<VolunteerMatchConnection> {
        let (db, viewer) = (db(ctx)?, viewer(ctx)?);
        let need = crate::needs::service::get(db, decode("needId", &need_id, NodeKind::Need)?).await?;
        if !crate::needs::can_see(db, viewer, &need.status, need.organisation_id).await? {
            return Err(AppError::not_found("need").into());
        }
        if !viewer.may_read_matches_of(db, need.organisation_id).await? {
            return Err(AppError::forbidden("only members of the need's organisation can see its matches").into());
        }
        let page = Page::parse(first, after, None, None)?;
        let today = service::today();
        let (facts, rows, total) =
            service::volunteers_for_need(db, matching_index(ctx)?, &need, &page, MATCHES_FOR_NEED, today).await?;
        Ok(connection(rows, TotalCount::known(total), |(score, id, (vf, profile))| {
            let e = scoring::evaluate(&facts, &vf, None, today);
            let node = VolunteerMatch {
                score,
                distance_km: e.distance_km,
                overlap_hours_per_week: e.overlap_hours_per_week,
                reasons: reasons(&e),
                matched_skills: e.matched_skills,
                missing_skills: e.missing_skills,
                volunteer: VolunteerProfile::from(profile),
            };
            (service::rank_cursor(MATCHES_FOR_NEED, score, id), node, EmptyFields)
        }))
    }

    /// Open needs for the signed-in volunteer, best first.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn recommended_needs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<NeedMatchConnection> {
        let (db, viewer) = (db(ctx)?, viewer(ctx)?);
        let actor = viewer.require_user()?;
        let profile = domain::volunteers::require_own(db, &actor).await?;
        let page = Page::parse(first, after, None, None)?;
        let today = service::today();
        let (facts, rows, total) =
            service::needs_for_volunteer(db, matching_index(ctx)?, &profile, &page, RECOMMENDED_NEEDS, today).await?;
        Ok(connection(rows, TotalCount::known(total), |(score, id, (nf, n))| {
            let e = scoring::evaluate(&nf, &facts, None, today);
            let node = NeedMatch {
                score,
                distance_km: e.distance_km,
                overlap_hours_per_week: e.overlap_hours_per_week,
                reasons: reasons(&e),
                matched_skills: e.matched_skills,
                missing_skills: e.missing_skills,
                need: Need::from(n),
            };
            (service::rank_cursor(RECOMMENDED_NEEDS, score, id), node, EmptyFields)
        }))
    }

    /// Active offers (space, introductions, equipment, skills, time) that fit a need, best first.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn matching_offers(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<OfferMatchConnection> {
        let (db, viewer) = (db(ctx)?, viewer(ctx)?);
        let need = crate::needs::service::get(db, decode("needId", &need_id, NodeKind::Need)?).await?;
        if !crate::needs::can_see(db, viewer, &need.status, need.organisation_id).await? {
            return Err(AppError::not_found("need").into());
        }
        let page = Page::parse(first, after, None, None)?;
        let facts = service::need_facts(&(&need).into(), 0);
        let scored: Vec<_> = service::candidate_offers(db, &need)
            .await?
            .into_iter()
            .filter_map(|o| {
                let e = scoring::evaluate_offer(&facts, &service::offer_facts(&o));
                if e.eligible { Some((e.score, o.id, (o, e))) } else { None }
            })
            .collect();
        let (rows, total) = service::rank_page(scored, &page, MATCHING_OFFERS)?;
        Ok(connection(rows, TotalCount::known(total), |(score, id, (o, e))| {
            let node = OfferMatch {
                score,
                distance_km: e.distance_km,
                overlap_hours_per_week: e.overlap_hours_per_week,
                reasons: e
                    .reasons
                    .into_iter()
                    .map(|(factor, weight, contribution, explanation)| OfferMatchReason {
                        factor: factor.into(),
                        weight,
                        contribution,
                        explanation,
                    })
                    .collect(),
                offer: Offer(o),
            };
            (service::rank_cursor(MATCHING_OFFERS, score, id), node, EmptyFields)
        }))
    }

    /// Why a volunteer does or does not match a need. For members of the need's organisation and the
    /// volunteer themselves. `volunteerId` is the VolunteerProfile's id.
    async fn explain_match(&self, ctx: &Context<'_>, need_id: ID, volunteer_id: ID) -> ApiResult<MatchExplanation> {
        let (db, viewer) = (db(ctx)?, viewer(ctx)?);
        let need = crate::needs::service::get(db, decode("needId", &need_id, NodeKind::Need)?).await?;
        let volunteer_id = decode("volunteerId", &volunteer_id, NodeKind::VolunteerProfile)?;
        let profile = entity::volunteer_profile::Entity::find_by_id(volunteer_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::not_found("volunteer"))?;
        let is_volunteer = viewer.user_id() == Some(profile.user_id);
        if !is_volunteer && !viewer.is_member_of(db, need.organisation_id).await? {
            return Err(AppError::forbidden("only the need's organisation and the volunteer can see this").into());
        }
        if is_volunteer && !crate::needs::can_see(db, viewer, &need.status, need.organisation_id).await? {
            return Err(AppError::not_found("need").into());
        }
        if profile.deleted_at.is_some() {
            return Err(AppError::not_found("volunteer").into());
        }
        // The explanation tells the organisation how far away the volunteer is and whether their DBS check suffices.
        crate::audit::viewed(ctx, profile.user_id, "volunteerProfile.dbsCheck")?;
        crate::audit::viewed(ctx, profile.user_id, "volunteerProfile.location")?;
        let active = service::active_applicants(db, &[need.id]).await?;
        let existing = service::applications_to_needs(db, &[need.id]).await?;
        let e = scoring::evaluate(
            &service::need_facts(&(&need).into(), active.get(&need.id).copied().unwrap_or(0)),
            &service::volunteer_facts(&(&profile).into()),
            existing.get(&(need.id, profile.id)).copied(),
            service::today(),
        );
        Ok(MatchExplanation {
            eligible: e.eligible(),
            failed_constraints: e
                .failures
                .iter()
                .map(|f| ConstraintFailure { constraint: f.constraint.into(), explanation: f.explanation.clone() })
                .collect(),
            score: e.score,
            reasons: reasons(&e),
            distance_km: e.distance_km,
            overlap_hours_per_week: e.overlap_hours_per_week,
            matched_skills: e.matched_skills,
            missing_skills: e.missing_skills,
            need: Need::from(need),
            volunteer: VolunteerProfile::from(profile),
        })
    }

    /// An optimal assignment of available volunteers to open needs (a proposal: nothing changes until
    /// `confirmAssignments`). For coordinators of the needs' organisations.
    async fn propose_assignments(
        &self,
        ctx: &Context<'_>,
        input: ProposeAssignmentsInput,
    ) -> ApiResult<AssignmentPlan> {
        propose(ctx, input).await.map_err(ApiError::from)
    }
}

async fn propose(ctx: &Context<'_>, input: ProposeAssignmentsInput) -> Result<AssignmentPlan, AppError> {
    let actor = viewer(ctx)?.require_user()?;
    let scope = match (&input.organisation_id, &input.need_ids) {
        (Some(org), None) => {
            plans::PlanScope::Organisation(decode("input.organisationId", org, NodeKind::Organisation)?)
        }
        (None, Some(ids)) => plans::PlanScope::Needs(
            ids.iter()
                .enumerate()
                .map(|(i, id)| decode(&format!("input.needIds[{i}]"), id, NodeKind::Need))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(AppError::bad_input("input", "give either organisationId or needIds")),
    };
    let plan = plans::propose(db(ctx)?, matching_index(ctx)?, &actor, scope, input.max_needs_per_volunteer).await?;
    Ok(AssignmentPlan {
        proposals: plan
            .proposals
            .into_iter()
            .map(|p| ProposedAssignment {
                need: Need::from(p.need),
                volunteer: VolunteerProfile::from(p.volunteer),
                score: p.score,
            })
            .collect(),
        total_score: plan.total_score,
        needs_covered: i32::try_from(plan.needs_covered).unwrap_or(i32::MAX),
        unmet: plan
            .unmet
            .into_iter()
            .map(|u| UnmetPlaces { need: Need::from(u.need), places: u.places, reason: u.reason })
            .collect(),
    })
}

#[derive(Default)]
pub struct MatchingMutation;

#[Object]
impl MatchingMutation {
    /// Same as the query of that name, for clients that treat planning as an action.
    #[graphql(name = "proposeAssignments")]
    async fn propose_assignments_mutation(
        &self,
        ctx: &Context<'_>,
        input: ProposeAssignmentsInput,
    ) -> ApiResult<AssignmentPlan> {
        propose(ctx, input).await.map_err(ApiError::from)
    }

    /// Turns chosen proposals into INVITED applications, each holding a place; all or nothing.
    async fn confirm_assignments(
        &self,
        ctx: &Context<'_>,
        proposals: Vec<ProposedAssignmentInput>,
    ) -> ApiResult<ConfirmAssignmentsPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let pairs = proposals
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok((
                    decode(&format!("proposals[{i}].needId"), &p.need_id, NodeKind::Need)?,
                    decode(&format!("proposals[{i}].volunteerId"), &p.volunteer_id, NodeKind::VolunteerProfile)?,
                ))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let applications = plans::confirm(db(ctx)?, &actor, &pairs).await?;
        Ok(ConfirmAssignmentsPayload { applications: applications.into_iter().map(Application::from).collect() })
    }

    /// The invited volunteer accepts (keeping the place) or declines (freeing it).
    async fn respond_to_invitation(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        accept: bool,
    ) -> ApiResult<ApplicationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("applicationId", &application_id, NodeKind::Application)?;
        let offer_for = crate::kit::waitlist_offer(ctx)?;
        let (application, need) = plans::respond(db(ctx)?, &actor, id, accept, offer_for).await?;
        Ok(ApplicationPayload { application: Application::from(application), need: Need::from(need) })
    }

    /// Asks an urgent need's matching volunteers in waves (5 at a time by default), best matches first but rotating
    /// and within everyone's weekly cap: the next wave when all of a wave's invitations have been declined or have
    /// lapsed (after `offerMinutes`, 60 by default), until the places are filled. A dispatch's invitations hold no
    /// place: the first to accept take the places. For the need's coordinators.
    async fn dispatch_urgent_need(
        &self,
        ctx: &Context<'_>,
        input: DispatchUrgentNeedInput,
    ) -> ApiResult<DispatchUrgentNeedPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let command = domain::matching::dispatch::StartDispatch {
            need_id: decode("input.needId", &input.need_id, NodeKind::Need)?,
            wave_size: input.wave_size,
            offer_minutes: input.offer_minutes,
        };
        let dispatch =
            domain::matching::dispatch::start(db(ctx)?, matching_index(ctx)?, &actor, command, domain::now()).await?;
        Ok(DispatchUrgentNeedPayload { dispatch: UrgentDispatch(dispatch) })
    }
}

#[derive(InputObject)]
pub struct DispatchUrgentNeedInput {
    pub need_id: ID,
    /// Invitations a wave, 1 to 50 (default 5).
    pub wave_size: Option<i32>,
    /// How long each invitation stays open, 5 to 1,440 minutes (default 60).
    pub offer_minutes: Option<i32>,
}

#[derive(SimpleObject)]
pub struct DispatchUrgentNeedPayload {
    pub dispatch: UrgentDispatch,
}

crate::graphql_enum! {
    pub enum UrgentDispatchStatus as domain::matching::dispatch::DispatchStatus {
        /// Waves go on.
        Active => "ACTIVE",
        /// The need's places were filled.
        Filled => "FILLED",
        /// Nobody eligible was left to ask.
        Exhausted => "EXHAUSTED",
        /// The need closed.
        Stopped => "STOPPED",
    }
}

/// An urgent need's volunteers asked in waves. Seen by the need's organisation's members and platform admins.
pub struct UrgentDispatch(pub entity::urgent_dispatch::Model);

#[Object]
impl UrgentDispatch {
    async fn need(&self, ctx: &Context<'_>) -> ApiResult<Need> {
        let need = crate::kit::boxed(crate::kit::loaders(ctx)?.needs.load_one(self.0.need_id)).await?;
        need.map(Need).ok_or_else(|| AppError::not_found("need")).map_err(ApiError::from)
    }
    async fn status(&self) -> UrgentDispatchStatus {
        UrgentDispatchStatus::from_db(&self.0.status).unwrap_or(UrgentDispatchStatus::Active)
    }
    async fn wave_size(&self) -> i32 {
        self.0.wave_size
    }
    async fn offer_minutes(&self) -> i32 {
        self.0.offer_minutes
    }
    /// Waves sent so far.
    async fn waves(&self) -> i32 {
        self.0.waves
    }
    /// Invitations sent so far, over all waves.
    async fn invitations(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let n = domain::matching::dispatch::invitations_of(db(ctx)?, self.0.id).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    async fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    async fn finished_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.finished_at
    }
}

/// `Need.urgentDispatch`: its latest dispatch, for its organisation's members and platform admins; null otherwise.
pub async fn latest_dispatch(
    ctx: &Context<'_>,
    need_id: uuid::Uuid,
    organisation_id: uuid::Uuid,
) -> ApiResult<Option<UrgentDispatch>> {
    let db = db(ctx)?;
    if !domain::access::may_see_organisation_private(viewer(ctx)?.is_member_of(db, organisation_id).await?) {
        return Ok(None);
    }
    Ok(domain::matching::dispatch::latest_of(db, need_id).await?.map(UrgentDispatch))
}

/// An organisation's outreach between two days: whom it invited to its needs and how evenly, and how many of the
/// volunteers matching finds for its open needs it has never asked.
#[derive(SimpleObject)]
pub struct Outreach {
    /// Invitations made in the span (plans confirmed, offers from waitlists).
    pub invitations: i64,
    /// Distinct volunteers those went to.
    pub volunteers_invited: i64,
    /// Of them, those invited more than once in the span.
    pub volunteers_asked_more_than_once: i64,
    pub most_invitations_to_one_volunteer: i64,
    /// Volunteers eligible today for at least one of its open needs whom it has never invited.
    pub matching_volunteers_never_asked: i64,
}

/// `Organisation.outreach(from, to)`, for its members and platform admins.
pub async fn outreach(
    ctx: &Context<'_>,
    organisation_id: uuid::Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> ApiResult<Outreach> {
    let actor = viewer(ctx)?.require_user()?;
    let o =
        domain::matching::outreach::outreach(db(ctx)?, matching_index(ctx)?, &actor, organisation_id, from, to).await?;
    Ok(Outreach {
        invitations: o.invitations,
        volunteers_invited: o.volunteers_invited,
        volunteers_asked_more_than_once: o.volunteers_asked_more_than_once,
        most_invitations_to_one_volunteer: o.most_invitations_to_one_volunteer,
        matching_volunteers_never_asked: o.matching_volunteers_never_asked,
    })
}

/// Matches as needs are published, over `/graphql/ws`.
#[derive(Default)]
pub struct MatchingSubscription;

#[Subscription]
impl MatchingSubscription {
    /// Needs as they are published that the signed-in volunteer is eligible for and scores at least `minScore`
    /// on (0 to 1; 0 when not given), scored and explained as `recommendedNeeds` would, from the matching index.
    async fn new_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0.0)] min_score: f64,
    ) -> Result<impl Stream<Item = NeedMatch> + use<>, ApiError> {
        if !(0.0..=1.0).contains(&min_score) {
            return Err(AppError::bad_input("minScore", "must be between 0 and 1").into());
        }
        let actor = viewer(ctx)?.require_user()?;
        let profile = domain::volunteers::require_own(db(ctx)?, &actor).await?;
        let me = profile.id;
        // Explained with the index's facts of the volunteer, as scored; these if the index has moved on since.
        let own_facts = service::volunteer_facts(&(&profile).into());
        let index = ctx.data::<Arc<index::MatchingIndex>>().map_err(|_| crate::kit::missing("matching index"))?.clone();
        // Publications are scored for every volunteer at once, and only while someone listens.
        let listening = live_hub(ctx)?.want_matches(me);
        Ok(live_events(ctx).await?.filter_map(move |event| {
            let _listening = &listening;
            let found = match &*event {
                domain::live::Event::Need { published: true, need, matches: Some(matches) } => {
                    let domain::live::Matches { facts, scores, today } = matches;
                    scores.get(&me).filter(|(score, _)| *score >= min_score).map(|(score, slot)| {
                        let view = index.read();
                        let volunteer = view.volunteer(*slot).filter(|v| v.id == me).map_or(&own_facts, |v| &v.facts);
                        let e = scoring::evaluate(facts, volunteer, None, *today);
                        NeedMatch {
                            score: *score,
                            distance_km: e.distance_km,
                            overlap_hours_per_week: e.overlap_hours_per_week,
                            reasons: reasons(&e),
                            matched_skills: e.matched_skills,
                            missing_skills: e.missing_skills,
                            need: Need::from(need.clone()),
                        }
                    })
                }
                _ => None,
            };
            std::future::ready(found)
        }))
    }
}

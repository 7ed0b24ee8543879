//! Needs: what organisations need people (or space, or introductions) for, and the public listing.
pub use domain::needs::service;

pub mod sessions;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access;
use domain::store::rows::Read;
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;

use crate::applications::{Application, ApplicationConnection, ApplicationStatus};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::enums::Weekday;
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::loaders::{ChildFilter, ChildRelation, child_connection};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::patch;
use crate::kit::{
    Location, LocationInput, NearInput, boxed, db, live_events, loaders, parse_location, reads, shown, viewer,
};
use crate::organisations::Organisation;
use crate::values::TimeWindow;
use crate::values::text::json_strings;
use crate::volunteers::DbsLevel;
use domain::needs::NeedId;
use domain::needs::service::{NeedPatch, NewNeed, Schedule};
use domain::organisations::OrganisationId;
use domain::values::{Coordinates, Patch, Postcode};

crate::graphql_enum! {
    pub enum NeedCategory as domain::needs::NeedCategory {
        EnglishClasses => "ENGLISH_CLASSES",
        JobsClub => "JOBS_CLUB",
        YouthClub => "YOUTH_CLUB",
        ItSkills => "IT_SKILLS",
        Mentoring => "MENTORING",
        Intergenerational => "INTERGENERATIONAL",
        EmploymentSupport => "EMPLOYMENT_SUPPORT",
        Befriending => "BEFRIENDING",
        FoodAndEssentials => "FOOD_AND_ESSENTIALS",
        CommunitySafety => "COMMUNITY_SAFETY",
        Environment => "ENVIRONMENT",
        Housing => "HOUSING",
        Fundraising => "FUNDRAISING",
        Premises => "PREMISES",
        Other => "OTHER",
    }
}

crate::graphql_enum! {
    pub enum NeedStatus as domain::needs::NeedStatus {
        /// Being written; only the organisation's members see it.
        Draft => "DRAFT",
        /// Published and taking applications.
        Open => "OPEN",
        /// Every place is taken; reopens by itself when a place frees up.
        Filled => "FILLED",
        Closed => "CLOSED",
    }
}

crate::graphql_enum! {
    pub enum SignupMode as domain::needs::SignupMode {
        /// Accepted volunteers come to every session.
        Ongoing => "ONGOING",
        /// Accepted volunteers sign up session by session (`signUpForSession`), up to `sessionCapacity` a session.
        PerSession => "PER_SESSION",
    }
}

crate::graphql_enum! {
    pub enum NeedOrder as domain::needs::NeedOrder {
        /// Most recently posted first.
        Newest => "NEWEST",
        /// Earliest start date first; needs without a start date last.
        Soonest => "SOONEST",
        /// Closest to `filter.near` first (requires `filter.near`).
        Nearest => "NEAREST",
    }
}

/// Whether the caller may see a need, of this status and organisation, at all.
pub async fn can_see(
    db: &DatabaseConnection,
    viewer: &Viewer,
    status: &str,
    organisation_id: uuid::Uuid,
) -> AppResult<bool> {
    let status = domain::needs::NeedStatus::from_db(status).unwrap_or(domain::needs::NeedStatus::Draft);
    // Memberships are read only for a draft.
    Ok(access::may_see_need(status, false)
        || access::may_see_need(status, viewer.is_member_of(db, organisation_id).await?))
}

pub struct Need(pub Read<entity::need::Model>);

/// A page of an organisation's or a project's needs (`relation` says which, `parent` is its id), newest first;
/// drafts only for members of `organisation_id`.
pub async fn child_needs(
    ctx: &Context<'_>,
    relation: ChildRelation,
    parent: uuid::Uuid,
    organisation_id: uuid::Uuid,
    status: Option<NeedStatus>,
    page: Page,
) -> ApiResult<NeedConnection> {
    let member = viewer(ctx)?.is_member_of(db(ctx)?, organisation_id).await?;
    let statuses = access::visible_statuses(status.map(Into::into), member);
    let filter = ChildFilter { statuses: Some(statuses.iter().map(|s| s.as_db().to_owned()).collect()) };
    let loader = match relation {
        ChildRelation::ProjectNeeds => &loaders(ctx)?.project_needs,
        ChildRelation::OrganisationNeeds => &loaders(ctx)?.organisation_needs,
        other => return Err(AppError::internal(format!("{other:?} does not list needs")).into()),
    };
    child_connection(loader, relation, parent, filter, page, false, |n| (Need(n), NeedEdgeFields { distance_km: None }))
        .await
        .map_err(ApiError::from)
}

/// Extra fields on a need's edge in a listing.
#[derive(SimpleObject)]
pub struct NeedEdgeFields {
    /// Kilometres from `filter.near`, when the listing was searched near a place.
    pub distance_km: Option<f64>,
}

pub type NeedConnection = ListConnection<Need, NeedEdgeFields>;

/// A weekly time window such as Tuesdays 19:00–21:00.
#[derive(SimpleObject)]
#[graphql(name = "TimeWindow")]
pub struct TimeWindowView {
    pub day: Weekday,
    /// 24-hour `HH:MM`.
    pub start: String,
    /// 24-hour `HH:MM`; `24:00` is the end of the day.
    pub end: String,
}

impl From<TimeWindow> for TimeWindowView {
    fn from(w: TimeWindow) -> Self {
        Self { day: w.day.into(), start: TimeWindow::format_minutes(w.start), end: TimeWindow::format_minutes(w.end) }
    }
}

#[derive(InputObject, Clone)]
pub struct TimeWindowInput {
    pub day: Weekday,
    /// 24-hour `HH:MM`, e.g. `19:00`.
    pub start: String,
    /// 24-hour `HH:MM`, after `start`; `24:00` for the end of the day.
    pub end: String,
}

impl TimeWindowInput {
    pub fn parse_all(field: &str, windows: &[TimeWindowInput]) -> AppResult<Vec<TimeWindow>> {
        let raw: Vec<_> = windows.iter().map(|w| (w.day.into(), w.start.clone(), w.end.clone())).collect();
        TimeWindow::parse_all(field, &raw)
    }
}

impl ScheduleInput {
    pub fn parse(&self, field: &str) -> AppResult<Schedule> {
        Ok(Schedule {
            weekly: TimeWindowInput::parse_all(&format!("{field}.weekly"), &self.weekly)?,
            start_date: self.start_date,
            end_date: self.end_date,
        })
    }
}

/// When a need happens: weekly windows, and/or a date range. A one-off need has `startDate == endDate`.
#[derive(SimpleObject)]
pub struct NeedSchedule {
    pub weekly: Vec<TimeWindowView>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

#[derive(InputObject, Clone, Default)]
pub struct ScheduleInput {
    #[graphql(default)]
    pub weekly: Vec<TimeWindowInput>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

impl From<entity::need::Model> for Need {
    fn from(need: entity::need::Model) -> Self {
        Self(Read::whole(need))
    }
}

#[Object]
impl Need {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Need, *self.0.id())
    }
    /// Its sessions starting from `from` until `to` (at most a year), by start: the occurrences of its weekly
    /// windows between its start and end dates, on the wall clock in Europe/London; cancelled ones marked. Costed
    /// as a list of 50.
    #[graphql(complexity = "crate::kit::limits::page_cost(Some(50), None, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<sessions::Session>> {
        sessions::of_need(ctx, &self.0, from, to).await
    }
    /// Its latest urgent dispatch (`dispatchUrgentNeed`), for its organisation's members and platform admins; null
    /// for everyone else.
    async fn urgent_dispatch(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::matching::UrgentDispatch>> {
        crate::matching::latest_dispatch(ctx, *self.0.id(), *self.0.organisation_id()).await
    }
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let loaders = loaders(ctx)?;
        let id = *self.0.organisation_id();
        // Usually joined with the listing's page: then no trip through the loader for each need.
        let org = match loaders.joined_organisations.get(id) {
            Some(org) => Some(Read::clone(&org)),
            None => boxed(loaders.organisations.load_one(id)).await?,
        };
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn title(&self) -> ApiResult<&str> {
        Ok(self.0.title()?)
    }
    async fn description(&self) -> ApiResult<&str> {
        Ok(self.0.description()?)
    }
    async fn category(&self) -> ApiResult<NeedCategory> {
        Ok(NeedCategory::from_db(self.0.category()?).unwrap_or(NeedCategory::Other))
    }
    /// Normalised skill tags (lower case).
    async fn required_skills(&self) -> ApiResult<Vec<String>> {
        Ok(json_strings(self.0.required_skills()?))
    }
    /// Languages that help in this role (lower case).
    async fn languages(&self) -> ApiResult<Vec<String>> {
        Ok(json_strings(self.0.languages()?))
    }
    /// The DBS check level the role needs.
    async fn safeguarding(&self) -> ApiResult<DbsLevel> {
        Ok(DbsLevel::from_db(self.0.safeguarding()?).unwrap_or(DbsLevel::None))
    }
    async fn schedule(&self) -> ApiResult<NeedSchedule> {
        Ok(NeedSchedule {
            weekly: TimeWindow::from_json(self.0.weekly_schedule()?).into_iter().map(Into::into).collect(),
            start_date: *self.0.start_date(),
            end_date: *self.0.end_date()?,
        })
    }
    async fn location(&self) -> ApiResult<Option<Location>> {
        Ok(Location::from_stored(*self.0.lat()?, *self.0.lng()?))
    }
    async fn postcode(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.postcode()?.as_deref())
    }
    async fn remote(&self) -> ApiResult<bool> {
        Ok(*self.0.remote()?)
    }
    async fn volunteers_needed(&self) -> ApiResult<i32> {
        Ok(*self.0.volunteers_needed()?)
    }
    /// Accepted volunteers, plus invitations awaiting an answer (they hold a place).
    async fn places_taken(&self) -> ApiResult<i32> {
        Ok(*self.0.places_taken()?)
    }
    async fn places_left(&self) -> ApiResult<i32> {
        Ok((self.0.volunteers_needed()? - self.0.places_taken()?).max(0))
    }
    /// How many applications may wait for a place when it is full (as many again as its places unless the
    /// organisation set another number).
    async fn waitlist_cap(&self) -> ApiResult<i32> {
        Ok(self.0.waitlist_cap()?.unwrap_or(*self.0.volunteers_needed()?))
    }
    /// Volunteers need a DBS check verified by the need's organisation (`verifyDbsCheck`) at its `safeguarding`
    /// level (at least BASIC): matching offers no one else, and acceptance refuses them.
    async fn safeguarding_verified(&self) -> bool {
        *self.0.safeguarding_verified()
    }
    async fn signup_mode(&self) -> SignupMode {
        SignupMode::from_db(self.0.signup_mode()).unwrap_or(SignupMode::Ongoing)
    }
    /// How many may sign up for one session when it takes sign-ups per session; `null` otherwise.
    async fn session_capacity(&self) -> ApiResult<Option<i32>> {
        Ok(domain::needs::sessions::capacity_of(
            self.0.signup_mode(),
            *self.0.session_capacity(),
            *self.0.volunteers_needed()?,
        ))
    }
    async fn status(&self) -> NeedStatus {
        NeedStatus::from_db(self.0.status()).unwrap_or(NeedStatus::Closed)
    }
    async fn published_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(*self.0.published_at()?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        *self.0.created_at()
    }
    async fn updated_at(&self) -> ApiResult<DateTime<Utc>> {
        Ok(*self.0.updated_at()?)
    }

    /// The project it is part of, if any.
    async fn project(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::projects::Project>> {
        let Some(id) = *self.0.project_id() else { return Ok(None) };
        Ok(boxed(loaders(ctx)?.projects.load_one(id)).await?.map(crate::projects::Project))
    }
    /// The partnership priorities it serves.
    async fn priorities(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::partnerships::Priority>> {
        let tied = boxed(loaders(ctx)?.need_priorities.load_one(*self.0.id())).await?.unwrap_or_default();
        Ok(tied.iter().cloned().map(crate::partnerships::Priority).collect())
    }

    /// Applications to this need, newest first. Only for the organisation's members and platform admins.
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
        if !access::may_see_organisation_private(viewer(ctx)?.is_member_of(db(ctx)?, *self.0.organisation_id()).await?)
        {
            return Err(AppError::forbidden("only members of this organisation can see its applications").into());
        }
        let filter = ChildFilter { statuses: status.map(|s| vec![s.as_db().to_owned()]) };
        let page = Page::parse(first, after, last, before)?;
        // Applications showing their volunteers read them in the same statement.
        let look = ctx.look_ahead();
        let with_volunteers = look.field("edges").field("node").field("volunteer").exists()
            || look.field("nodes").field("volunteer").exists();
        child_connection(
            &loaders(ctx)?.need_applications,
            ChildRelation::NeedApplications,
            *self.0.id(),
            filter,
            page,
            with_volunteers,
            |a| (Application(a), async_graphql::connection::EmptyFields),
        )
        .await
        .map_err(ApiError::from)
    }
}

#[derive(InputObject)]
pub struct CreateNeedInput {
    pub organisation_id: ID,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    pub category: NeedCategory,
    #[graphql(default)]
    pub required_skills: Vec<String>,
    #[graphql(default)]
    pub languages: Vec<String>,
    #[graphql(default_with = "DbsLevel::None")]
    pub safeguarding: DbsLevel,
    pub schedule: Option<ScheduleInput>,
    /// Required unless `remote` is true.
    pub location: Option<LocationInput>,
    pub postcode: Option<String>,
    #[graphql(default)]
    pub remote: bool,
    #[graphql(default = 1)]
    pub volunteers_needed: i32,
    /// One of the organisation's projects that this need is part of.
    pub project_id: Option<ID>,
    /// Partnership priorities it serves (active ones; at most 10).
    #[graphql(default)]
    pub priority_ids: Vec<ID>,
    /// How many applications may wait for a place when it is full, 0 to 1,000; left out: as many again as its
    /// places.
    pub waitlist_cap: Option<i32>,
    /// ONGOING (the default): accepted volunteers come to every session. PER_SESSION: they sign up session by session.
    #[graphql(default_with = "SignupMode::Ongoing")]
    pub signup_mode: SignupMode,
    /// Volunteers need a DBS check verified by the organisation.
    #[graphql(default)]
    pub safeguarding_verified: bool,
    /// PER_SESSION: how many may sign up for one session, 1 to 1,000; left out: `volunteersNeeded`.
    pub session_capacity: Option<i32>,
}

/// Fields left out are unchanged; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateNeedInput {
    pub need_id: ID,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<NeedCategory>,
    pub required_skills: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub safeguarding: Option<DbsLevel>,
    pub schedule: MaybeUndefined<ScheduleInput>,
    pub location: MaybeUndefined<LocationInput>,
    pub postcode: MaybeUndefined<String>,
    pub remote: Option<bool>,
    /// Cannot go below the number of volunteers already accepted.
    pub volunteers_needed: Option<i32>,
    /// `null` takes the need out of its project.
    pub project_id: MaybeUndefined<ID>,
    /// Replaces the list.
    pub priority_ids: Option<Vec<ID>>,
    /// `null`: as many again as its places. Those already waiting keep their place in line.
    pub waitlist_cap: MaybeUndefined<i32>,
    pub signup_mode: Option<SignupMode>,
    /// Volunteers already accepted stay; new acceptances need a verified check.
    pub safeguarding_verified: Option<bool>,
    /// `null`: `volunteersNeeded`. Sign-ups already made stay.
    pub session_capacity: MaybeUndefined<i32>,
}

impl CreateNeedInput {
    /// The command this input asks for: ids decoded, places and schedule parsed (text is checked by the service).
    pub fn parse(self) -> AppResult<NewNeed> {
        Ok(NewNeed {
            organisation_id: OrganisationId(decode(
                "input.organisationId",
                &self.organisation_id,
                NodeKind::Organisation,
            )?),
            title: self.title,
            description: self.description,
            category: self.category.into(),
            required_skills: self.required_skills,
            languages: self.languages,
            safeguarding: self.safeguarding.into(),
            schedule: self.schedule.map(|s| s.parse("input.schedule")).transpose()?.unwrap_or_default(),
            location: parse_location(self.location.as_ref())?,
            postcode: Postcode::parse_optional("input.postcode", self.postcode.as_deref())?,
            remote: self.remote,
            volunteers_needed: self.volunteers_needed,
            project_id: self.project_id.map(|id| decode("input.projectId", &id, NodeKind::Project)).transpose()?,
            priority_ids: crate::partnerships::priority_ids("input.priorityIds", &self.priority_ids)?,
            waitlist_cap: self.waitlist_cap,
            signup_mode: self.signup_mode.into(),
            session_capacity: self.session_capacity,
            safeguarding_verified: self.safeguarding_verified,
        })
    }
}

impl UpdateNeedInput {
    pub fn parse(self) -> AppResult<(NeedId, NeedPatch)> {
        let id = NeedId(decode("input.needId", &self.need_id, NodeKind::Need)?);
        let patch = NeedPatch {
            title: self.title,
            description: self.description,
            category: self.category.map(Into::into),
            required_skills: self.required_skills,
            languages: self.languages,
            safeguarding: self.safeguarding.map(Into::into),
            schedule: patch(self.schedule).try_map(|s| s.parse("input.schedule"))?,
            location: patch(self.location).try_map(|l| Coordinates::new("input.location", l.lat, l.lng))?,
            postcode: match self.postcode {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(p) => Patch::from_optional(Postcode::parse_optional("input.postcode", Some(&p))?),
            },
            remote: self.remote,
            volunteers_needed: self.volunteers_needed,
            project_id: patch(self.project_id).try_map(|id| decode("input.projectId", &id, NodeKind::Project))?,
            priority_ids: self
                .priority_ids
                .map(|ids| crate::partnerships::priority_ids("input.priorityIds", &ids))
                .transpose()?,
            waitlist_cap: patch(self.waitlist_cap),
            signup_mode: self.signup_mode.map(Into::into),
            safeguarding_verified: self.safeguarding_verified,
            session_capacity: patch(self.session_capacity),
        };
        Ok((id, patch))
    }
}

impl NeedFilter {
    pub fn parse(self) -> AppResult<service::NeedFilter> {
        Ok(service::NeedFilter {
            categories: self.categories.map(|c| c.into_iter().map(Into::into).collect()),
            status: self.status.map(Into::into),
            organisation_id: self
                .organisation_id
                .map(|id| decode("filter.organisationId", &id, NodeKind::Organisation).map(OrganisationId))
                .transpose()?,
            skills: self.skills,
            text: self.text,
            near: self.near.map(|n| n.parse("filter.near")).transpose()?,
            remote: self.remote,
        })
    }
}

#[derive(InputObject)]
pub struct PublishNeedInput {
    pub need_id: ID,
}

#[derive(InputObject)]
pub struct CloseNeedInput {
    pub need_id: ID,
}

#[derive(InputObject, Default)]
pub struct NeedFilter {
    pub categories: Option<Vec<NeedCategory>>,
    /// Without it, every status the caller may see (drafts only for members).
    pub status: Option<NeedStatus>,
    pub organisation_id: Option<ID>,
    /// Needs that require any of these skills.
    pub skills: Option<Vec<String>>,
    /// Words to find in the title or description.
    pub text: Option<String>,
    /// In-person needs within a radius of a point.
    pub near: Option<NearInput>,
    pub remote: Option<bool>,
}

#[derive(SimpleObject)]
pub struct NeedPayload {
    pub need: Need,
}

#[derive(Default)]
pub struct NeedQuery;

#[Object]
impl NeedQuery {
    /// One need; null if it does not exist or is a draft the caller may not see.
    async fn need(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Need>> {
        let id = crate::kit::ids::decode("id", &id, NodeKind::Need)?;
        match loaders(ctx)?.needs.load_one(id).await? {
            Some(n) if can_see(db(ctx)?, viewer(ctx)?, n.status(), *n.organisation_id()).await? => Ok(Some(Need(n))),
            _ => Ok(None),
        }
    }

    /// Needs, filtered and ordered; `distanceKm` is set on each edge when `filter.near` is given.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<NeedFilter>,
        #[graphql(default_with = "Some(NeedOrder::Newest)")] order_by: Option<NeedOrder>,
    ) -> ApiResult<NeedConnection> {
        let page = Page::parse(first, after, last, before)?;
        let order = order_by.unwrap_or(NeedOrder::Newest);
        // A listing showing each need's organisation gets them in the same statement, for the organisation loader.
        let look = ctx.look_ahead();
        let with_organisations = look.field("edges").field("node").field("organisation").exists()
            || look.field("nodes").field("organisation").exists();
        let filter = filter.unwrap_or_default().parse()?;
        let listed =
            service::list(reads(ctx)?, viewer(ctx)?, filter, order.into(), &page, with_organisations, &shown(ctx))
                .await?;
        if !listed.organisations.is_empty() {
            loaders(ctx)?.joined_organisations.keep(listed.organisations.into_iter().map(|o| (*o.id(), o)));
        }
        Ok(connection(listed.rows, TotalCount::of(listed.count), |row| {
            (row.cursor, Need(row.need), NeedEdgeFields { distance_km: row.distance_km })
        }))
    }
}

#[derive(Default)]
pub struct NeedMutation;

#[Object]
impl NeedMutation {
    /// Posts a need as a DRAFT; `publishNeed` opens it.
    async fn create_need(&self, ctx: &Context<'_>, input: CreateNeedInput) -> ApiResult<NeedPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(NeedPayload { need: Need::from(service::create(db(ctx)?, &actor, input.parse()?).await?) })
    }

    async fn update_need(&self, ctx: &Context<'_>, input: UpdateNeedInput) -> ApiResult<NeedPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (id, patch) = input.parse()?;
        Ok(NeedPayload { need: Need::from(service::update(db(ctx)?, &actor, id, patch).await?) })
    }

    /// Opens a draft or closed need for applications. Publishing an open need changes nothing.
    async fn publish_need(&self, ctx: &Context<'_>, input: PublishNeedInput) -> ApiResult<NeedPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = NeedId(decode("input.needId", &input.need_id, NodeKind::Need)?);
        Ok(NeedPayload { need: Need::from(service::publish(db(ctx)?, &actor, id).await?) })
    }

    /// Stops taking applications. Accepted volunteers keep their places.
    async fn close_need(&self, ctx: &Context<'_>, input: CloseNeedInput) -> ApiResult<NeedPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = NeedId(decode("input.needId", &input.need_id, NodeKind::Need)?);
        Ok(NeedPayload { need: Need::from(service::close(db(ctx)?, &actor, id).await?) })
    }
}

/// Needs as they change, over `/graphql/ws`.
#[derive(Default)]
pub struct NeedSubscription;

#[Subscription]
impl NeedSubscription {
    /// Needs as they are published (or published again after closing) that the listing with `filter` would show,
    /// `near` included. Anyone may subscribe.
    async fn need_published(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
    ) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let backend = sea_orm::ConnectionTrait::get_database_backend(db(ctx)?);
        let watch = domain::live::NeedWatch::new(filter.unwrap_or_default().parse()?, backend)?;
        Ok(live_events(ctx).await?.filter_map(move |event| {
            let need = match &*event {
                domain::live::Event::Need { published: true, need, .. } if watch.admits(need) => {
                    Some(Need::from(need.clone()))
                }
                _ => None,
            };
            std::future::ready(need)
        }))
    }

    /// One need as it changes: its text, its places left, its status (filled, closed, published again). Anyone
    /// who may see the need; NOT_FOUND otherwise, as `need(id)` finds nothing.
    async fn need_updated(&self, ctx: &Context<'_>, need_id: ID) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let id = decode("needId", &need_id, NodeKind::Need)?;
        let need = service::get(db(ctx)?, id).await?;
        if !can_see(db(ctx)?, viewer(ctx)?, &need.status, need.organisation_id).await? {
            return Err(AppError::not_found("need").into());
        }
        Ok(live_events(ctx).await?.filter_map(move |event| {
            let need = match &*event {
                domain::live::Event::Need { need, .. } if need.id == id => Some(Need::from(need.clone())),
                _ => None,
            };
            std::future::ready(need)
        }))
    }
}

//! Projects: what organisations run and what gets funded. Public; written by the organisation's coordinators.
use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::projects::service::{self, AgeRange, NewProject, Place, ProjectPatch};
use domain::values::{Coordinates, Patch, Postcode};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::loaders::{ChildFilter, ChildRelation, child_connection};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{Location, LocationInput, NearInput, boxed, db, loaders, parse_location, patch, viewer};
use crate::needs::{NeedCategory, NeedConnection, NeedSchedule, NeedStatus, ScheduleInput};
use crate::organisations::Organisation;
use crate::partnerships::{Priority, priority_ids};
use crate::values::TimeWindow;
use crate::values::text::json_strings;
use crate::wards::Ward;

crate::graphql_enum! {
    pub enum ProjectStatus as domain::projects::ProjectStatus {
        /// Planned, perhaps looking for money.
        Proposed => "PROPOSED",
        /// Running.
        Active => "ACTIVE",
        /// Done (a repaint finished, a defibrillator installed).
        Completed => "COMPLETED",
        /// Stopped.
        Closed => "CLOSED",
    }
}

/// An organisation's project.
pub struct Project(pub entity::project::Model);

/// Ages a project is for, in whole years; either end may be open.
#[derive(SimpleObject)]
pub struct AgeRangeView {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

#[Object]
impl Project {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Project, self.0.id)
    }
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = boxed(loaders(ctx)?.organisations.load_one(self.0.organisation_id)).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// A line or two for listings.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn category(&self) -> NeedCategory {
        NeedCategory::from_db(&self.0.category).unwrap_or(NeedCategory::Other)
    }
    async fn location(&self) -> Option<Location> {
        Location::from_stored(self.0.lat, self.0.lng)
    }
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// The ward it happens in, if it is in one.
    async fn ward(&self, ctx: &Context<'_>) -> ApiResult<Option<Ward>> {
        let Some(id) = self.0.ward_id else { return Ok(None) };
        Ok(boxed(loaders(ctx)?.wards.load_one(id)).await?.map(Ward))
    }
    /// Serves a whole area rather than one place.
    async fn area_wide(&self) -> bool {
        self.0.area_wide
    }
    /// Who it helps, in the organisation's words.
    async fn beneficiaries(&self) -> &str {
        &self.0.beneficiaries
    }
    /// The ages it is for, if it says.
    async fn age_range(&self) -> Option<AgeRangeView> {
        (self.0.min_age.is_some() || self.0.max_age.is_some())
            .then(|| AgeRangeView { min: self.0.min_age.map(i32::from), max: self.0.max_age.map(i32::from) })
    }
    /// Languages it is run in (lower case).
    async fn languages(&self) -> Vec<String> {
        json_strings(&self.0.languages)
    }
    /// When people attend it, for a service such as a class or a club.
    async fn schedule(&self) -> NeedSchedule {
        NeedSchedule {
            weekly: TimeWindow::from_json(&self.0.weekly_schedule).into_iter().map(Into::into).collect(),
            start_date: self.0.start_date,
            end_date: self.0.end_date,
        }
    }
    async fn status(&self) -> ProjectStatus {
        ProjectStatus::from_db(&self.0.status).unwrap_or(ProjectStatus::Closed)
    }
    /// The partnership priorities it addresses.
    async fn priorities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Priority>> {
        let tied = boxed(loaders(ctx)?.project_priorities.load_one(self.0.id)).await?.unwrap_or_default();
        Ok(tied.iter().cloned().map(Priority).collect())
    }
    /// Its needs, newest first. Drafts only for the organisation's members.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<NeedStatus>,
    ) -> ApiResult<NeedConnection> {
        let page = Page::parse(first, after, last, before)?;
        crate::needs::child_needs(ctx, ChildRelation::ProjectNeeds, self.0.id, self.0.organisation_id, status, page)
            .await
    }
    /// Its bids for money, newest first: approved grants for everyone, the rest for those who may see them.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn bids(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::funding::BidConnection> {
        let filter = domain::funding::bids::BidFilter { project_id: Some(self.0.id), ..Default::default() };
        crate::funding::bid_page(ctx, filter, first, after).await
    }
    /// Its crowdfunding campaigns, newest first: launched ones for everyone, drafts for its organisation's members.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::funding::campaigns::CampaignConnection> {
        let filter = domain::funding::campaigns::CampaignFilter { project_id: Some(self.0.id), ..Default::default() };
        crate::funding::campaigns::campaign_page(ctx, filter, first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub type ProjectConnection = ListConnection<Project>;

#[derive(InputObject, Clone, Copy)]
pub struct AgeRangeInput {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

impl AgeRangeInput {
    fn parse(self) -> AppResult<AgeRange> {
        let age = |field: &str, v: Option<i32>| {
            v.map(|v| i16::try_from(v).map_err(|_| AppError::bad_input(field, "must be between 0 and 120"))).transpose()
        };
        Ok(AgeRange { min: age("input.ageRange.min", self.min)?, max: age("input.ageRange.max", self.max)? })
    }
}

fn ward_id(field: &str, id: &ID) -> AppResult<Uuid> {
    decode(field, id, NodeKind::Ward)
}

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub organisation_id: ID,
    pub title: String,
    /// A line or two for listings (up to 280 characters).
    #[graphql(default)]
    pub summary: String,
    #[graphql(default)]
    pub description: String,
    pub category: NeedCategory,
    /// Where it happens; a project needs a location or a ward unless `areaWide`.
    pub location: Option<LocationInput>,
    pub postcode: Option<String>,
    pub ward_id: Option<ID>,
    #[graphql(default)]
    pub area_wide: bool,
    /// Who it helps, in your words.
    #[graphql(default)]
    pub beneficiaries: String,
    pub age_range: Option<AgeRangeInput>,
    #[graphql(default)]
    pub languages: Vec<String>,
    /// When people attend it (weekly windows), for a class, a club or a drop-in.
    pub schedule: Option<ScheduleInput>,
    #[graphql(default_with = "ProjectStatus::Proposed")]
    pub status: ProjectStatus,
    /// Partnership priorities it addresses (active ones; at most 10).
    #[graphql(default)]
    pub priority_ids: Vec<ID>,
}

impl CreateProjectInput {
    pub fn parse(self) -> AppResult<NewProject> {
        Ok(NewProject {
            organisation_id: decode("input.organisationId", &self.organisation_id, NodeKind::Organisation)?,
            title: self.title,
            summary: self.summary,
            description: self.description,
            category: self.category.into(),
            place: Place {
                location: parse_location(self.location.as_ref())?,
                postcode: Postcode::parse_optional("input.postcode", self.postcode.as_deref())?,
                ward_id: self.ward_id.as_ref().map(|id| ward_id("input.wardId", id)).transpose()?,
                area_wide: self.area_wide,
            },
            beneficiaries: self.beneficiaries,
            ages: self.age_range.map(AgeRangeInput::parse).transpose()?.unwrap_or_default(),
            languages: self.languages,
            schedule: self.schedule.map(|s| s.parse("input.schedule")).transpose()?.unwrap_or_default(),
            status: self.status.into(),
            priority_ids: priority_ids("input.priorityIds", &self.priority_ids)?,
        })
    }
}

/// Fields left out are unchanged; `null` clears an optional field; `priorityIds` replaces the list.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub project_id: ID,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub category: Option<NeedCategory>,
    pub location: MaybeUndefined<LocationInput>,
    pub postcode: MaybeUndefined<String>,
    pub ward_id: MaybeUndefined<ID>,
    pub area_wide: Option<bool>,
    pub beneficiaries: Option<String>,
    pub age_range: MaybeUndefined<AgeRangeInput>,
    pub languages: Option<Vec<String>>,
    pub schedule: MaybeUndefined<ScheduleInput>,
    pub status: Option<ProjectStatus>,
    pub priority_ids: Option<Vec<ID>>,
}

impl UpdateProjectInput {
    pub fn parse(self) -> AppResult<(Uuid, ProjectPatch)> {
        let id = decode("input.projectId", &self.project_id, NodeKind::Project)?;
        let patch = ProjectPatch {
            title: self.title,
            summary: self.summary,
            description: self.description,
            category: self.category.map(Into::into),
            location: patch(self.location).try_map(|l| Coordinates::new("input.location", l.lat, l.lng))?,
            postcode: match self.postcode {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(p) => Patch::from_optional(Postcode::parse_optional("input.postcode", Some(&p))?),
            },
            ward_id: patch(self.ward_id).try_map(|id| ward_id("input.wardId", &id))?,
            area_wide: self.area_wide,
            beneficiaries: self.beneficiaries,
            ages: match self.age_range {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(AgeRange::default()),
                MaybeUndefined::Value(range) => Some(range.parse()?),
            },
            languages: self.languages,
            schedule: patch(self.schedule).try_map(|s| s.parse("input.schedule"))?,
            status: self.status.map(Into::into),
            priority_ids: self.priority_ids.map(|ids| priority_ids("input.priorityIds", &ids)).transpose()?,
        };
        Ok((id, patch))
    }
}

#[derive(InputObject, Default)]
pub struct ProjectFilter {
    pub organisation_id: Option<ID>,
    /// Projects in the partnership's wards, or addressing one of its priorities.
    pub partnership_id: Option<ID>,
    pub ward_id: Option<ID>,
    pub categories: Option<Vec<NeedCategory>>,
    /// Projects addressing any of these priorities.
    pub priority_ids: Option<Vec<ID>>,
    pub status: Option<ProjectStatus>,
    /// Projects with a location within a radius of a point.
    pub near: Option<NearInput>,
}

impl ProjectFilter {
    fn parse(self) -> AppResult<service::ProjectFilter> {
        let organisation =
            |field: &str, id: Option<ID>| id.map(|id| decode(field, &id, NodeKind::Organisation)).transpose();
        Ok(service::ProjectFilter {
            organisation_id: organisation("filter.organisationId", self.organisation_id)?,
            partnership_id: organisation("filter.partnershipId", self.partnership_id)?,
            ward_id: self.ward_id.map(|id| ward_id("filter.wardId", &id)).transpose()?,
            categories: self.categories.map(|c| c.into_iter().map(Into::into).collect()),
            priority_ids: self.priority_ids.map(|ids| priority_ids("filter.priorityIds", &ids)).transpose()?,
            status: self.status.map(Into::into),
            near: self.near.map(|n| n.parse("filter.near")).transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct ProjectPayload {
    pub project: Project,
}

/// An organisation's projects, newest first (for `Organisation.projects`).
pub async fn of_organisation(
    ctx: &Context<'_>,
    organisation_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<ProjectConnection> {
    let page = Page::parse(first, after, None, None)?;
    child_connection(
        &loaders(ctx)?.organisation_projects,
        ChildRelation::OrganisationProjects,
        organisation_id,
        ChildFilter::default(),
        page,
        false,
        |p| (Project(p), EmptyFields),
    )
    .await
    .map_err(ApiError::from)
}

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// One project; null if there is none.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Project>> {
        let id = decode("id", &id, NodeKind::Project)?;
        Ok(loaders(ctx)?.projects.load_one(id).await?.map(Project))
    }

    /// Projects, newest first, for anyone.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProjectFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ProjectConnection> {
        let filter = filter.unwrap_or_default().parse()?;
        let page = Page::parse(first, after, None, None)?;
        let (rows, count) = service::list(db(ctx)?, &filter, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, project)| (cursor, Project(project), EmptyFields)))
    }
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Describes a project of an organisation you coordinate (PROPOSED unless you say otherwise).
    async fn create_project(&self, ctx: &Context<'_>, input: CreateProjectInput) -> ApiResult<ProjectPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(ProjectPayload { project: Project(service::create(db(ctx)?, &actor, input.parse()?).await?) })
    }

    async fn update_project(&self, ctx: &Context<'_>, input: UpdateProjectInput) -> ApiResult<ProjectPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (id, patch) = input.parse()?;
        Ok(ProjectPayload { project: Project(service::update(db(ctx)?, &actor, id, patch).await?) })
    }
}

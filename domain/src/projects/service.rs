//! Project rules: an organisation's coordinators describe and update its projects; everyone may read them (they
//! are what an organisation does in public, and what public money funds).
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::ProjectStatus;
use crate::access::{self, AuthUser};
use crate::error::{AppError, AppResult};
use crate::needs::NeedCategory;
use crate::needs::service::Schedule;
use crate::now;
use crate::partnerships::priorities::{self, Tagged};
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use crate::values::geo::near_condition;
use crate::values::text::json_tags;
use crate::values::{Coordinates, Patch, Postcode, RadiusKm, TimeWindow, bounded_text, tags};
use entity::{priority, project, project_priority, ward};

/// Who a project helps, beyond the words: an age range in whole years.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgeRange {
    pub min: Option<i16>,
    pub max: Option<i16>,
}

/// Where a project happens: at a place (optionally in a ward), or across an area.
#[derive(Clone, Debug, Default)]
pub struct Place {
    pub location: Option<Coordinates>,
    pub postcode: Option<Postcode>,
    pub ward_id: Option<Uuid>,
    pub area_wide: bool,
}

#[derive(Clone, Debug)]
pub struct NewProject {
    pub organisation_id: Uuid,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub category: NeedCategory,
    pub place: Place,
    pub beneficiaries: String,
    pub ages: AgeRange,
    pub languages: Vec<String>,
    pub schedule: Schedule,
    pub status: ProjectStatus,
    pub priority_ids: Vec<Uuid>,
}

/// A change to a project; `None` and `Patch::Keep` keep a field.
#[derive(Clone, Debug, Default)]
pub struct ProjectPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub category: Option<NeedCategory>,
    pub location: Patch<Coordinates>,
    pub postcode: Patch<Postcode>,
    pub ward_id: Patch<Uuid>,
    pub area_wide: Option<bool>,
    pub beneficiaries: Option<String>,
    pub ages: Option<AgeRange>,
    pub languages: Option<Vec<String>>,
    pub schedule: Patch<Schedule>,
    pub status: Option<ProjectStatus>,
    pub priority_ids: Option<Vec<Uuid>>,
}

/// Which projects a listing shows; all of them, newest first, without one.
#[derive(Clone, Debug, Default)]
pub struct ProjectFilter {
    pub organisation_id: Option<Uuid>,
    /// Projects in the partnership's wards, or addressing one of its priorities.
    pub partnership_id: Option<Uuid>,
    pub ward_id: Option<Uuid>,
    pub categories: Option<Vec<NeedCategory>>,
    /// Projects addressing any of these priorities.
    pub priority_ids: Option<Vec<Uuid>>,
    pub status: Option<ProjectStatus>,
    pub near: Option<(Coordinates, RadiusKm)>,
}

/// Ages are people's: 0 to 120.
const MAX_AGE: i16 = 120;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<project::Model> {
    project::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("project"))
}

fn check_ages(ages: AgeRange) -> AppResult<AgeRange> {
    for (field, age) in [("input.ageRange.min", ages.min), ("input.ageRange.max", ages.max)] {
        if let Some(age) = age
            && !(0..=MAX_AGE).contains(&age)
        {
            return Err(AppError::bad_input(field, format!("must be between 0 and {MAX_AGE}")));
        }
    }
    if let (Some(min), Some(max)) = (ages.min, ages.max)
        && max < min
    {
        return Err(AppError::bad_input("input.ageRange.max", "must not be below the minimum"));
    }
    Ok(ages)
}

fn check_schedule(schedule: &Schedule) -> AppResult<()> {
    if let (Some(start), Some(end)) = (schedule.start_date, schedule.end_date)
        && end < start
    {
        return Err(AppError::bad_input("input.schedule.endDate", "must not be before the start date"));
    }
    Ok(())
}

/// A project is somewhere: a place people can find, or a whole area.
fn check_place(area_wide: bool, location: Option<Coordinates>, ward_id: Option<Uuid>) -> AppResult<()> {
    if !area_wide && location.is_none() && ward_id.is_none() {
        return Err(AppError::bad_input(
            "input.location",
            "a project happens at a place (a location or a ward), or set areaWide: true",
        ));
    }
    Ok(())
}

async fn check_ward(db: &impl ConnectionTrait, ward_id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = ward_id
        && ward::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::bad_input("input.wardId", "no such ward"));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewProject,
) -> AppResult<project::Model> {
    crate::organisations::get(db, new.organisation_id).await?;
    access::require_coordinator(db, actor, new.organisation_id).await?;
    let title = bounded_text("input.title", &new.title, 3, 140)?;
    let summary = bounded_text("input.summary", &new.summary, 0, 280)?;
    let description = bounded_text("input.description", &new.description, 0, 5000)?;
    let beneficiaries = bounded_text("input.beneficiaries", &new.beneficiaries, 0, 500)?;
    let ages = check_ages(new.ages)?;
    let languages = tags("input.languages", &new.languages, 10)?;
    check_schedule(&new.schedule)?;
    let place = new.place;
    check_place(place.area_wide, place.location, place.ward_id)?;
    check_ward(db, place.ward_id).await?;
    let priority_ids = priorities::check_tags(db, "input.priorityIds", &new.priority_ids, &[]).await?;

    let txn = db.begin().await?;
    let now = now();
    let project = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(new.organisation_id),
        title: Set(title),
        summary: Set(summary),
        description: Set(description),
        category: Set(new.category.as_db().to_owned()),
        postcode: Set(place.postcode.map(Postcode::into_inner)),
        lat: Set(place.location.map(|l| l.lat())),
        lng: Set(place.location.map(|l| l.lng())),
        ward_id: Set(place.ward_id),
        area_wide: Set(place.area_wide),
        beneficiaries: Set(beneficiaries),
        min_age: Set(ages.min),
        max_age: Set(ages.max),
        languages: Set(json_tags(&languages)),
        weekly_schedule: Set(TimeWindow::to_json(&new.schedule.weekly)),
        start_date: Set(new.schedule.start_date),
        end_date: Set(new.schedule.end_date),
        status: Set(new.status.as_db().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    priorities::set_tags(&txn, Tagged::Project, project.id, &priority_ids, &[]).await?;
    txn.commit().await?;
    Ok(project)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, project = %id))]
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    patch: ProjectPatch,
) -> AppResult<project::Model> {
    let current = get(db, id).await?;
    access::require_coordinator(db, actor, current.organisation_id).await?;
    let mut active = current.clone().into_active_model();
    if let Some(title) = &patch.title {
        active.title = Set(bounded_text("input.title", title, 3, 140)?);
    }
    if let Some(summary) = &patch.summary {
        active.summary = Set(bounded_text("input.summary", summary, 0, 280)?);
    }
    if let Some(description) = &patch.description {
        active.description = Set(bounded_text("input.description", description, 0, 5000)?);
    }
    if let Some(category) = patch.category {
        active.category = Set(category.as_db().to_owned());
    }
    if let Some(beneficiaries) = &patch.beneficiaries {
        active.beneficiaries = Set(bounded_text("input.beneficiaries", beneficiaries, 0, 500)?);
    }
    if let Some(ages) = patch.ages {
        let ages = check_ages(ages)?;
        active.min_age = Set(ages.min);
        active.max_age = Set(ages.max);
    }
    if let Some(languages) = &patch.languages {
        active.languages = Set(json_tags(&tags("input.languages", languages, 10)?));
    }
    match patch.schedule {
        Patch::Keep => {}
        Patch::Clear => {
            active.weekly_schedule = Set(TimeWindow::to_json(&[]));
            active.start_date = Set(None);
            active.end_date = Set(None);
        }
        Patch::Set(schedule) => {
            check_schedule(&schedule)?;
            active.weekly_schedule = Set(TimeWindow::to_json(&schedule.weekly));
            active.start_date = Set(schedule.start_date);
            active.end_date = Set(schedule.end_date);
        }
    }
    if let Some(status) = patch.status {
        active.status = Set(status.as_db().to_owned());
    }
    let (location, postcode) = crate::organisations::service::patch_place(
        Coordinates::from_stored(current.lat, current.lng),
        current.postcode.clone(),
        patch.location,
        patch.postcode,
    );
    let ward_id = patch.ward_id.apply(current.ward_id);
    let area_wide = patch.area_wide.unwrap_or(current.area_wide);
    check_place(area_wide, location, ward_id)?;
    if ward_id != current.ward_id {
        check_ward(db, ward_id).await?;
    }
    active.lat = Set(location.map(|l| l.lat()));
    active.lng = Set(location.map(|l| l.lng()));
    active.postcode = Set(postcode);
    active.ward_id = Set(ward_id);
    active.area_wide = Set(area_wide);
    let tagged = match &patch.priority_ids {
        Some(ids) => {
            let already = priorities::tags_of(db, Tagged::Project, id).await?;
            Some((priorities::check_tags(db, "input.priorityIds", ids, &already).await?, already))
        }
        None => None,
    };
    active.updated_at = Set(now());

    let txn = db.begin().await?;
    let project = active.update(&txn).await?;
    if let Some((ids, already)) = tagged {
        priorities::set_tags(&txn, Tagged::Project, id, &ids, &already).await?;
    }
    txn.commit().await?;
    Ok(project)
}

fn sort_key() -> SortKey {
    SortKey {
        name: "projects:NEWEST",
        kind: SortKind::Time,
        key: Expr::col((project::Entity, project::Column::CreatedAt)),
        id: Expr::col((project::Entity, project::Column::Id)),
        descending: true,
    }
}

/// The ids of projects addressing a priority that `which` picks (a subquery).
fn addressing(which: sea_orm::sea_query::SimpleExpr) -> SelectStatement {
    Query::select()
        .column(project_priority::Column::ProjectId)
        .from(project_priority::Entity)
        .and_where(which)
        .to_owned()
}

/// A page of projects, newest first, each with its cursor, and the statement that counts them all. Projects are
/// public, whatever their status.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ProjectFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, project::Model)>, SelectStatement)> {
    use project::Column as C;
    let mut cond = Condition::all();
    if let Some(organisation) = filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(organisation));
    }
    if let Some(ward) = filter.ward_id {
        cond = cond.add(C::WardId.eq(ward));
    }
    if let Some(partnership) = filter.partnership_id {
        let wards = Query::select()
            .column(ward::Column::Id)
            .from(ward::Entity)
            .and_where(ward::Column::PartnershipId.eq(partnership))
            .to_owned();
        let its_priorities = Query::select()
            .column(priority::Column::Id)
            .from(priority::Entity)
            .and_where(priority::Column::PartnershipId.eq(partnership))
            .to_owned();
        let addresses = addressing(project_priority::Column::PriorityId.in_subquery(its_priorities));
        cond = cond.add(Condition::any().add(C::WardId.in_subquery(wards)).add(C::Id.in_subquery(addresses)));
    }
    if let Some(categories) = &filter.categories {
        cond = cond.add(C::Category.is_in(categories.iter().map(|c| c.as_db())));
    }
    if let Some(ids) = &filter.priority_ids {
        if ids.len() > 50 {
            return Err(AppError::bad_input("filter.priorityIds", "at most 50"));
        }
        let addresses = addressing(project_priority::Column::PriorityId.is_in(ids.iter().copied()));
        cond = cond.add(C::Id.in_subquery(addresses));
    }
    if let Some(status) = filter.status {
        cond = cond.add(C::Status.eq(status.as_db()));
    }
    if let Some((center, radius)) = &filter.near {
        cond = cond.add(near_condition(C::Lat, C::Lng, center, *radius));
    }
    let mut select = project::Entity::find().filter(cond).into_query();
    let count = select.clone();
    let sort = sort_key();
    sort.apply(&mut select, page)?;
    let rows: Vec<project::Model> = fetch_rows(db, &select).await?;
    let rows = rows.into_iter().map(|p| (sort.cursor(SortValue::Time(p.created_at), p.id), p)).collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

/// A need's project must be one of its own organisation's.
pub async fn check_need_project(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    project_id: Option<Uuid>,
) -> AppResult<()> {
    if let Some(id) = project_id {
        match project::Entity::find_by_id(id).one(db).await? {
            Some(p) if p.organisation_id == organisation_id => {}
            Some(_) => {
                return Err(AppError::bad_input(
                    "input.projectId",
                    "a need can only be part of its own organisation's project",
                ));
            }
            None => return Err(AppError::bad_input("input.projectId", "no such project")),
        }
    }
    Ok(())
}

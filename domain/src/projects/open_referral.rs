//! Projects that people attend, as the services of Open Referral UK 3.0: ACTIVE projects with a weekly schedule
//! (classes, clubs, drop-ins). The transport writes them in the standard's shape; this reads them, a page at a time.
use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::ProjectStatus;
use crate::error::{AppError, AppResult};
use crate::needs::NeedCategory;
use crate::store::text_search;
use entity::{organisation, project};

/// A directory asks for pages of up to this many.
pub const MAX_PER_PAGE: u64 = 200;

/// Services: ACTIVE projects with at least one weekly window (JSON compared as text, which both databases cast to).
fn services() -> Condition {
    Condition::all()
        .add(project::Column::Status.eq(ProjectStatus::Active.as_db()))
        .add(Expr::cust("CAST(projects.weekly_schedule AS TEXT) <> '[]'"))
}

/// A page of services (1-based), newest first, with their organisations, and how many there are in all.
pub async fn page(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    category: Option<NeedCategory>,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<project::Model>, HashMap<Uuid, organisation::Model>, u64)> {
    use project::Column as C;
    let mut cond = services();
    if let Some(text) = search.filter(|s| !s.trim().is_empty()) {
        cond = cond.add(text_search("search", text, [C::Title, C::Summary, C::Description])?);
    }
    if let Some(category) = category {
        cond = cond.add(C::Category.eq(category.as_db()));
    }
    let select = project::Entity::find().filter(cond);
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Id)
        .offset(page.saturating_sub(1).saturating_mul(per_page))
        .limit(per_page)
        .all(db)
        .await?;
    let organisations = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(rows.iter().map(|p| p.organisation_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok((rows, organisations, total))
}

/// One service and its organisation; NOT_FOUND when the project is not one (not active, or nothing to attend).
pub async fn one(db: &impl ConnectionTrait, id: Uuid) -> AppResult<(project::Model, organisation::Model)> {
    let project = project::Entity::find_by_id(id)
        .filter(services())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("service"))?;
    let organisation = crate::organisations::get(db, project.organisation_id).await?;
    Ok((project, organisation))
}

//! Offer rules: who may make and change an offer, and the listing.
use async_graphql::MaybeUndefined;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryTrait, Set,
};
use uuid::Uuid;

use super::{CreateOfferInput, Offer, OfferConnection, OfferFilter, OfferStatus, UpdateOfferInput};
use crate::auth::{AuthUser, Viewer, policy};
use crate::error::{AppError, AppResult};
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::pagination::{Page, PageRows, SortKey, SortKind, SortValue, TotalCount, connection, fetch_rows};
use crate::needs::TimeWindowInput;
use crate::now;
use crate::organisations::service::{parse_location, parse_postcode};
use crate::values::geo::near_condition;
use crate::values::{Coordinates, TimeWindow, bounded_text};
use domain::store::text_search;
use entity::offer;

/// Checks the actor may change an offer owned by this organisation or volunteer.
async fn require_owner(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    organisation_id: Option<Uuid>,
    volunteer_id: Option<Uuid>,
) -> AppResult<()> {
    if actor.is_admin() {
        return Ok(());
    }
    if let Some(org) = organisation_id {
        return policy::require_coordinator(db, actor, org).await;
    }
    let own = crate::volunteers::service::find_for_user(db, actor.id).await?;
    match (own, volunteer_id) {
        (Some(p), Some(v)) if p.id == v => Ok(()),
        _ => Err(AppError::forbidden("only whoever made this offer may change it")),
    }
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(db: &impl ConnectionTrait, actor: &AuthUser, input: CreateOfferInput) -> AppResult<offer::Model> {
    let (organisation_id, volunteer_id) = match &input.organisation_id {
        Some(id) => {
            let org = decode("input.organisationId", id, NodeKind::Organisation)?;
            crate::organisations::service::get(db, org).await?;
            policy::require_coordinator(db, actor, org).await?;
            (Some(org), None)
        }
        None => (None, Some(crate::volunteers::service::require_own(db, actor).await?.id)),
    };
    let title = bounded_text("input.title", &input.title, 3, 140)?;
    let description = bounded_text("input.description", &input.description, 0, 5000)?;
    let postcode = parse_postcode(input.postcode.as_deref())?;
    let location = parse_location(input.location.as_ref())?.map(|c| fuzz_if_volunteer(c, volunteer_id));
    let availability = TimeWindowInput::parse_all("input.availability", &input.availability)?;
    let now = now();
    Ok(offer::ActiveModel {
        id: Set(Uuid::now_v7()),
        volunteer_id: Set(volunteer_id),
        organisation_id: Set(organisation_id),
        kind: Set(input.kind.as_db().to_owned()),
        title: Set(title),
        description: Set(description),
        category: Set(input.category.map(|c| c.as_db().to_owned())),
        postcode: Set(postcode),
        lat: Set(location.map(|l| l.lat())),
        lng: Set(location.map(|l| l.lng())),
        remote: Set(input.remote),
        availability: Set(TimeWindow::to_json(&availability)),
        status: Set(OfferStatus::Active.as_db().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn update(db: &impl ConnectionTrait, actor: &AuthUser, input: UpdateOfferInput) -> AppResult<offer::Model> {
    let id = decode("input.offerId", &input.offer_id, NodeKind::Offer)?;
    let current = offer::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("offer"))?;
    require_owner(db, actor, current.organisation_id, current.volunteer_id).await?;
    let volunteer_id = current.volunteer_id;
    let mut active = current.into_active_model();
    if let Some(kind) = input.kind {
        active.kind = Set(kind.as_db().to_owned());
    }
    if let Some(title) = &input.title {
        active.title = Set(bounded_text("input.title", title, 3, 140)?);
    }
    if let Some(description) = &input.description {
        active.description = Set(bounded_text("input.description", description, 0, 5000)?);
    }
    match input.category {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.category = Set(None),
        MaybeUndefined::Value(c) => active.category = Set(Some(c.as_db().to_owned())),
    }
    if let Some(status) = input.status {
        active.status = Set(status.as_db().to_owned());
    }
    match &input.postcode {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.postcode = Set(None),
        MaybeUndefined::Value(p) => active.postcode = Set(parse_postcode(Some(p))?),
    }
    match &input.location {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            active.lat = Set(None);
            active.lng = Set(None);
        }
        MaybeUndefined::Value(l) => {
            let c = parse_location(Some(l))?.map(|c| fuzz_if_volunteer(c, volunteer_id));
            active.lat = Set(c.map(|c| c.lat()));
            active.lng = Set(c.map(|c| c.lng()));
        }
    }
    if let Some(remote) = input.remote {
        active.remote = Set(remote);
    }
    if let Some(windows) = &input.availability {
        active.availability = Set(TimeWindow::to_json(&TimeWindowInput::parse_all("input.availability", windows)?));
    }
    active.updated_at = Set(now());
    Ok(active.update(db).await?)
}

/// A volunteer's offer is stored only to about a kilometre (two decimal places), so no search, however
/// narrow, can find where they live; organisations' offers keep their exact place.
fn fuzz_if_volunteer(c: Coordinates, volunteer_id: Option<Uuid>) -> Coordinates {
    match volunteer_id {
        Some(_) => c.rounded(2),
        None => c,
    }
}

fn col(c: offer::Column) -> SimpleExpr {
    Expr::col((offer::Entity, c))
}

pub async fn list(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: OfferFilter,
    page: &Page,
) -> AppResult<OfferConnection> {
    use offer::Column as C;
    let mut cond = Condition::all();
    let status = filter.status.unwrap_or(OfferStatus::Active);
    cond = cond.add(C::Status.eq(status.as_db()));
    // Paused and closed offers are listed only to their owners.
    if status != OfferStatus::Active && !viewer.is_admin() {
        let mut own = Condition::any().add(Expr::val(1).eq(0));
        let orgs: Vec<Uuid> = viewer.memberships(db).await?.keys().copied().collect();
        if !orgs.is_empty() {
            own = own.add(C::OrganisationId.is_in(orgs));
        }
        if let Some(user) = viewer.user_id()
            && let Some(profile) = crate::volunteers::service::find_for_user(db, user).await?
        {
            own = own.add(C::VolunteerId.eq(profile.id));
        }
        cond = cond.add(own);
    }
    if let Some(kinds) = &filter.kinds {
        cond = cond.add(C::Kind.is_in(kinds.iter().map(|k| k.as_db())));
    }
    if let Some(org) = &filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(decode("filter.organisationId", org, NodeKind::Organisation)?));
    }
    if let Some(category) = filter.category {
        cond = cond.add(C::Category.eq(category.as_db()));
    }
    if let Some(text) = &filter.text {
        cond = cond.add(text_search("filter.text", text, [C::Title, C::Description])?);
    }
    if let Some(near) = &filter.near {
        let (center, radius) = near.parse("filter.near")?;
        cond = cond.add(near_condition(C::Lat, C::Lng, &center, radius));
    }
    let select = offer::Entity::find().filter(cond).into_query();
    let total = TotalCount::of(select.clone());
    let sort = SortKey {
        name: "offers:NEWEST",
        kind: SortKind::Time,
        key: col(C::CreatedAt),
        id: col(C::Id),
        descending: true,
    };
    let mut paged = select;
    sort.apply(&mut paged, page)?;
    let rows: Vec<offer::Model> = fetch_rows(db, &paged).await?;
    Ok(connection(PageRows::from_fetched(rows, page), total, |o| {
        (sort.cursor(SortValue::Time(o.created_at), o.id), Offer(o), async_graphql::connection::EmptyFields)
    }))
}

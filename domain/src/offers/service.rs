//! Offer rules: who may make and change an offer, and the listing.
use sea_orm::sea_query::{Expr, ExprTrait, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    Set,
};
use uuid::Uuid;

use super::{OfferKind, OfferStatus};
use crate::access::{self as policy, AuthUser, Viewer};
use crate::error::{AppError, AppResult};
use crate::needs::NeedCategory;
use crate::now;
use crate::organisations::OrganisationId;
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use crate::store::text_search;
use crate::values::geo::near_condition;
use crate::values::{Coordinates, Patch, Postcode, RadiusKm, TimeWindow, bounded_text};
use entity::offer;

/// An offer: an organisation's (when `organisation_id` is given, by one of its members) or the caller's own as a
/// volunteer.
#[derive(Clone, Debug)]
pub struct NewOffer {
    pub organisation_id: Option<OrganisationId>,
    pub kind: OfferKind,
    pub title: String,
    pub description: String,
    pub category: Option<NeedCategory>,
    pub postcode: Option<Postcode>,
    pub location: Option<Coordinates>,
    pub remote: bool,
    pub availability: Vec<TimeWindow>,
}

#[derive(Clone, Debug, Default)]
pub struct OfferPatch {
    pub kind: Option<OfferKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Patch<NeedCategory>,
    pub status: Option<OfferStatus>,
    pub postcode: Patch<Postcode>,
    pub location: Patch<Coordinates>,
    pub remote: Option<bool>,
    pub availability: Option<Vec<TimeWindow>>,
}

#[derive(Clone, Debug, Default)]
pub struct OfferFilter {
    pub kinds: Option<Vec<OfferKind>>,
    /// ACTIVE when not given; others only for their owners.
    pub status: Option<OfferStatus>,
    pub organisation_id: Option<OrganisationId>,
    pub category: Option<NeedCategory>,
    pub text: Option<String>,
    pub near: Option<(Coordinates, RadiusKm)>,
}

/// An offer's id, as services take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OfferId(pub Uuid);

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
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    match (own, volunteer_id) {
        (Some(p), Some(v)) if p.id == v => Ok(()),
        _ => Err(AppError::forbidden("only whoever made this offer may change it")),
    }
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(db: &impl ConnectionTrait, actor: &AuthUser, input: NewOffer) -> AppResult<offer::Model> {
    let (organisation_id, volunteer_id) = match input.organisation_id {
        Some(OrganisationId(org)) => {
            crate::organisations::get(db, org).await?;
            policy::require_coordinator(db, actor, org).await?;
            (Some(org), None)
        }
        None => (None, Some(crate::volunteers::require_own(db, actor).await?.id)),
    };
    let title = bounded_text("input.title", &input.title, 3, 140)?;
    let description = bounded_text("input.description", &input.description, 0, 5000)?;
    let postcode = input.postcode.map(Postcode::into_inner);
    let location = input.location.map(|c| fuzz_if_volunteer(c, volunteer_id));
    let availability = input.availability;
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
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    OfferId(id): OfferId,
    input: OfferPatch,
) -> AppResult<offer::Model> {
    let current = offer::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("offer"))?;
    require_owner(db, actor, current.organisation_id, current.volunteer_id).await?;
    let volunteer_id = current.volunteer_id;
    let (location, postcode) = crate::organisations::service::patch_place(
        Coordinates::from_stored(current.lat, current.lng),
        current.postcode.clone(),
        input.location,
        input.postcode,
    );
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
        Patch::Keep => {}
        Patch::Clear => active.category = Set(None),
        Patch::Set(c) => active.category = Set(Some(c.as_db().to_owned())),
    }
    if let Some(status) = input.status {
        active.status = Set(status.as_db().to_owned());
    }
    let location = location.map(|c| fuzz_if_volunteer(c, volunteer_id));
    active.postcode = Set(postcode);
    active.lat = Set(location.map(|c| c.lat()));
    active.lng = Set(location.map(|c| c.lng()));
    if let Some(remote) = input.remote {
        active.remote = Set(remote);
    }
    if let Some(windows) = &input.availability {
        active.availability = Set(TimeWindow::to_json(windows));
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

/// A page of offers, each with its cursor, and the statement that counts the whole list.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: OfferFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, offer::Model)>, SelectStatement)> {
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
            && let Some(profile) = crate::volunteers::find_for_user(db, user).await?
        {
            own = own.add(C::VolunteerId.eq(profile.id));
        }
        cond = cond.add(own);
    }
    if let Some(kinds) = &filter.kinds {
        cond = cond.add(C::Kind.is_in(kinds.iter().map(|k| k.as_db())));
    }
    if let Some(org) = &filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(org.0));
    }
    if let Some(category) = filter.category {
        cond = cond.add(C::Category.eq(category.as_db()));
    }
    if let Some(text) = &filter.text {
        cond = cond.add(text_search("filter.text", text, [C::Title, C::Description])?);
    }
    if let Some((center, radius)) = filter.near {
        cond = cond.add(near_condition(C::Lat, C::Lng, &center, radius));
    }
    let select = offer::Entity::find().filter(cond).into_query();
    let count = select.clone();
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
    let rows = rows.into_iter().map(|o| (sort.cursor(SortValue::Time(o.created_at), o.id), o)).collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

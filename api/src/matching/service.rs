//! Matching with the database: find candidates with an index-friendly prefilter in SQL (a box on lat/lng,
//! the DBS level, open needs), then score them in Rust with `scoring`, rank, and page.
use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::scoring::{self, DbsFacts, NeedFacts, OfferFacts, VolunteerFacts};
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::graphql::pagination::{Cursor, Page, PageRows, SortValue};
use crate::needs::{NeedCategory, NeedStatus};
use crate::offers::{OfferKind, OfferStatus};
use crate::values::geo::{KM_PER_DEGREE, sql::distance_sq};
use crate::values::text::json_strings;
use crate::values::{Coordinates, TimeWindow};
use crate::volunteers::DbsLevel;
use entity::{application, need, offer, volunteer_profile};

/// Slack added to travel radii in the SQL prefilter: volunteers' places are rounded to ~1 km for matching,
/// and the prefilter's planar distance differs slightly from the exact one checked in Rust.
const PREFILTER_SLACK_KM: f64 = 2.0;
/// Statuses that count as an active application (for "few applicants" and "already applied").
pub const ACTIVE: [ApplicationStatus; 3] =
    [ApplicationStatus::Applied, ApplicationStatus::Invited, ApplicationStatus::Accepted];

pub fn today() -> NaiveDate {
    crate::now().date_naive()
}

/// The columns of a need that scoring reads: candidates are fetched as these, and only the page's
/// needs are loaded in full (descriptions and the rest would be read for nothing).
#[derive(Clone, Debug, FromQueryResult)]
pub struct NeedCandidate {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub status: String,
    pub category: String,
    pub required_skills: serde_json::Value,
    pub languages: serde_json::Value,
    pub safeguarding: String,
    pub weekly_schedule: serde_json::Value,
    pub start_date: Option<NaiveDate>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub remote: bool,
    pub volunteers_needed: i32,
    pub places_taken: i32,
    /// Filled in by `slim_needs` (a correlated count); 0 when converted from a model.
    pub active_applicants: i64,
}

impl From<&need::Model> for NeedCandidate {
    fn from(n: &need::Model) -> Self {
        Self {
            id: n.id,
            organisation_id: n.organisation_id,
            status: n.status.clone(),
            category: n.category.clone(),
            required_skills: n.required_skills.clone(),
            languages: n.languages.clone(),
            safeguarding: n.safeguarding.clone(),
            weekly_schedule: n.weekly_schedule.clone(),
            start_date: n.start_date,
            lat: n.lat,
            lng: n.lng,
            remote: n.remote,
            volunteers_needed: n.volunteers_needed,
            places_taken: n.places_taken,
            active_applicants: 0,
        }
    }
}

/// The columns of a volunteer profile that scoring reads (see `NeedCandidate`).
#[derive(Clone, Debug, FromQueryResult)]
pub struct VolunteerCandidate {
    pub id: Uuid,
    pub skills: serde_json::Value,
    pub interests: serde_json::Value,
    pub languages: serde_json::Value,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub travel_radius_km: f64,
    pub availability: serde_json::Value,
    pub dbs_level: String,
    pub dbs_issued_on: Option<NaiveDate>,
    pub dbs_recheck_by: Option<NaiveDate>,
    pub dbs_update_service: bool,
}

impl From<&volunteer_profile::Model> for VolunteerCandidate {
    fn from(p: &volunteer_profile::Model) -> Self {
        Self {
            id: p.id,
            skills: p.skills.clone(),
            interests: p.interests.clone(),
            languages: p.languages.clone(),
            lat: p.lat,
            lng: p.lng,
            travel_radius_km: p.travel_radius_km,
            availability: p.availability.clone(),
            dbs_level: p.dbs_level.clone(),
            dbs_issued_on: p.dbs_issued_on,
            dbs_recheck_by: p.dbs_recheck_by,
            dbs_update_service: p.dbs_update_service,
        }
    }
}

pub fn need_facts(n: &NeedCandidate, active_applicants: i32) -> NeedFacts {
    NeedFacts {
        status: NeedStatus::from_db(&n.status).unwrap_or(NeedStatus::Closed),
        places_left: n.volunteers_needed - n.places_taken,
        category: NeedCategory::from_db(&n.category).unwrap_or(NeedCategory::Other),
        safeguarding: DbsLevel::from_db(&n.safeguarding).unwrap_or(DbsLevel::None),
        start_date: n.start_date,
        location: Coordinates::from_stored(n.lat, n.lng),
        remote: n.remote,
        weekly: TimeWindow::from_json(&n.weekly_schedule),
        required_skills: json_strings(&n.required_skills),
        languages: json_strings(&n.languages),
        active_applicants,
    }
}

pub fn volunteer_facts(p: &VolunteerCandidate) -> VolunteerFacts {
    VolunteerFacts {
        location: scoring::approximate_location(Coordinates::from_stored(p.lat, p.lng)),
        travel_radius_km: p.travel_radius_km,
        availability: TimeWindow::from_json(&p.availability),
        skills: json_strings(&p.skills),
        interests: json_strings(&p.interests).iter().filter_map(|c| NeedCategory::from_db(c)).collect(),
        languages: json_strings(&p.languages),
        dbs: DbsFacts {
            level: DbsLevel::from_db(&p.dbs_level).unwrap_or(DbsLevel::None),
            issued_on: p.dbs_issued_on,
            recheck_by: p.dbs_recheck_by,
            on_update_service: p.dbs_update_service,
        },
    }
}

pub fn offer_facts(o: &offer::Model) -> OfferFacts {
    OfferFacts {
        kind: OfferKind::from_db(&o.kind).unwrap_or(OfferKind::Other),
        category: o.category.as_deref().and_then(NeedCategory::from_db),
        location: Coordinates::from_stored(o.lat, o.lng),
        remote: o.remote,
        availability: TimeWindow::from_json(&o.availability),
    }
}

/// DBS levels at least as high as `required`.
fn levels_at_least(required: DbsLevel) -> Vec<&'static str> {
    let i = DbsLevel::ALL.iter().position(|l| *l == required).unwrap_or(0);
    DbsLevel::ALL[i..].iter().map(|l| l.as_db()).collect()
}

/// DBS levels no higher than `held`.
fn levels_at_most(held: DbsLevel) -> Vec<&'static str> {
    let i = DbsLevel::ALL.iter().position(|l| *l == held).unwrap_or(0);
    DbsLevel::ALL[..=i].iter().map(|l| l.as_db()).collect()
}

#[derive(FromQueryResult)]
struct MaxRadius {
    r: Option<f64>,
}

#[derive(FromQueryResult)]
struct NeedCount {
    need_id: Uuid,
    n: i64,
}

/// Active applications per need, for many needs in one grouped statement.
pub async fn active_applicants(db: &impl ConnectionTrait, need_ids: &[Uuid]) -> AppResult<HashMap<Uuid, i32>> {
    let mut out = HashMap::with_capacity(need_ids.len());
    // Chunked so the IN list stays under SQLite's bound-parameter limit.
    for chunk in need_ids.chunks(5000) {
        let select = Query::select()
            .column(application::Column::NeedId)
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from(application::Entity)
            .and_where(application::Column::NeedId.is_in(chunk.iter().copied()))
            .and_where(application::Column::Status.is_in(ACTIVE.iter().map(|s| s.as_db())))
            .add_group_by([Expr::col(application::Column::NeedId)])
            .to_owned();
        let rows: Vec<NeedCount> = crate::graphql::pagination::fetch_rows(db, &select).await?;
        out.extend(rows.into_iter().map(|r| (r.need_id, i32::try_from(r.n).unwrap_or(i32::MAX))));
    }
    Ok(out)
}

/// Rows whose week mask shares a block with `mask`, or whose mask is 0 (no windows, or written before masks
/// existed): a necessary condition for overlapping times that SQL can test, so scoring sees fewer candidates.
pub fn times_may_overlap(column: impl ColumnTrait, mask: i64) -> Condition {
    Condition::any().add(column.eq(0)).add(Expr::col(column).bit_and(mask).ne(0))
}

/// The largest travel radius any volunteer has, plus the prefilter's slack: how far a box around a need
/// must reach to hold everyone who could travel to it (an indexed MAX).
pub async fn max_travel_radius(db: &impl ConnectionTrait) -> AppResult<f64> {
    let max = volunteer_profile::Entity::find()
        .select_only()
        .column_as(Expr::col(volunteer_profile::Column::TravelRadiusKm).max(), "r")
        .into_model::<MaxRadius>()
        .one(db)
        .await?
        .and_then(|m| m.r)
        .unwrap_or(0.0);
    Ok(max + PREFILTER_SLACK_KM)
}

/// Volunteers who might be eligible for `need`: within the largest travel radius of it (then each within
/// their own radius, roughly), with a DBS level high enough. Remote needs consider everyone with that level.
pub async fn candidate_volunteers(db: &impl ConnectionTrait, need: &need::Model) -> AppResult<Vec<VolunteerCandidate>> {
    use volunteer_profile::Column as C;
    let required = DbsLevel::from_db(&need.safeguarding).unwrap_or(DbsLevel::None);
    let mut cond = Condition::all();
    if required != DbsLevel::None {
        cond = cond.add(C::DbsLevel.is_in(levels_at_least(required)));
    }
    let need_mask = TimeWindow::week_mask(&TimeWindow::from_json(&need.weekly_schedule));
    if need_mask != 0 {
        cond = cond.add(times_may_overlap(C::AvailabilityMask, need_mask));
    }
    if !need.remote {
        let Some(center) = Coordinates::from_stored(need.lat, need.lng) else { return Ok(Vec::new()) };
        let max = max_travel_radius(db).await?;
        let dlat = max / KM_PER_DEGREE;
        let dlng = max / center.km_per_degree_lng().max(1.0);
        let reach = Expr::col(C::TravelRadiusKm).add(PREFILTER_SLACK_KM);
        cond = cond
            .add(C::Lat.between(center.lat() - dlat, center.lat() + dlat))
            .add(C::Lng.between(center.lng() - dlng, center.lng() + dlng))
            .add(Expr::expr(distance_sq(C::Lat, C::Lng, &center)).lte(reach.clone().mul(reach)));
    }
    Ok(slim_volunteers().filter(cond).into_model::<VolunteerCandidate>().all(db).await?)
}

/// A select of profiles' scoring columns only.
pub fn slim_volunteers() -> sea_orm::Select<volunteer_profile::Entity> {
    use volunteer_profile::Column as C;
    volunteer_profile::Entity::find().select_only().columns([
        C::Id,
        C::Skills,
        C::Interests,
        C::Languages,
        C::Lat,
        C::Lng,
        C::TravelRadiusKm,
        C::Availability,
        C::DbsLevel,
        C::DbsIssuedOn,
        C::DbsRecheckBy,
        C::DbsUpdateService,
    ])
}

/// A select of needs' scoring columns only, with each need's count of active applications (a correlated
/// count: one index probe per candidate, far cheaper than a grouped count over a long `IN` list, which
/// measured 50–165 ms for a thousand candidates on the synthetic data set).
pub fn slim_needs() -> sea_orm::Select<need::Entity> {
    use need::Column as C;
    let active = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(application::Entity)
        .and_where(Expr::col((application::Entity, application::Column::NeedId)).equals((need::Entity, C::Id)))
        .and_where(
            Expr::col((application::Entity, application::Column::Status)).is_in(ACTIVE.iter().map(|s| s.as_db())),
        )
        .to_owned();
    need::Entity::find().select_only().expr_as(Expr::from(active), "active_applicants").columns([
        C::Id,
        C::OrganisationId,
        C::Status,
        C::Category,
        C::RequiredSkills,
        C::Languages,
        C::Safeguarding,
        C::WeeklySchedule,
        C::StartDate,
        C::Lat,
        C::Lng,
        C::Remote,
        C::VolunteersNeeded,
        C::PlacesTaken,
    ])
}

/// Open needs with places left that might suit `profile`: within its travel radius (or remote), with a
/// safeguarding level the volunteer's DBS check could meet.
pub async fn candidate_needs(
    db: &impl ConnectionTrait,
    profile: &volunteer_profile::Model,
) -> AppResult<Vec<NeedCandidate>> {
    use need::Column as C;
    let level = DbsLevel::from_db(&profile.dbs_level).unwrap_or(DbsLevel::None);
    let free = TimeWindow::week_mask(&TimeWindow::from_json(&profile.availability));
    let open = Condition::all()
        .add(C::Status.eq(NeedStatus::Open.as_db()))
        .add(Expr::col(C::PlacesTaken).lt(Expr::col(C::VolunteersNeeded)))
        .add(C::Safeguarding.is_in(levels_at_most(level)))
        .add(times_may_overlap(C::ScheduleMask, free));
    // Two statements rather than one with `remote OR box`, so each can use its index.
    let mut needs =
        slim_needs().filter(open.clone()).filter(C::Remote.eq(true)).into_model::<NeedCandidate>().all(db).await?;
    if let Some(center) = scoring::approximate_location(Coordinates::from_stored(profile.lat, profile.lng)) {
        let r = profile.travel_radius_km + PREFILTER_SLACK_KM;
        let dlat = r / KM_PER_DEGREE;
        let dlng = r / center.km_per_degree_lng().max(1.0);
        let nearby = slim_needs()
            .filter(open)
            .filter(C::Remote.eq(false))
            .filter(C::Lat.between(center.lat() - dlat, center.lat() + dlat))
            .filter(C::Lng.between(center.lng() - dlng, center.lng() + dlng))
            .filter(Expr::expr(distance_sq(C::Lat, C::Lng, &center)).lte(r * r))
            .into_model::<NeedCandidate>()
            .all(db)
            .await?;
        needs.extend(nearby);
    }
    Ok(needs)
}

/// Statuses of one volunteer's applications, by need.
pub async fn applications_of_volunteer(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
) -> AppResult<HashMap<Uuid, ApplicationStatus>> {
    let rows = application::Entity::find().filter(application::Column::VolunteerId.eq(volunteer_id)).all(db).await?;
    Ok(rows.into_iter().filter_map(|a| ApplicationStatus::from_db(&a.status).map(|s| (a.need_id, s))).collect())
}

/// Statuses of applications to some needs, by (need, volunteer).
pub async fn applications_to_needs(
    db: &impl ConnectionTrait,
    need_ids: &[Uuid],
) -> AppResult<HashMap<(Uuid, Uuid), ApplicationStatus>> {
    let mut out = HashMap::new();
    for chunk in need_ids.chunks(5000) {
        let rows = application::Entity::find()
            .filter(application::Column::NeedId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .filter_map(|a| ApplicationStatus::from_db(&a.status).map(|s| ((a.need_id, a.volunteer_id), s))),
        );
    }
    Ok(out)
}

/// Active offers near a need (or remote ones); remote needs consider every active offer.
pub async fn candidate_offers(db: &DatabaseConnection, need: &need::Model) -> AppResult<Vec<offer::Model>> {
    use offer::Column as C;
    let mut cond = Condition::all().add(C::Status.eq(OfferStatus::Active.as_db()));
    if !need.remote {
        let mut place = Condition::any().add(C::Remote.eq(true));
        if let Some(center) = Coordinates::from_stored(need.lat, need.lng) {
            let r = scoring::OFFER_RADIUS_KM + PREFILTER_SLACK_KM;
            place = place.add(Expr::expr(distance_sq(C::Lat, C::Lng, &center)).lte(r * r));
        }
        cond = cond.add(place);
    }
    Ok(offer::Entity::find().filter(cond).all(db).await?)
}

/// An item with its score and id, as ranked lists hold them.
pub type Ranked<T> = (f64, Uuid, T);

/// Ranks scored items (score descending, then id) and cuts the page after `page.after`.
/// Ranked lists are computed, not stored, so paging happens here rather than in SQL.
pub fn rank_page<T>(
    mut scored: Vec<Ranked<T>>,
    page: &Page,
    order: &'static str,
) -> AppResult<(PageRows<Ranked<T>>, i64)> {
    if page.backward || page.before.is_some() {
        return Err(AppError::bad_input("last", "ranked lists page forward only: use first and after"));
    }
    let total = i64::try_from(scored.len()).unwrap_or(i64::MAX);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    if let Some(after) = &page.after {
        let cursor: Cursor = after.cursor("after")?;
        let SortValue::Number(score) = cursor.key else {
            return Err(AppError::bad_input("after", "belongs to a different list or ordering"));
        };
        if cursor.order != order {
            return Err(AppError::bad_input("after", "belongs to a different list or ordering"));
        }
        scored.retain(|(s, id, _)| *s < score || (*s == score && *id > cursor.id));
    }
    scored.truncate(usize::try_from(page.limit + 1).unwrap_or(usize::MAX));
    Ok((PageRows::from_fetched(scored, page), total))
}

pub fn rank_cursor(order: &'static str, score: f64, id: Uuid) -> Cursor {
    Cursor { order: order.to_owned(), key: SortValue::Number(score), id }
}

/// Full profiles by id (the page of a ranked list).
pub async fn profiles_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, volunteer_profile::Model>> {
    let rows = volunteer_profile::Entity::find()
        .filter(volunteer_profile::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

/// Full needs by id (the page of a ranked list).
pub async fn needs_by_id(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<HashMap<Uuid, need::Model>> {
    let rows = need::Entity::find().filter(need::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|n| (n.id, n)).collect())
}

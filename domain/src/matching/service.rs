//! Matching's reads from the database (the scoring columns of needs and volunteers, applications, offers), the
//! conversion of rows into scoring facts, and ranking and paging of scored lists. Candidates for needs and
//! volunteers come from the in-memory `index`.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::index::MatchingIndex;
use super::scoring::{self, DbsFacts, NeedFacts, OfferFacts, VolunteerFacts};
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::needs::{NeedCategory, NeedStatus};
use crate::offers::{OfferKind, OfferStatus};
use crate::store::page::{Cursor, Page, PageRows, SortValue};
use crate::values::geo::sql::distance_sq;
use crate::values::text::json_strings;
use crate::values::{Coordinates, TimeWindow};
use crate::volunteers::{DbsLevel, verification};
use entity::{application, need, offer, volunteer_profile};

/// Slack added to travel radii in the SQL prefilter: volunteers' places are rounded to ~1 km for matching,
/// and the prefilter's planar distance differs slightly from the exact one checked in Rust.
const PREFILTER_SLACK_KM: f64 = 2.0;
/// Statuses that count as an active application (for "few applicants" and "already applied").
pub const ACTIVE: [ApplicationStatus; 4] = ApplicationStatus::LIVE;

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
    pub updated_at: DateTime<Utc>,
    pub safeguarding_verified: bool,
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
            updated_at: n.updated_at,
            safeguarding_verified: n.safeguarding_verified,
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
    pub updated_at: DateTime<Utc>,
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
            updated_at: p.updated_at,
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
        verified_by: n.safeguarding_verified.then_some(n.organisation_id),
    }
}

pub fn volunteer_facts(p: &VolunteerCandidate) -> VolunteerFacts {
    VolunteerFacts {
        location: scoring::approximate_location(Coordinates::from_stored(p.lat, p.lng)),
        travel_radius_km: p.travel_radius_km,
        availability: TimeWindow::from_json(&p.availability),
        skills: scoring::canonical_skills(&json_strings(&p.skills)),
        interests: json_strings(&p.interests).iter().filter_map(|c| NeedCategory::from_db(c)).collect(),
        languages: json_strings(&p.languages).into_iter().map(scoring::Tag::from).collect(),
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

#[derive(FromQueryResult)]
struct NeedCount {
    need_id: Uuid,
    n: i64,
}

/// Active applications per need (needs without any are absent): for the given needs, or for every need.
pub async fn active_applicants(db: &impl ConnectionTrait, need_ids: &[Uuid]) -> AppResult<HashMap<Uuid, i32>> {
    let mut out = HashMap::with_capacity(need_ids.len());
    // Chunked so the IN list stays under SQLite's bound-parameter limit.
    for chunk in need_ids.chunks(5000) {
        out.extend(count_active(db, Some(chunk)).await?);
    }
    Ok(out)
}

/// Active applications of every need, in one grouped statement (the matching index's load).
pub async fn active_applicants_of_all(db: &impl ConnectionTrait) -> AppResult<HashMap<Uuid, i32>> {
    Ok(count_active(db, None).await?.collect())
}

async fn count_active(
    db: &impl ConnectionTrait,
    need_ids: Option<&[Uuid]>,
) -> AppResult<impl Iterator<Item = (Uuid, i32)>> {
    let mut select = Query::select()
        .column(application::Column::NeedId)
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(application::Entity)
        .and_where(application::Column::Status.is_in(ACTIVE.iter().map(|s| s.as_db())))
        .add_group_by([Expr::col(application::Column::NeedId)])
        .to_owned();
    if let Some(ids) = need_ids {
        select.and_where(application::Column::NeedId.is_in(ids.iter().copied()));
    }
    let rows: Vec<NeedCount> = crate::store::page::fetch_rows(db, &select).await?;
    Ok(rows.into_iter().map(|r| (r.need_id, i32::try_from(r.n).unwrap_or(i32::MAX))))
}

/// A select of profiles' scoring columns only.
pub fn slim_volunteers() -> sea_orm::Select<volunteer_profile::Entity> {
    use volunteer_profile::Column as C;
    volunteer_profile::Entity::find()
        .select_only()
        .columns([
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
            C::UpdatedAt,
        ])
        // Erased volunteers' tombstones are never candidates.
        .filter(C::DeletedAt.is_null())
}

/// A select of needs' scoring columns only.
pub fn slim_needs() -> sea_orm::Select<need::Entity> {
    use need::Column as C;
    need::Entity::find().select_only().columns([
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
        C::UpdatedAt,
        C::SafeguardingVerified,
    ])
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

/// One need's applications as statuses by volunteer, for looking up every candidate of a ranking: a binary
/// search of a few ids costs far less than hashing a pair of ids for each of 100,000 candidates.
#[derive(Default)]
pub struct StatusByVolunteer(Vec<(Uuid, ApplicationStatus)>);

impl StatusByVolunteer {
    /// Each need's applications from what `applications_to_needs` read.
    pub fn per_need(all: HashMap<(Uuid, Uuid), ApplicationStatus>) -> HashMap<Uuid, StatusByVolunteer> {
        let mut out: HashMap<Uuid, StatusByVolunteer> = HashMap::new();
        for ((need, volunteer), status) in all {
            out.entry(need).or_default().0.push((volunteer, status));
        }
        out.values_mut().for_each(|v| v.0.sort_by_key(|a| a.0));
        out
    }

    pub fn status(&self, volunteer: Uuid) -> Option<ApplicationStatus> {
        self.0.binary_search_by_key(&volunteer, |a| a.0).ok().and_then(|i| self.0.get(i)).map(|a| a.1)
    }
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
    let rank = |a: &Ranked<T>, b: &Ranked<T>| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
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
    // Only the page (and one more, to know whether there is a next) is sorted: a remote need has tens of
    // thousands of candidates, and a full sort of them was a visible share of the request.
    let keep = usize::try_from(page.limit + 1).unwrap_or(usize::MAX);
    if scored.len() > keep {
        scored.select_nth_unstable_by(keep - 1, rank);
        scored.truncate(keep);
    }
    scored.sort_by(rank);
    Ok((PageRows::from_fetched(scored, page), total))
}

/// Keeps the rows of a page, replacing each payload (or dropping the row when `f` gives `None`).
fn filter_map_rows<T, U>(rows: PageRows<Ranked<T>>, mut f: impl FnMut(Uuid, T) -> Option<U>) -> PageRows<Ranked<U>> {
    let PageRows { rows, has_previous, has_next } = rows;
    let rows = rows.into_iter().filter_map(|(score, id, t)| f(id, t).map(|u| (score, id, u))).collect();
    PageRows { rows, has_previous, has_next }
}

/// What ranking `need`'s volunteers asks of the database, with the index brought up to date: the applications
/// already made to it, and (for a need that takes only volunteers its organisation verified) who those are.
async fn candidates_of(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    need: &need::Model,
    today: NaiveDate,
) -> AppResult<(StatusByVolunteer, Option<std::collections::HashSet<Uuid>>)> {
    index.refresh(db).await?;
    let existing = StatusByVolunteer::per_need(applications_to_needs(db, &[need.id]).await?).remove(&need.id);
    let verified = if need.safeguarding_verified {
        let level = crate::volunteers::verification::required_level(need);
        Some(crate::volunteers::verification::verified_by(db, need.organisation_id, level, today).await?)
    } else {
        None
    };
    Ok((existing.unwrap_or_default(), verified))
}

/// A page of the volunteers eligible for `need`, best first, with their facts and profiles, and the need's facts.
/// `today` is the day DBS checks must be valid on; the caller explains the page with the same day.
pub async fn volunteers_for_need(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    need: &need::Model,
    page: &Page,
    order: &'static str,
    today: NaiveDate,
) -> AppResult<(NeedFacts, PageRows<Ranked<(VolunteerFacts, volunteer_profile::Model)>>, i64)> {
    let (existing, verified) = candidates_of(db, index, need, today).await?;
    let (facts, rows, total) = {
        let view = index.read();
        let facts = need_facts(&need.into(), view.active_applicants(need.id));
        let mut scored = view.volunteers_for(&facts, |v| existing.status(v), today);
        // A need that takes only volunteers its organisation verified: nobody else is a candidate.
        if let Some(verified) = &verified {
            scored.retain(|(_, id, _)| verified.contains(id));
        }
        let (rows, total) = rank_page(scored, page, order)?;
        (facts, filter_map_rows(rows, |_, slot| view.volunteer(slot).map(|v| v.facts.clone())), total)
    };
    // Only the page's volunteers are read in full.
    let ids: Vec<Uuid> = rows.rows.iter().map(|r| r.1).collect();
    let mut profiles = profiles_by_id(db, &ids).await?;
    Ok((facts, filter_map_rows(rows, |id, vf| profiles.remove(&id).map(|p| (vf, p))), total))
}

/// Every volunteer eligible for `need`, with their score and slot in the index, as `volunteers_for_need` ranks
/// them but unpaged: what `newMatches` tells each subscribed volunteer of a need just published (one scan a
/// publication, however many subscribers). Also the need's facts, for the explanations.
pub async fn scores_for_need(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    need: &need::Model,
    today: NaiveDate,
) -> AppResult<(NeedFacts, HashMap<Uuid, (f64, u32)>)> {
    let (existing, verified) = candidates_of(db, index, need, today).await?;
    let view = index.read();
    let facts = need_facts(&need.into(), view.active_applicants(need.id));
    let scores = view
        .volunteers_for(&facts, |v| existing.status(v), today)
        .into_iter()
        .filter(|(_, id, _)| verified.as_ref().is_none_or(|v| v.contains(id)))
        .map(|(score, id, slot)| (id, (score, slot)))
        .collect();
    Ok((facts, scores))
}

/// A page of the open needs `profile`'s volunteer is eligible for, best first, with their facts and rows.
pub async fn needs_for_volunteer(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    profile: &volunteer_profile::Model,
    page: &Page,
    order: &'static str,
    today: NaiveDate,
) -> AppResult<(VolunteerFacts, PageRows<Ranked<(NeedFacts, need::Model)>>, i64)> {
    index.refresh(db).await?;
    let existing = applications_of_volunteer(db, profile.id).await?;
    let verified = verifications_if_asked(db, index, profile.id).await?;
    let facts = volunteer_facts(&profile.into());
    let (rows, total) = {
        let view = index.read();
        let mut scored = view.needs_for(&facts, |n| existing.get(&n).copied(), today);
        if let Some(verified) = &verified {
            scored.retain(|(_, _, slot)| {
                view.need(*slot).is_some_and(|n| verification::admits(&n.facts, verified, today))
            });
        }
        let (rows, total) = rank_page(scored, page, order)?;
        (filter_map_rows(rows, |_, slot| view.need(slot).map(|n| n.facts.clone())), total)
    };
    let ids: Vec<Uuid> = rows.rows.iter().map(|r| r.1).collect();
    let mut needs = needs_by_id(db, &ids).await?;
    Ok((facts, filter_map_rows(rows, |id, nf| needs.remove(&id).map(|n| (nf, n))), total))
}

/// Open needs for someone turned away from a full one: the ones matching finds them eligible for, the same kind of
/// need first, then best first; at most `first`.
pub async fn similar_open_needs(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    user_id: Uuid,
    full: Uuid,
    first: usize,
) -> AppResult<Vec<Uuid>> {
    let Some(profile) = crate::volunteers::find_for_user(db, user_id).await? else { return Ok(Vec::new()) };
    let Some(category) = needs_by_id(db, &[full]).await?.remove(&full).map(|n| n.category) else {
        return Ok(Vec::new());
    };
    index.refresh(db).await?;
    let existing = applications_of_volunteer(db, profile.id).await?;
    let verified = verifications_if_asked(db, index, profile.id).await?.unwrap_or_default();
    let facts = volunteer_facts(&(&profile).into());
    let view = index.read();
    let mut scored: Vec<(bool, f64, Uuid)> = view
        .needs_for(&facts, |n| existing.get(&n).copied(), today())
        .into_iter()
        .filter(|(_, id, _)| *id != full)
        .filter_map(|(score, id, slot)| view.need(slot).map(|n| (n, score, id)))
        .filter(|(n, _, _)| verification::admits(&n.facts, &verified, today()))
        .map(|(n, score, id)| (n.facts.category.as_db() == category, score, id))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    Ok(scored.into_iter().take(first).map(|(_, _, id)| id).collect())
}

/// The volunteer's verified DBS checks, read only when some open need requires one (most never do): then one
/// statement, otherwise none.
async fn verifications_if_asked(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    volunteer_id: Uuid,
) -> AppResult<Option<Vec<entity::dbs_verification::Model>>> {
    let asked = index.read().requires_verification();
    if !asked {
        return Ok(None);
    }
    Ok(Some(verification::of_volunteers(db, &[volunteer_id]).await?.remove(&volunteer_id).unwrap_or_default()))
}

pub fn rank_cursor(order: &'static str, score: f64, id: Uuid) -> Cursor {
    Cursor { order: order.into(), key: SortValue::Number(score), id }
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

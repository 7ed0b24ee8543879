//! Need rules: drafting, publishing, closing, editing, places, and the filtered listing.
use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{NeedCategory, NeedId, NeedOrder, NeedStatus, SignupMode};
use crate::access::{self, AuthUser, Viewer};
use crate::error::{AppError, AppResult};
use crate::live::{self, Signal};
use crate::now;
use crate::organisations::OrganisationId;
use crate::partnerships::priorities::{self, Tagged};
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_decoded};
use crate::store::rows::{self, ByPosition, Read, Shown};
use crate::store::{Reads, text_search};
use crate::values::geo::{display_km, near_condition, sql::distance_sq};
use crate::values::text::json_tags;
use crate::values::{Coordinates, Patch, Postcode, RadiusKm, TimeWindow, bounded_text, tags};
use crate::volunteers::DbsLevel;
use crate::webhooks::{WebhookEvent, outbox};
use entity::{need, need_skill, organisation};

/// A need as its organisation posts it (as a DRAFT). Text and tags are checked here; places, locations and
/// postcodes arrive parsed.
#[derive(Clone, Debug)]
pub struct NewNeed {
    pub organisation_id: OrganisationId,
    pub title: String,
    pub description: String,
    pub category: NeedCategory,
    pub required_skills: Vec<String>,
    pub languages: Vec<String>,
    pub safeguarding: DbsLevel,
    pub schedule: Schedule,
    /// Required unless `remote`.
    pub location: Option<Coordinates>,
    pub postcode: Option<Postcode>,
    pub remote: bool,
    pub volunteers_needed: i32,
    /// The organisation's project it is part of.
    pub project_id: Option<Uuid>,
    /// The partnership priorities it serves.
    pub priority_ids: Vec<Uuid>,
    /// How many may wait for a place when it is full; `None`: as many again as its places.
    pub waitlist_cap: Option<i32>,
    pub signup_mode: SignupMode,
    /// PER_SESSION: how many may sign up for one session; `None`: its places.
    pub session_capacity: Option<i32>,
    /// Volunteers need a DBS check verified by the organisation (`volunteers::verification`).
    pub safeguarding_verified: bool,
}

/// When a need happens: weekly windows, and/or a date range. A one-off need has `start_date == end_date`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    pub weekly: Vec<TimeWindow>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// A change to a need: `None` and `Patch::Keep` leave a field as it is.
#[derive(Clone, Debug, Default)]
pub struct NeedPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<NeedCategory>,
    pub required_skills: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub safeguarding: Option<DbsLevel>,
    pub schedule: Patch<Schedule>,
    pub location: Patch<Coordinates>,
    pub postcode: Patch<Postcode>,
    pub remote: Option<bool>,
    /// Cannot go below the places already taken.
    pub volunteers_needed: Option<i32>,
    pub project_id: Patch<Uuid>,
    pub priority_ids: Option<Vec<Uuid>>,
    /// `Clear`: as many again as its places.
    pub waitlist_cap: Patch<i32>,
    pub signup_mode: Option<SignupMode>,
    /// `Clear`: its places.
    pub session_capacity: Patch<i32>,
    pub safeguarding_verified: Option<bool>,
}

/// Which needs a listing shows (every status the caller may see when `status` is `None`).
#[derive(Clone, Debug, Default)]
pub struct NeedFilter {
    pub categories: Option<Vec<NeedCategory>>,
    pub status: Option<NeedStatus>,
    pub organisation_id: Option<OrganisationId>,
    /// Needs that require any of these skills (normalised here).
    pub skills: Option<Vec<String>>,
    /// Words to find in the title or description.
    pub text: Option<String>,
    /// In-person needs within a radius of a point.
    pub near: Option<(Coordinates, RadiusKm)>,
    pub remote: Option<bool>,
}

pub const MAX_PLACES: i32 = 1000;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<need::Model> {
    need::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("need"))
}

fn check_schedule(field: &str, schedule: &Schedule) -> AppResult<()> {
    if let (Some(start), Some(end)) = (schedule.start_date, schedule.end_date)
        && end < start
    {
        return Err(AppError::bad_input(format!("{field}.endDate"), "must not be before the start date"));
    }
    if let Some(end) = schedule.end_date
        && end < now().date_naive()
    {
        return Err(AppError::bad_input(format!("{field}.endDate"), "must not be in the past"));
    }
    Ok(())
}

fn parse_places(field: &str, n: i32) -> AppResult<i32> {
    if !(1..=MAX_PLACES).contains(&n) {
        return Err(AppError::bad_input(field, format!("must be between 1 and {MAX_PLACES}")));
    }
    Ok(n)
}

fn parse_waitlist_cap(n: Option<i32>) -> AppResult<Option<i32>> {
    match n {
        Some(n) if !(0..=MAX_PLACES).contains(&n) => {
            Err(AppError::bad_input("input.waitlistCap", format!("must be between 0 and {MAX_PLACES}")))
        }
        other => Ok(other),
    }
}

fn check_place(remote: bool, location: Option<Coordinates>) -> AppResult<()> {
    if !remote && location.is_none() {
        return Err(AppError::bad_input("input.location", "an in-person need needs a location (or set remote: true)"));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    input: NewNeed,
) -> AppResult<need::Model> {
    let OrganisationId(organisation_id) = input.organisation_id;
    crate::organisations::get(db, organisation_id).await?;
    access::require_coordinator(db, actor, organisation_id).await?;

    let title = bounded_text("input.title", &input.title, 3, 140)?;
    let description = bounded_text("input.description", &input.description, 0, 5000)?;
    let skills = tags("input.requiredSkills", &input.required_skills, 20)?;
    let languages = tags("input.languages", &input.languages, 10)?;
    let schedule = input.schedule;
    check_schedule("input.schedule", &schedule)?;
    let location = input.location;
    let postcode = input.postcode.map(Postcode::into_inner);
    check_place(input.remote, location)?;
    let places = parse_places("input.volunteersNeeded", input.volunteers_needed)?;
    let waitlist_cap = parse_waitlist_cap(input.waitlist_cap)?;
    let session_capacity = input.session_capacity.map(|n| parse_places("input.sessionCapacity", n)).transpose()?;
    crate::projects::service::check_need_project(db, organisation_id, input.project_id).await?;
    let priority_ids = priorities::check_tags(db, "input.priorityIds", &input.priority_ids, &[]).await?;

    let txn = db.begin().await?;
    let now = now();
    let need = need::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        title: Set(title),
        description: Set(description),
        category: Set(input.category.as_db().to_owned()),
        required_skills: Set(json_tags(&skills)),
        languages: Set(json_tags(&languages)),
        safeguarding: Set(input.safeguarding.as_db().to_owned()),
        weekly_schedule: Set(TimeWindow::to_json(&schedule.weekly)),
        schedule_mask: Set(TimeWindow::week_mask(&schedule.weekly)),
        start_date: Set(schedule.start_date),
        end_date: Set(schedule.end_date),
        postcode: Set(postcode),
        lat: Set(location.map(|l| l.lat())),
        lng: Set(location.map(|l| l.lng())),
        remote: Set(input.remote),
        volunteers_needed: Set(places),
        places_taken: Set(0),
        status: Set(NeedStatus::Draft.as_db().to_owned()),
        published_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        project_id: Set(input.project_id),
        waitlist_cap: Set(waitlist_cap),
        signup_mode: Set(input.signup_mode.as_db().to_owned()),
        session_capacity: Set(session_capacity),
        safeguarding_verified: Set(input.safeguarding_verified),
    }
    .insert(&txn)
    .await?;
    replace_skills(&txn, need.id, &skills).await?;
    priorities::set_tags(&txn, Tagged::Need, need.id, &priority_ids, &[]).await?;
    txn.commit().await?;
    Ok(need)
}

async fn replace_skills(db: &impl ConnectionTrait, need_id: Uuid, skills: &[String]) -> AppResult<()> {
    need_skill::Entity::delete_many().filter(need_skill::Column::NeedId.eq(need_id)).exec(db).await?;
    if !skills.is_empty() {
        let rows = skills.iter().map(|s| need_skill::ActiveModel { need_id: Set(need_id), skill: Set(s.clone()) });
        need_skill::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    NeedId(id): NeedId,
    input: NeedPatch,
) -> AppResult<need::Model> {
    // Reads happen before the transaction: on SQLite a transaction that reads and then writes fails at once
    // ("database is locked") if another connection committed in between. Places and status are not
    // read-then-written here (see `set_places`), so reading outside is safe.
    let current = get(db, id).await?;
    access::require_coordinator(db, actor, current.organisation_id).await?;
    let project_id = input.project_id.apply(current.project_id);
    if project_id != current.project_id {
        crate::projects::service::check_need_project(db, current.organisation_id, project_id).await?;
    }
    let tagged = match &input.priority_ids {
        Some(ids) => {
            let already = priorities::tags_of(db, Tagged::Need, id).await?;
            Some((priorities::check_tags(db, "input.priorityIds", ids, &already).await?, already))
        }
        None => None,
    };
    let txn = db.begin().await?;
    if let Some((ids, already)) = tagged {
        priorities::set_tags(&txn, Tagged::Need, id, &ids, &already).await?;
    }

    let mut active = current.clone().into_active_model();
    if let Some(title) = &input.title {
        active.title = Set(bounded_text("input.title", title, 3, 140)?);
    }
    if let Some(description) = &input.description {
        active.description = Set(bounded_text("input.description", description, 0, 5000)?);
    }
    if let Some(category) = input.category {
        active.category = Set(category.as_db().to_owned());
    }
    if let Some(skills) = &input.required_skills {
        let skills = tags("input.requiredSkills", skills, 20)?;
        active.required_skills = Set(json_tags(&skills));
        replace_skills(&txn, id, &skills).await?;
    }
    if let Some(languages) = &input.languages {
        active.languages = Set(json_tags(&tags("input.languages", languages, 10)?));
    }
    if let Some(level) = input.safeguarding {
        active.safeguarding = Set(level.as_db().to_owned());
    }
    let cleared = matches!(input.schedule, Patch::Clear);
    if let Some(s) = input.schedule.apply(None) {
        check_schedule("input.schedule", &s)?;
        active.weekly_schedule = Set(TimeWindow::to_json(&s.weekly));
        active.schedule_mask = Set(TimeWindow::week_mask(&s.weekly));
        active.start_date = Set(s.start_date);
        active.end_date = Set(s.end_date);
    } else if cleared {
        active.weekly_schedule = Set(TimeWindow::to_json(&[]));
        active.schedule_mask = Set(0);
        active.start_date = Set(None);
        active.end_date = Set(None);
    }
    let (location, postcode) = crate::organisations::service::patch_place(
        Coordinates::from_stored(current.lat, current.lng),
        current.postcode.clone(),
        input.location,
        input.postcode,
    );
    active.lat = Set(location.map(|l| l.lat()));
    active.lng = Set(location.map(|l| l.lng()));
    active.postcode = Set(postcode);
    let remote = input.remote.unwrap_or(current.remote);
    active.remote = Set(remote);
    active.project_id = Set(project_id);
    active.waitlist_cap = Set(parse_waitlist_cap(input.waitlist_cap.apply(current.waitlist_cap))?);
    if let Some(verified) = input.safeguarding_verified {
        active.safeguarding_verified = Set(verified);
    }
    if let Some(mode) = input.signup_mode {
        active.signup_mode = Set(mode.as_db().to_owned());
    }
    active.session_capacity = Set(input
        .session_capacity
        .apply(current.session_capacity)
        .map(|n| parse_places("input.sessionCapacity", n))
        .transpose()?);
    check_place(remote, location)?;
    active.updated_at = Set(now());
    // Places and status are changed only by the conditional statement below, never from a stale read.
    active.places_taken = sea_orm::ActiveValue::NotSet;
    active.status = sea_orm::ActiveValue::NotSet;
    active.volunteers_needed = sea_orm::ActiveValue::NotSet;
    active.update(&txn).await?;

    if let Some(n) = input.volunteers_needed {
        let n = parse_places("input.volunteersNeeded", n)?;
        set_places(&txn, id, n).await?;
        // More places go first to those waiting.
        crate::applications::waitlist::offer_places(&txn, id).await?;
    }
    let need = get(&txn, id).await?;
    if need.status != NeedStatus::Draft.as_db() {
        outbox::need_event(&txn, WebhookEvent::NeedUpdated, &need).await?;
        live::signal(&txn, Signal::NeedUpdated(need.id)).await?;
    }
    txn.commit().await?;
    Ok(need)
}

/// Sets the number of places; refuses to go below the places already taken, and moves OPEN/FILLED to match.
async fn set_places(db: &impl ConnectionTrait, id: Uuid, places: i32) -> AppResult<()> {
    use need::Column as C;
    let status = status_for_places(Expr::col(C::PlacesTaken).gte(places));
    let result = need::Entity::update_many()
        .col_expr(C::VolunteersNeeded, Expr::value(places))
        .col_expr(C::Status, status)
        .filter(C::Id.eq(id))
        .filter(C::PlacesTaken.lte(places))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict("more volunteers are already accepted than that; decline some first"));
    }
    Ok(())
}

/// `CASE WHEN status IN (OPEN, FILLED) THEN (CASE WHEN full THEN FILLED ELSE OPEN) ELSE status END`.
fn status_for_places(full: SimpleExpr) -> SimpleExpr {
    let open_or_filled = Expr::col(need::Column::Status).is_in([NeedStatus::Open.as_db(), NeedStatus::Filled.as_db()]);
    let inner = Expr::case(full, NeedStatus::Filled.as_db()).finally(NeedStatus::Open.as_db());
    Expr::case(open_or_filled, inner).finally(Expr::col(need::Column::Status)).into()
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn publish(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    NeedId(id): NeedId,
) -> AppResult<need::Model> {
    use need::Column as C;
    let need = get(db, id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    if let Some(end) = need.end_date
        && end < now().date_naive()
    {
        return Err(AppError::bad_input("input.needId", "this need's end date has passed; update its schedule first"));
    }
    let now = now();
    let full = Expr::col(C::PlacesTaken).gte(Expr::col(C::VolunteersNeeded));
    let txn = db.begin().await?;
    let published = need::Entity::update_many()
        .col_expr(C::Status, Expr::case(full, NeedStatus::Filled.as_db()).finally(NeedStatus::Open.as_db()).into())
        .col_expr(C::PublishedAt, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(C::Status.is_in([NeedStatus::Draft.as_db(), NeedStatus::Closed.as_db()]))
        .exec_with_returning(&txn)
        .await?;
    // Publishing a need already public changes nothing, and says nothing.
    if let Some(need) = published.first() {
        outbox::need_event(&txn, WebhookEvent::NeedPublished, need).await?;
        live::signal(&txn, Signal::NeedPublished(need.id)).await?;
        // A need reopened after closing offers its free places to those still waiting.
        crate::applications::waitlist::offer_places(&txn, id).await?;
    }
    txn.commit().await?;
    get(db, id).await
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn close(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    NeedId(id): NeedId,
) -> AppResult<need::Model> {
    use need::Column as C;
    let need = get(db, id).await?;
    access::require_coordinator(db, actor, need.organisation_id).await?;
    // A draft was never public: closing it would publish it as CLOSED.
    if need.status == NeedStatus::Draft.as_db() {
        return Err(AppError::conflict("this need is a draft: publish it, or leave it as a draft"));
    }
    let txn = db.begin().await?;
    let closed = need::Entity::update_many()
        .col_expr(C::Status, Expr::value(NeedStatus::Closed.as_db()))
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(id))
        .filter(C::Status.is_in([NeedStatus::Open.as_db(), NeedStatus::Filled.as_db()]))
        .exec_with_returning(&txn)
        .await?;
    if let Some(need) = closed.first() {
        outbox::need_event(&txn, WebhookEvent::NeedClosed, need).await?;
        live::signal(&txn, Signal::NeedUpdated(need.id)).await?;
    }
    txn.commit().await?;
    get(db, id).await
}

/// Takes one place on an OPEN need, atomically: the conditional UPDATE is what stops overbooking, on
/// both backends (SQLite ignores SELECT … FOR UPDATE; a read-then-write overbooks on PostgreSQL).
/// The need becomes FILLED when the last place goes.
pub async fn take_place(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<()> {
    use need::Column as C;
    let taken_after = Expr::col(C::PlacesTaken).add(1);
    let result = need::Entity::update_many()
        .col_expr(C::PlacesTaken, taken_after.clone())
        .col_expr(
            C::Status,
            Expr::case(Expr::expr(taken_after).gte(Expr::col(C::VolunteersNeeded)), NeedStatus::Filled.as_db())
                .finally(NeedStatus::Open.as_db())
                .into(),
        )
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(need_id))
        .filter(C::Status.eq(NeedStatus::Open.as_db()))
        .filter(Expr::col(C::PlacesTaken).lt(Expr::col(C::VolunteersNeeded)))
        .exec_with_returning(db)
        .await?;
    let Some(need) = result.first() else {
        return Err(AppError::conflict("this need has no places left or is not open"));
    };
    // Places left is public, and shown by partners' listings.
    outbox::need_event(db, WebhookEvent::NeedUpdated, need).await?;
    live::signal(db, Signal::NeedUpdated(need.id)).await
}

/// Holds the need's row until the transaction ends, by a conditional UPDATE that changes nothing (PostgreSQL's row
/// lock; SQLite's write lock, and a write first, so the lock never has to be upgraded): what a transaction that
/// counts something of the need and then adds to it (a waitlist, a session's sign-ups) takes first, so that its
/// count stays true until it commits. The row as held; `None` if there is no such need.
pub async fn hold(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<Option<need::Model>> {
    use need::Column as C;
    let held = need::Entity::update_many()
        .col_expr(C::PlacesTaken, Expr::col(C::PlacesTaken))
        .filter(C::Id.eq(need_id))
        .exec_with_returning(db)
        .await?;
    Ok(held.into_iter().next())
}

/// Gives a place back; a FILLED need reopens.
pub async fn free_place(db: &impl ConnectionTrait, need_id: Uuid) -> AppResult<()> {
    use need::Column as C;
    let result = need::Entity::update_many()
        .col_expr(C::PlacesTaken, Expr::col(C::PlacesTaken).sub(1))
        .col_expr(
            C::Status,
            Expr::case(Expr::col(C::Status).eq(NeedStatus::Filled.as_db()), NeedStatus::Open.as_db())
                .finally(Expr::col(C::Status))
                .into(),
        )
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(need_id))
        .filter(C::PlacesTaken.gt(0))
        .exec_with_returning(db)
        .await?;
    match result.first() {
        Some(need) if need.status != NeedStatus::Draft.as_db() => {
            outbox::need_event(db, WebhookEvent::NeedUpdated, need).await?;
            live::signal(db, Signal::NeedUpdated(need.id)).await
        }
        _ => Ok(()),
    }
}

/// A need row plus the squared distance selected alongside it for `near` searches, and its organisation when the
/// caller asked for it to be joined (columns prefixed `o_`).
struct ListedNeed {
    need: Read<need::Model>,
    distance_sq: Option<f64>,
    organisation: Option<Read<organisation::Model>>,
}

/// Prefix of the organisation's columns in a listing that joins them, and the first of them.
const ORGANISATION_PREFIX: &str = "o_";
const ORGANISATION_ID: &str = "o_id";

impl ListedNeed {
    /// The need's columns come first (`needs.*`, those the document shows), then its distance when searched near
    /// a place, then its organisation's when joined.
    fn decode(row: &sea_orm::QueryResult, at: &ListedLayout, shown: &Shown) -> Result<Self, sea_orm::DbErr> {
        let distance_sq = match at.distance_sq {
            Some(at) => rows::value::<Option<f64>>(row, at)?,
            None => None,
        };
        Ok(Self {
            need: need::Model::read_at(row, 0, shown.columns::<need::Entity>())?,
            distance_sq,
            organisation: rows::joined::<organisation::Model>(
                row,
                at.organisation,
                shown.columns::<organisation::Entity>(),
            )?,
        })
    }

    /// Where the distance and the organisation are, and the first row's types checked (see `rows::check`).
    fn layout(row: &sea_orm::QueryResult, shown: &Shown) -> Result<ListedLayout, sea_orm::DbErr> {
        let at = ListedLayout {
            distance_sq: rows::position(row, "distance_sq"),
            organisation: rows::position(row, ORGANISATION_ID),
        };
        rows::check::<need::Model>(row, 0, shown.columns::<need::Entity>())?;
        if let Some(distance) = at.distance_sq {
            rows::checked_value::<Option<f64>>(row, distance)?;
        }
        rows::check_joined::<organisation::Model>(row, at.organisation, shown.columns::<organisation::Entity>())?;
        Ok(at)
    }
}

/// Where a listing's distance and joined organisation are (the same in every row of a result).
struct ListedLayout {
    distance_sq: Option<usize>,
    organisation: Option<usize>,
}

/// A page of needs, the statement that counts the whole list (run only if a caller wants the total), and the
/// page's organisations when they were joined (for the organisation loader's cache).
pub struct Listed {
    pub rows: PageRows<ListedRow>,
    pub count: SelectStatement,
    pub organisations: Vec<Read<organisation::Model>>,
}

/// One need of a page: its row (only the columns `shown`), its cursor, and its distance from `filter.near`.
pub struct ListedRow {
    pub need: Read<need::Model>,
    pub cursor: Cursor,
    pub distance_km: Option<f64>,
}

fn col(c: need::Column) -> SimpleExpr {
    Expr::col((need::Entity, c))
}

/// The inner ring of a nearest-first search, as a fraction of the radius.
const RING_FRACTION: f64 = 10.0;

/// A page from the inner ring if it holds a whole page (`rows` rows, as `counted` counts them: every need in it is
/// nearer than any outside it), else from the whole radius; in one statement, for either database: the second scan is skipped when the
/// first is enough (on PostgreSQL a one-time filter, so it never starts). Ordered by the caller.
fn ring_search(
    ring: sea_orm::sea_query::SelectStatement,
    counted: sea_orm::sea_query::SelectStatement,
    whole: sea_orm::sea_query::SelectStatement,
    rows: u64,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Asterisk, SubQueryStatement, UnionType};
    let count = Query::select().expr(Expr::cust("COUNT(*)")).from_subquery(counted, Alias::new("counted")).to_owned();
    let in_ring = Expr::expr(SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(count))));
    let mut from_ring = Query::select()
        .column(Asterisk)
        .from_subquery(ring, Alias::new("ring"))
        .and_where(in_ring.clone().gte(rows))
        .to_owned();
    let from_whole = Query::select()
        .column(Asterisk)
        .from_subquery(whole, Alias::new("whole"))
        .and_where(in_ring.lt(rows))
        .to_owned();
    from_ring.union(UnionType::All, from_whole);
    Query::select().column(Asterisk).from_subquery(from_ring, need::Entity).to_owned()
}

const FAR_FUTURE: Option<NaiveDate> = NaiveDate::from_ymd_opt(9999, 12, 31);

/// A page of needs. With `with_organisations`, each need's organisation comes in the same statement (a join), so
/// a listing that shows organisations runs one statement rather than two.
#[tracing::instrument(skip_all)]
pub async fn list(
    reads: &Reads,
    viewer: &Viewer,
    filter: NeedFilter,
    order: NeedOrder,
    page: &Page,
    with_organisations: bool,
    shown: &Shown,
) -> AppResult<Listed> {
    use need::Column as C;
    let db = reads.db();
    let backend = db.get_database_backend();
    // Nearest first sorts the page again outside the statement that selects it, by its coordinates.
    let shown = match filter.near {
        Some(_) => shown.with::<need::Entity>(&["lat", "lng"]),
        None => *shown,
    };
    let shown = &shown;
    // The page's needs, with only the columns the document shows.
    let needs_where = |cond: Condition| {
        let mut select = need::Entity::find().filter(cond).into_query();
        select.clear_selects();
        shown.select::<need::Entity>(&mut select, "");
        select
    };
    let mut cond = Condition::all();

    // Visibility: drafts only of the caller's own organisations (all of them for platform admins).
    let requested: Vec<NeedStatus> = filter.status.map(|s| vec![s]).unwrap_or_else(|| NeedStatus::ALL.to_vec());
    let public: Vec<&str> = requested.iter().filter(|s| **s != NeedStatus::Draft).map(|s| s.as_db()).collect();
    let mut visible = Condition::any().add(C::Status.is_in(public));
    if requested.contains(&NeedStatus::Draft) {
        if viewer.is_admin() {
            visible = visible.add(C::Status.eq(NeedStatus::Draft.as_db()));
        } else {
            let mine: Vec<Uuid> = viewer.memberships(db).await?.keys().copied().collect();
            if !mine.is_empty() {
                visible = visible.add(
                    Condition::all().add(C::Status.eq(NeedStatus::Draft.as_db())).add(C::OrganisationId.is_in(mine)),
                );
            }
        }
    }
    cond = cond.add(visible);

    if let Some(categories) = &filter.categories {
        cond = cond.add(C::Category.is_in(categories.iter().map(|c| c.as_db())));
    }
    if let Some(org) = &filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(org.0));
    }
    if let Some(skills) = &filter.skills {
        let skills = tags("filter.skills", skills, 20)?;
        if !skills.is_empty() {
            let with_skill = Query::select()
                .column(need_skill::Column::NeedId)
                .from(need_skill::Entity)
                .and_where(need_skill::Column::Skill.is_in(skills))
                .to_owned();
            cond = cond.add(C::Id.in_subquery(with_skill));
        }
    }
    if let Some(text) = &filter.text {
        cond = cond.add(text_search("filter.text", text, [C::Title, C::Description])?);
    }
    if let Some(remote) = filter.remote {
        cond = cond.add(C::Remote.eq(remote));
    }
    let (center, radius) = match filter.near {
        Some((center, radius)) => {
            cond = cond.add(near_condition(C::Lat, C::Lng, &center, radius));
            (Some(center), Some(radius))
        }
        None => (None, None),
    };

    let select = needs_where(cond.clone());
    let count = select.clone();
    let sort = match (order, &center) {
        (NeedOrder::Newest, _) => SortKey {
            name: "needs:NEWEST",
            kind: SortKind::Time,
            key: col(C::CreatedAt),
            id: col(C::Id),
            descending: true,
        },
        (NeedOrder::Soonest, _) => SortKey {
            name: "needs:SOONEST",
            kind: SortKind::Date,
            key: Func::coalesce([col(C::StartDate), Expr::value(FAR_FUTURE)]).into(),
            id: col(C::Id),
            descending: false,
        },
        (NeedOrder::Nearest, Some(center)) => SortKey {
            name: "needs:NEAREST",
            kind: SortKind::Number,
            key: distance_sq(C::Lat, C::Lng, center),
            id: col(C::Id),
            descending: false,
        },
        (NeedOrder::Nearest, None) => {
            return Err(AppError::bad_input("orderBy", "NEAREST needs filter.near"));
        }
    };
    let page_of = |mut select: sea_orm::sea_query::SelectStatement| -> AppResult<_> {
        if let Some(center) = &center {
            select.expr_as(distance_sq(C::Lat, C::Lng, center), Alias::new("distance_sq"));
        }
        sort.apply(&mut select, page)?;
        Ok(select)
    };
    let mut paged = page_of(select)?;
    if let (NeedOrder::Nearest, Some(center), Some(radius), false) = (order, &center, radius, page.backward) {
        // Nearest first: look within a tenth of the radius before the whole of it. In a city the inner ring
        // holds a page; the whole radius there has thousands of candidates to measure and sort.
        let inner = RadiusKm::new("filter.near.radiusKm", radius.km() / RING_FRACTION)?;
        let in_ring = cond.add(near_condition(C::Lat, C::Lng, center, inner));
        // Counting needs neither the rows nor their order: ids past the cursor, up to a page.
        let mut counted =
            Query::select().column((need::Entity, C::Id)).from(need::Entity).cond_where(in_ring.clone()).to_owned();
        sort.apply(&mut counted, page)?;
        counted.clear_order_by();
        let ring = page_of(needs_where(in_ring))?;
        paged = ring_search(ring, counted, paged, page.limit + 1);
        sort.order(&mut paged, page);
    }
    if with_organisations {
        // The page first, then its organisations: joining before the sort would carry every candidate's
        // organisation through it (thousands of rows for a `near` search in a city).
        let mut joined = Query::select();
        joined.column((need::Entity, sea_orm::sea_query::Asterisk)).from_subquery(paged, need::Entity);
        let same_organisation =
            Expr::col((organisation::Entity, organisation::Column::Id)).equals((need::Entity, C::OrganisationId));
        if backend == sea_orm::DatabaseBackend::Postgres {
            // One primary-key lookup per row of the page. As a plain join, a prepared (generic) plan, which does
            // not know the page size, hashed the whole organisations table for every page: twice the time.
            // The LIMIT keeps PostgreSQL from flattening the lateral subquery back into that join.
            let one = Query::select()
                .column((organisation::Entity, sea_orm::sea_query::Asterisk))
                .from(organisation::Entity)
                .cond_where(same_organisation)
                .limit(1)
                .to_owned();
            joined.join_lateral(sea_orm::JoinType::InnerJoin, one, organisation::Entity, Expr::cust("TRUE"));
        } else {
            // SQLite has no LATERAL, and looks organisations up by key for a page this small anyway.
            joined.inner_join(organisation::Entity, same_organisation);
        }
        shown.select::<organisation::Entity>(&mut joined, ORGANISATION_PREFIX);
        sort.order(&mut joined, page);
        paged = joined;
    }
    let mut rows = fetch_decoded(
        reads,
        &paged,
        |row| ListedNeed::layout(row, shown),
        |row, at| ListedNeed::decode(row, at, shown),
    )
    .await?;
    let organisations = rows.iter_mut().filter_map(|r| r.organisation.take()).collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let n = row.need;
            let key = match order {
                NeedOrder::Newest => SortValue::Time(*n.created_at()),
                NeedOrder::Soonest => SortValue::Date(n.start_date().or(FAR_FUTURE).unwrap_or_default()),
                NeedOrder::Nearest => SortValue::Number(row.distance_sq.unwrap_or(f64::MAX)),
            };
            ListedRow { cursor: sort.cursor(key, *n.id()), distance_km: row.distance_sq.map(display_km), need: n }
        })
        .collect();
    Ok(Listed { rows: PageRows::from_fetched(rows, page), count, organisations })
}

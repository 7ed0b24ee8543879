use sea_orm::entity::prelude::*;

/// Something an organisation needs people (or space, or introductions) for.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "needs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    /// Normalised skill tags as a JSON array; `need_skills` indexes the same tags for filtering.
    pub required_skills: Json,
    /// Language names as a JSON array.
    pub languages: Json,
    /// NONE | BASIC | STANDARD | ENHANCED | ENHANCED_BARRED_LISTS
    pub safeguarding: String,
    /// Weekly time windows as a JSON array of {day, start, end} (minutes from midnight).
    pub weekly_schedule: Json,
    /// `TimeWindow::week_mask` of `weekly_schedule` (0: none, or not computed).
    pub schedule_mask: i64,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub remote: bool,
    pub volunteers_needed: i32,
    /// Accepted volunteers holding a place; only ever changed by a conditional UPDATE.
    pub places_taken: i32,
    /// DRAFT | OPEN | FILLED | CLOSED
    pub status: String,
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The project it is part of, if any (same organisation).
    pub project_id: Option<Uuid>,
    /// How many applications may wait when it is full; none: as many again as its places.
    pub waitlist_cap: Option<i32>,
    /// ONGOING (accepted volunteers come to every session) | PER_SESSION (they sign up session by session).
    pub signup_mode: String,
    /// PER_SESSION: how many may sign up for one session; none: its places.
    pub session_capacity: Option<i32>,
    /// Volunteers must have a DBS check verified by the need's organisation (`dbs_verifications`) at its
    /// `safeguarding` level.
    pub safeguarding_verified: bool,
}

impl ActiveModelBehavior for ActiveModel {}

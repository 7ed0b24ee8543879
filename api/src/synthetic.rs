//! Reproducible city-scale synthetic data (`pitchin seed --synthetic`): the data set that matching and the read
//! benchmarks are measured against. Owns the generator and its tables of places, names and vocabularies.
//!
//! Every synthetic account signs in with the password [`PASSWORD`] (`synthetic-password-1`). All accounts share one
//! argon2 hash, computed once: hashing 100,000 passwords one by one would take hours. Emails are
//! `volunteer{i}@synthetic.example`, `organiser{k}@synthetic.example` (the OWNER of organisation k) and
//! `coordinator{k}@synthetic.example` (its COORDINATOR, when it has one), counting from 1.
//!
//! What [`generate`] builds, for `volunteers` V, `needs` M, `organisations` K and `applications` A:
//! - **Places**: 85% of organisations and volunteers in 19 UK cities weighted roughly by population (London
//!   about a third), scattered (normal, σ 1.5 km) around real neighbourhood centres with their outward postcode
//!   ("M14", "LS7"); 15% in 8 rural areas (Suffolk, Norfolk, Cumbria, Devon, the Highlands, Powys, North Yorkshire,
//!   Lincolnshire) around market towns and villages with σ 5 km. Inward codes are random ("4PQ").
//! - **Organisations**: K of 8 kinds (charities 30%, community groups 25%, social enterprises, faith groups and
//!   businesses 10% each, community partnerships, party associations, councils), named from their area and a
//!   pattern ("Leeds Jobs Club", "Moss Side Youth Trust"), each with a focus category; one OWNER each, and a
//!   COORDINATOR for 40%. Their sizes follow a Zipf-like law (rank^-0.6), so a few large organisations post
//!   hundreds of needs and most post a handful.
//! - **Needs**: M OPEN needs, plus about 3% FILLED, 2% CLOSED and 1% DRAFT on top (so the default scale has exactly
//!   20,000 open needs among 21,200). 60% in the organisation's focus category, the rest from a mix led by English
//!   classes, jobs clubs, befriending, youth clubs and IT skills; 0–3 required skills from the category's
//!   vocabulary; learners' languages on English classes; safeguarding by category (youth clubs and mentoring
//!   mostly ENHANCED or ENHANCED_BARRED_LISTS); weekly windows by category (youth clubs in the evenings,
//!   environment at weekends); a quarter with a date range, some one-off dates; about 10% remote (no location);
//!   1–6 places; at or near the organisation.
//! - **Volunteers**: V accounts and profiles with 2–6 skills (a primary interest's vocabulary first, synonyms such
//!   as "esol" or "tefl" sometimes), 1–3 interests, English and often another language, a travel radius of 2–20 km
//!   in cities and 8–25 km in the country, 1–4 weekly windows (evenings most often), and DBS checks: 40% none,
//!   the rest issued in the last three years, a third of them on the update service.
//! - **Applications**: A distinct (need, volunteer) pairs; volunteers mostly apply near home (85% from the need's
//!   area); needs of larger organisations draw more applicants (weight √size), so the biggest organisations' needs
//!   have about ten each. FILLED needs are filled exactly by ACCEPTED applications; elsewhere 18% are meant to be
//!   ACCEPTED, but an OPEN need always keeps a place free and a CLOSED one never goes over, so the others stay
//!   APPLIED (about 15% ACCEPTED in all at the default scale); 8% DECLINED, 5% WITHDRAWN, the rest APPLIED.
//!   `places_taken` always equals the number of ACCEPTED applications. No INVITED applications: those come from
//!   `confirmAssignments`.
//! - **Offers**: 3% of organisations offer space, introductions or equipment.
//!
//! Values are stored exactly as the API stores them: enums as their SCREAMING_SNAKE names, normalised and sorted
//! tags, weekly windows through [`TimeWindow::to_json`], canonical postcodes, coordinates to 5 decimals.
//!
//! Reproducibility: everything is drawn from `ChaCha8Rng::seed_from_u64(seed)`, one stream per table (so more
//! applications do not change the volunteers), and no output depends on hash-map iteration order. Timestamps are
//! the start of the current UTC day minus a random offset (up to two years), so NEWEST orderings are meaningful
//! and everything lies in the past. Ids are UUID v7 built from each row's own timestamp and random bits from the
//! generator: the same seed on the same day gives identical rows, ids included; on another day only the dates and
//! timestamps (and so the ids' time prefix) shift, all by the same amount, and the id order stays the same.
//!
//! Speed: rows are built in memory and written with multi-row `INSERT`s, as many rows per statement as the
//! backend's bind-parameter limit allows, all in one transaction (a failure leaves the database empty), then
//! `ANALYZE`. The default scale takes 8–11 s on PostgreSQL and about 7 s on SQLite on a 2-core machine (release
//! build), in about 130 MB.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, Iterable, TransactionTrait,
};
use uuid::Uuid;

use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::needs::{NeedCategory, NeedStatus};
use crate::offers::{OfferKind, OfferStatus};
use crate::organisations::service::slugify;
use crate::organisations::{MemberRole, OrganisationKind};
use crate::users::PlatformRole;
use crate::values::geo::KM_PER_DEGREE;
use crate::values::text::normalise_tag;
use crate::values::{TimeWindow, Weekday};
use crate::volunteers::DbsLevel;
use entity::{application, membership, need, need_skill, offer, organisation, user, volunteer_profile};

/// The password of every synthetic account. Public on purpose: synthetic data is never for a real deployment.
pub const PASSWORD: &str = "synthetic-password-1";

/// Where synthetic accounts' emails live (`.example` is reserved: no mail can ever reach anyone).
pub const EMAIL_DOMAIN: &str = "synthetic.example";

/// What to generate. [`SyntheticSpec::DEFAULT`] is the scale the matching and speed issues measure at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticSpec {
    pub volunteers: usize,
    /// OPEN needs; about 6% more FILLED, CLOSED and DRAFT ones are added on top.
    pub needs: usize,
    pub organisations: usize,
    pub applications: usize,
    pub seed: u64,
}

impl SyntheticSpec {
    pub const DEFAULT: SyntheticSpec =
        SyntheticSpec { volunteers: 100_000, needs: 20_000, organisations: 2_000, applications: 50_000, seed: 1 };
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Rows written, by table, and how long it took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyntheticSummary {
    pub users: usize,
    pub organisations: usize,
    pub memberships: usize,
    pub volunteers: usize,
    /// All needs, whatever their status.
    pub needs: usize,
    pub open_needs: usize,
    pub need_skills: usize,
    pub applications: usize,
    pub accepted_applications: usize,
    pub offers: usize,
    pub elapsed: Duration,
}

/// Far beyond any data set this is meant for; stops a typo from exhausting memory.
const MAX_ROWS: usize = 5_000_000;

/// Builds the data set into an empty database; see the module documentation for what it contains.
#[tracing::instrument(skip_all, fields(seed = spec.seed))]
pub async fn generate(db: &DatabaseConnection, spec: &SyntheticSpec) -> AppResult<SyntheticSummary> {
    let started = Instant::now();
    check_spec(spec)?;
    if !crate::seed::is_empty(db).await? {
        return Err(AppError::conflict("the database already has data; synthetic data goes into an empty database"));
    }
    let anchor = crate::now().date_naive().and_time(NaiveTime::MIN).and_utc();
    let password_hash = crate::auth::password::hash(PASSWORD.to_owned()).await?;
    let geography = Geography::new();
    let writer = Writer::new(db.get_database_backend());
    let mut summary = SyntheticSummary::default();

    // Everything is generated before the needs are written: applications decide their places and status.
    let orgs = organisations(&mut stream(spec.seed, 1), &geography, anchor, spec.organisations);
    let mut needs = needs(&mut stream(spec.seed, 2), &orgs, anchor, spec.needs);

    let txn = db.begin().await?;
    tracing::info!(organisations = orgs.len(), "synthetic: writing organisations and their members");
    let (owners, members) = organisation_rows(&mut stream(spec.seed, 6), &orgs, anchor, &password_hash);
    summary.users += owners.len();
    summary.memberships = members.len();
    summary.organisations = orgs.len();
    writer.insert(&txn, owners).await?;
    writer.insert(&txn, orgs.iter().map(Org::row).collect()).await?;
    writer.insert(&txn, members).await?;

    tracing::info!(volunteers = spec.volunteers, "synthetic: writing volunteers");
    let volunteers =
        volunteers(&txn, &writer, &mut stream(spec.seed, 3), &geography, anchor, spec, &password_hash).await?;
    summary.users += volunteers.len();
    summary.volunteers = volunteers.len();

    let applications =
        applications(&mut stream(spec.seed, 4), &mut needs, &orgs, &volunteers, anchor, spec.applications)?;
    tracing::info!(needs = needs.len(), "synthetic: writing needs");
    summary.needs = needs.len();
    summary.open_needs = needs.iter().filter(|n| n.status == NeedStatus::Open).count();
    let skills: Vec<need_skill::ActiveModel> = needs
        .iter()
        .flat_map(|n| n.skills.iter().map(|s| need_skill::ActiveModel { need_id: Set(n.id), skill: Set(s.clone()) }))
        .collect();
    summary.need_skills = skills.len();
    writer.insert(&txn, needs.iter().map(|n| n.row(&orgs)).collect()).await?;
    writer.insert(&txn, skills).await?;

    tracing::info!(applications = applications.len(), "synthetic: writing applications");
    summary.applications = applications.len();
    summary.accepted_applications = applications.iter().filter(|a| a.status == ApplicationStatus::Accepted).count();
    let rows = applications.iter().map(|a| a.row(&needs, &volunteers)).collect();
    writer.insert(&txn, rows).await?;

    let offers = offers(&mut stream(spec.seed, 5), &orgs, anchor);
    summary.offers = offers.len();
    writer.insert(&txn, offers).await?;

    txn.commit().await?;
    // Fresh planner statistics: right after a bulk load both planners still think the tables are empty, and the
    // first benchmark queries would otherwise run on plans chosen for empty tables.
    tracing::info!("synthetic: analysing tables");
    db.execute_unprepared("ANALYZE").await?;
    summary.elapsed = started.elapsed();
    tracing::info!(elapsed_ms = summary.elapsed.as_millis() as u64, "synthetic: done");
    Ok(summary)
}

fn check_spec(spec: &SyntheticSpec) -> AppResult<()> {
    for (flag, n) in [
        ("--volunteers", spec.volunteers),
        ("--needs", spec.needs),
        ("--organisations", spec.organisations),
        ("--applications", spec.applications),
    ] {
        if n > MAX_ROWS {
            return Err(AppError::bad_input(flag, format!("at most {MAX_ROWS}")));
        }
    }
    if spec.needs > 0 && spec.organisations == 0 {
        return Err(AppError::bad_input("--organisations", "needs belong to organisations: ask for at least one"));
    }
    // Needs that take applications (OPEN, FILLED, CLOSED), as `needs` will make them.
    let appliable = spec.needs + spec.needs * 3 / 100 + spec.needs * 2 / 100;
    if spec.applications > appliable.saturating_mul(spec.volunteers) {
        return Err(AppError::bad_input(
            "--applications",
            "more applications than there are (need, volunteer) pairs; ask for fewer, or more needs or volunteers",
        ));
    }
    Ok(())
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/// Multi-row inserts sized to the backend's bind-parameter limit.
struct Writer {
    max_parameters: usize,
}

impl Writer {
    fn new(backend: DbBackend) -> Self {
        // SQLite (3.32 and later, as bundled by sqlx) allows 32,766 variables a statement; PostgreSQL 65,535.
        let max_parameters = match backend {
            DbBackend::Sqlite => 32_766,
            _ => 65_535,
        };
        Self { max_parameters }
    }

    fn rows_per_statement<A: ActiveModelTrait>(&self) -> usize {
        (self.max_parameters / <A::Entity as EntityTrait>::Column::iter().count().max(1)).max(1)
    }

    async fn insert<A: ActiveModelTrait + Send>(&self, txn: &DatabaseTransaction, rows: Vec<A>) -> AppResult<()> {
        let per_statement = self.rows_per_statement::<A>();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<A> = rows.by_ref().take(per_statement).collect();
            <A::Entity as EntityTrait>::insert_many(batch).exec_without_returning(txn).await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Random helpers

/// A discrete distribution over indexes, for the large tables (organisations, needs, areas).
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// An index drawn in proportion to its weight; callers make sure the total is positive.
    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let x = rng.random::<f64>() * self.total();
        self.cumulative.partition_point(|&c| c <= x).min(self.cumulative.len().saturating_sub(1))
    }
}

/// Picks from a small static table of (value, weight).
fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for &(value, weight) in table {
        if x < weight {
            return value;
        }
        x -= weight;
    }
    table[table.len() - 1].0
}

fn one_of<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// A standard normal draw (Box–Muller), cut at ±3 so nobody lands in the next county.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()).clamp(-3.0, 3.0)
}

fn micros(delta: TimeDelta) -> i64 {
    delta.num_microseconds().unwrap_or(i64::MAX).max(0)
}

/// A moment in [from, to), or `from` when the interval is empty.
fn between(rng: &mut ChaCha8Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = micros(to - from);
    if span == 0 { from } else { from + TimeDelta::microseconds(rng.random_range(0..span)) }
}

/// A UUID v7 for a row created at `at`: the time prefix from `at`, the rest from the generator.
fn id_at(rng: &mut ChaCha8Rng, at: DateTime<Utc>) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &bytes).into_uuid()
}

fn json_strings<S: AsRef<str>>(values: &[S]) -> serde_json::Value {
    serde_json::Value::Array(values.iter().map(|s| serde_json::Value::String(s.as_ref().to_owned())).collect())
}

/// Tags as the API stores them: normalised, sorted, without duplicates.
fn tag_list(raw: &[&str]) -> Vec<String> {
    let mut tags: Vec<String> = raw.iter().map(|t| normalise_tag(t)).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    tags
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

// ---------------------------------------------------------------------------------------------------------------
// Geography

struct District {
    name: &'static str,
    outward: &'static str,
    lat: f64,
    lng: f64,
}

const fn d(name: &'static str, outward: &'static str, lat: f64, lng: f64) -> District {
    District { name, outward, lat, lng }
}

struct Area {
    name: &'static str,
    /// Relative population (thousands, roughly) among areas of the same kind.
    weight: f64,
    rural: bool,
    /// A local language some volunteers speak, with the share who do.
    local_language: Option<(&'static str, f64)>,
    districts: &'static [District],
}

const RURAL_SHARE: f64 = 0.15;
/// σ of the scatter around a neighbourhood centre (cities) or a market town or village (rural areas).
const URBAN_SPREAD_KM: f64 = 1.5;
const RURAL_SPREAD_KM: f64 = 5.0;

const fn city(name: &'static str, weight: f64, districts: &'static [District]) -> Area {
    Area { name, weight, rural: false, local_language: None, districts }
}

const fn country(name: &'static str, districts: &'static [District]) -> Area {
    Area { name, weight: 1.0, rural: true, local_language: None, districts }
}

/// Real neighbourhood and town centres (to about 100 m) with their outward postcodes.
const AREAS: &[Area] = &[
    city(
        "London",
        9000.0,
        &[
            d("Brixton", "SW2", 51.4613, -0.1156),
            d("Stockwell", "SW9", 51.4723, -0.1230),
            d("Peckham", "SE15", 51.4740, -0.0690),
            d("Hackney", "E8", 51.5450, -0.0553),
            d("Tottenham", "N17", 51.5975, -0.0681),
            d("Walthamstow", "E17", 51.5830, -0.0200),
            d("Lewisham", "SE13", 51.4615, -0.0137),
            d("Roehampton", "SW15", 51.4500, -0.2450),
            d("Battersea", "SW11", 51.4700, -0.1700),
            d("Whitechapel", "E1", 51.5190, -0.0610),
            d("Camden Town", "NW1", 51.5390, -0.1426),
            d("Islington", "N1", 51.5380, -0.1030),
            d("Kilburn", "NW6", 51.5470, -0.1950),
            d("Shepherd's Bush", "W12", 51.5050, -0.2240),
            d("North Kensington", "W10", 51.5200, -0.2100),
            d("Woolwich", "SE18", 51.4900, 0.0640),
            d("Poplar", "E14", 51.5080, -0.0180),
            d("Southall", "UB1", 51.5110, -0.3760),
            d("Croydon", "CR0", 51.3762, -0.0982),
            d("Wembley", "HA9", 51.5560, -0.2960),
            d("Stratford", "E15", 51.5410, -0.0030),
            d("Earlsfield", "SW18", 51.4420, -0.1880),
            d("Bermondsey", "SE1", 51.4980, -0.0710),
        ],
    ),
    city(
        "Birmingham",
        2600.0,
        &[
            d("Digbeth", "B5", 52.4760, -1.8830),
            d("Sparkbrook", "B11", 52.4600, -1.8700),
            d("Small Heath", "B10", 52.4700, -1.8550),
            d("Balsall Heath", "B12", 52.4590, -1.8850),
            d("Handsworth", "B21", 52.5050, -1.9300),
            d("Erdington", "B23", 52.5230, -1.8390),
            d("Edgbaston", "B15", 52.4600, -1.9250),
            d("Aston", "B6", 52.5030, -1.8830),
            d("Selly Oak", "B29", 52.4370, -1.9370),
            d("Northfield", "B31", 52.4150, -1.9700),
            d("Ladywood", "B16", 52.4780, -1.9200),
            d("Moseley", "B13", 52.4460, -1.8880),
        ],
    ),
    city(
        "Manchester",
        2700.0,
        &[
            d("Ancoats", "M4", 53.4840, -2.2270),
            d("Moss Side", "M16", 53.4610, -2.2360),
            d("Hulme", "M15", 53.4660, -2.2490),
            d("Longsight", "M13", 53.4590, -2.2000),
            d("Fallowfield", "M14", 53.4430, -2.2190),
            d("Cheetham Hill", "M8", 53.5050, -2.2370),
            d("Gorton", "M18", 53.4640, -2.1720),
            d("Moston", "M40", 53.5220, -2.1750),
            d("Salford", "M6", 53.4875, -2.2901),
            d("Withington", "M20", 53.4340, -2.2290),
            d("Wythenshawe", "M22", 53.3850, -2.2600),
            d("Oldham", "OL1", 53.5409, -2.1114),
            d("Stockport", "SK1", 53.4083, -2.1494),
            d("Bolton", "BL1", 53.5780, -2.4290),
            d("Rochdale", "OL11", 53.6100, -2.1550),
        ],
    ),
    city(
        "Leeds",
        800.0,
        &[
            d("Leeds city centre", "LS1", 53.7965, -1.5478),
            d("Headingley", "LS6", 53.8190, -1.5770),
            d("Chapeltown", "LS7", 53.8190, -1.5330),
            d("Harehills", "LS8", 53.8100, -1.5150),
            d("Burmantofts", "LS9", 53.8000, -1.5200),
            d("Beeston", "LS11", 53.7740, -1.5600),
            d("Armley", "LS12", 53.7970, -1.5930),
            d("Kirkstall", "LS5", 53.8170, -1.6000),
            d("Seacroft", "LS14", 53.8200, -1.4600),
            d("Middleton", "LS10", 53.7500, -1.5450),
        ],
    ),
    city(
        "Bradford",
        550.0,
        &[
            d("Bradford city centre", "BD1", 53.7938, -1.7524),
            d("Manningham", "BD8", 53.8040, -1.7680),
            d("Little Horton", "BD5", 53.7800, -1.7600),
            d("Bradford Moor", "BD3", 53.7990, -1.7270),
            d("Keighley", "BD21", 53.8670, -1.9110),
            d("Shipley", "BD18", 53.8330, -1.7770),
        ],
    ),
    city(
        "Glasgow",
        1000.0,
        &[
            d("Merchant City", "G1", 55.8600, -4.2450),
            d("Govanhill", "G42", 55.8370, -4.2600),
            d("Drumchapel", "G15", 55.9080, -4.3640),
            d("Easterhouse", "G34", 55.8700, -4.1070),
            d("Partick", "G11", 55.8700, -4.3100),
            d("Springburn", "G21", 55.8820, -4.2280),
            d("Castlemilk", "G45", 55.8080, -4.2270),
            d("Govan", "G51", 55.8620, -4.3100),
            d("Maryhill", "G20", 55.8870, -4.2850),
            d("Dennistoun", "G31", 55.8600, -4.2100),
        ],
    ),
    city(
        "Liverpool",
        900.0,
        &[
            d("Liverpool city centre", "L1", 53.4040, -2.9820),
            d("Toxteth", "L8", 53.3900, -2.9700),
            d("Kensington", "L7", 53.4080, -2.9500),
            d("Anfield", "L4", 53.4330, -2.9600),
            d("Everton", "L5", 53.4200, -2.9700),
            d("Wavertree", "L15", 53.3970, -2.9220),
            d("Walton", "L9", 53.4500, -2.9620),
            d("Garston", "L19", 53.3520, -2.8960),
            d("Kirkby", "L32", 53.4820, -2.8920),
            d("Birkenhead", "CH41", 53.3930, -3.0140),
        ],
    ),
    city(
        "Bristol",
        700.0,
        &[
            d("Broadmead", "BS1", 51.4580, -2.5880),
            d("St Pauls", "BS2", 51.4630, -2.5820),
            d("Easton", "BS5", 51.4620, -2.5590),
            d("Bedminster", "BS3", 51.4400, -2.6000),
            d("Southmead", "BS10", 51.4960, -2.5930),
            d("Hartcliffe", "BS13", 51.4110, -2.6000),
            d("Knowle", "BS4", 51.4330, -2.5700),
            d("Fishponds", "BS16", 51.4820, -2.5280),
            d("Redland", "BS6", 51.4700, -2.6000),
        ],
    ),
    city(
        "Sheffield",
        700.0,
        &[
            d("Sheffield city centre", "S1", 53.3811, -1.4701),
            d("Darnall", "S9", 53.3890, -1.4150),
            d("Burngreave", "S4", 53.3970, -1.4590),
            d("Sharrow", "S7", 53.3670, -1.4800),
            d("Hillsborough", "S6", 53.4040, -1.5020),
            d("Manor", "S2", 53.3720, -1.4380),
            d("Firth Park", "S5", 53.4170, -1.4470),
            d("Broomhill", "S10", 53.3800, -1.4990),
        ],
    ),
    city(
        "Newcastle",
        800.0,
        &[
            d("Newcastle city centre", "NE1", 54.9730, -1.6130),
            d("Byker", "NE6", 54.9740, -1.5760),
            d("Elswick", "NE4", 54.9660, -1.6470),
            d("Jesmond", "NE2", 54.9880, -1.6050),
            d("Walker", "NE6", 54.9700, -1.5400),
            d("Gateshead", "NE8", 54.9527, -1.6034),
            d("Kenton", "NE3", 55.0060, -1.6350),
            d("West Denton", "NE5", 54.9920, -1.6830),
            d("North Shields", "NE29", 55.0100, -1.4460),
        ],
    ),
    city(
        "Nottingham",
        700.0,
        &[
            d("Lace Market", "NG1", 52.9536, -1.1430),
            d("Sneinton", "NG2", 52.9510, -1.1300),
            d("St Ann's", "NG3", 52.9660, -1.1380),
            d("Hyson Green", "NG7", 52.9710, -1.1650),
            d("Bulwell", "NG6", 53.0010, -1.1970),
            d("Clifton", "NG11", 52.9060, -1.1800),
            d("Arnold", "NG5", 53.0050, -1.1270),
            d("Beeston", "NG9", 52.9260, -1.2150),
        ],
    ),
    city(
        "Leicester",
        500.0,
        &[
            d("Leicester city centre", "LE1", 52.6350, -1.1320),
            d("Highfields", "LE2", 52.6290, -1.1140),
            d("Belgrave", "LE4", 52.6540, -1.1220),
            d("Evington", "LE5", 52.6280, -1.0800),
            d("Braunstone", "LE3", 52.6200, -1.1750),
            d("Beaumont Leys", "LE4", 52.6690, -1.1560),
            d("Spinney Hills", "LE5", 52.6340, -1.1000),
        ],
    ),
    Area {
        name: "Cardiff",
        weight: 450.0,
        rural: false,
        local_language: Some(("welsh", 0.12)),
        districts: &[
            d("Butetown", "CF10", 51.4680, -3.1690),
            d("Grangetown", "CF11", 51.4680, -3.1850),
            d("Splott", "CF24", 51.4820, -3.1490),
            d("Cathays", "CF24", 51.4920, -3.1800),
            d("Ely", "CF5", 51.4820, -3.2500),
            d("Llanrumney", "CF3", 51.5170, -3.1200),
            d("Roath", "CF23", 51.4950, -3.1650),
        ],
    },
    city(
        "Edinburgh",
        500.0,
        &[
            d("Old Town", "EH1", 55.9500, -3.1900),
            d("Leith", "EH6", 55.9750, -3.1700),
            d("Craigmillar", "EH16", 55.9290, -3.1385),
            d("Wester Hailes", "EH14", 55.9130, -3.2850),
            d("Pilton", "EH5", 55.9720, -3.2300),
            d("Gorgie", "EH11", 55.9360, -3.2370),
            d("Muirhouse", "EH4", 55.9750, -3.2550),
            d("Portobello", "EH15", 55.9520, -3.1150),
        ],
    ),
    city(
        "Ipswich",
        150.0,
        &[
            d("Ipswich town centre", "IP1", 52.0567, 1.1482),
            d("Whitehouse", "IP1", 52.0780, 1.1200),
            d("Chantry", "IP2", 52.0400, 1.1150),
            d("Gainsborough", "IP3", 52.0310, 1.1750),
            d("Kesgrave", "IP5", 52.0610, 1.2350),
            d("Felixstowe", "IP11", 51.9630, 1.3510),
        ],
    ),
    city(
        "Norwich",
        200.0,
        &[
            d("Norwich city centre", "NR2", 52.6280, 1.2930),
            d("Mile Cross", "NR3", 52.6480, 1.2770),
            d("Lakenham", "NR1", 52.6140, 1.2970),
            d("Bowthorpe", "NR5", 52.6340, 1.2140),
            d("Heartsease", "NR7", 52.6360, 1.3330),
            d("Eaton", "NR4", 52.6100, 1.2600),
        ],
    ),
    city(
        "Coventry",
        350.0,
        &[
            d("Coventry city centre", "CV1", 52.4081, -1.5106),
            d("Hillfields", "CV1", 52.4150, -1.5000),
            d("Foleshill", "CV6", 52.4300, -1.4970),
            d("Tile Hill", "CV4", 52.4000, -1.5800),
            d("Willenhall", "CV3", 52.3850, -1.4760),
        ],
    ),
    city(
        "Belfast",
        350.0,
        &[
            d("Cathedral Quarter", "BT1", 54.6010, -5.9280),
            d("Falls", "BT12", 54.5960, -5.9570),
            d("Shankill", "BT13", 54.6050, -5.9500),
            d("Ardoyne", "BT14", 54.6150, -5.9530),
            d("Ballyhackamore", "BT4", 54.6020, -5.8900),
            d("Ormeau", "BT7", 54.5820, -5.9200),
        ],
    ),
    city(
        "Plymouth",
        260.0,
        &[
            d("Devonport", "PL1", 50.3750, -4.1700),
            d("Efford", "PL3", 50.3900, -4.1020),
            d("Whitleigh", "PL5", 50.4170, -4.1350),
            d("Plympton", "PL7", 50.3860, -4.0520),
            d("Stoke", "PL3", 50.3800, -4.1600),
        ],
    ),
    country(
        "Suffolk",
        &[
            d("Woodbridge", "IP12", 52.0940, 1.3180),
            d("Framlingham", "IP13", 52.2210, 1.3440),
            d("Saxmundham", "IP17", 52.2140, 1.4890),
            d("Leiston", "IP16", 52.2080, 1.5790),
            d("Halesworth", "IP19", 52.3440, 1.5020),
            d("Trimley St Martin", "IP11", 51.9870, 1.3190),
            d("Wickham Market", "IP13", 52.1520, 1.3620),
            d("Aldeburgh", "IP15", 52.1530, 1.6000),
            d("Hadleigh", "IP7", 52.0440, 0.9550),
            d("Eye", "IP23", 52.3190, 1.1490),
        ],
    ),
    country(
        "Norfolk",
        &[
            d("Dereham", "NR19", 52.6820, 0.9390),
            d("Fakenham", "NR21", 52.8300, 0.8490),
            d("Aylsham", "NR11", 52.7930, 1.2540),
            d("Wymondham", "NR18", 52.5700, 1.1160),
            d("Holt", "NR25", 52.9050, 1.0890),
            d("Swaffham", "PE37", 52.6490, 0.6860),
            d("Diss", "IP22", 52.3760, 1.1080),
            d("Watton", "IP25", 52.5710, 0.8280),
        ],
    ),
    country(
        "Cumbria",
        &[
            d("Keswick", "CA12", 54.6010, -3.1340),
            d("Penrith", "CA11", 54.6640, -2.7520),
            d("Ambleside", "LA22", 54.4280, -2.9620),
            d("Windermere", "LA23", 54.3800, -2.9070),
            d("Cockermouth", "CA13", 54.6630, -3.3620),
            d("Kendal", "LA9", 54.3280, -2.7460),
            d("Appleby-in-Westmorland", "CA16", 54.5780, -2.4890),
            d("Millom", "LA18", 54.2100, -3.2710),
        ],
    ),
    country(
        "Devon",
        &[
            d("Okehampton", "EX20", 50.7390, -4.0040),
            d("Tavistock", "PL19", 50.5500, -4.1440),
            d("Moretonhampstead", "TQ13", 50.6600, -3.7650),
            d("Crediton", "EX17", 50.7910, -3.6560),
            d("Holsworthy", "EX22", 50.8100, -4.3540),
            d("South Molton", "EX36", 51.0170, -3.8350),
            d("Ashburton", "TQ13", 50.5160, -3.7540),
            d("Honiton", "EX14", 50.7990, -3.1880),
        ],
    ),
    Area {
        name: "Highland",
        weight: 1.0,
        rural: true,
        local_language: Some(("gaelic", 0.04)),
        districts: &[
            d("Fort William", "PH33", 56.8198, -5.1052),
            d("Ullapool", "IV26", 57.8950, -5.1600),
            d("Portree", "IV51", 57.4120, -6.1960),
            d("Aviemore", "PH22", 57.1950, -3.8290),
            d("Dingwall", "IV15", 57.5960, -4.4290),
            d("Beauly", "IV4", 57.4830, -4.4600),
            d("Thurso", "KW14", 58.5930, -3.5220),
            d("Kingussie", "PH21", 57.0800, -4.0520),
        ],
    },
    Area {
        name: "Powys",
        weight: 1.0,
        rural: true,
        local_language: Some(("welsh", 0.25)),
        districts: &[
            d("Llandrindod Wells", "LD1", 52.2420, -3.3790),
            d("Builth Wells", "LD2", 52.1500, -3.4030),
            d("Rhayader", "LD6", 52.3020, -3.5110),
            d("Llanidloes", "SY18", 52.4490, -3.5390),
            d("Brecon", "LD3", 51.9480, -3.3910),
            d("Welshpool", "SY21", 52.6600, -3.1470),
            d("Machynlleth", "SY20", 52.5900, -3.8510),
        ],
    },
    country(
        "North Yorkshire",
        &[
            d("Hawes", "DL8", 54.3040, -2.1970),
            d("Leyburn", "DL8", 54.3090, -1.8290),
            d("Settle", "BD24", 54.0690, -2.2780),
            d("Skipton", "BD23", 53.9620, -2.0170),
            d("Richmond", "DL10", 54.4030, -1.7370),
            d("Pickering", "YO18", 54.2460, -0.7760),
            d("Helmsley", "YO62", 54.2460, -1.0600),
            d("Thirsk", "YO7", 54.2320, -1.3430),
        ],
    ),
    country(
        "Lincolnshire",
        &[
            d("Louth", "LN11", 53.3670, -0.0060),
            d("Horncastle", "LN9", 53.2080, -0.1140),
            d("Market Rasen", "LN8", 53.3880, -0.3370),
            d("Spilsby", "PE23", 53.1740, 0.0940),
            d("Alford", "LN13", 53.2600, 0.1770),
            d("Sleaford", "NG34", 52.9990, -0.4100),
        ],
    ),
];

/// Letters used in the inward part of real postcodes (never C, I, K, M, O or V).
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

#[derive(Clone)]
struct Spot {
    area: usize,
    district: usize,
    lat: f64,
    lng: f64,
    postcode: String,
}

impl Spot {
    fn area(&self) -> &'static Area {
        &AREAS[self.area]
    }

    fn district(&self) -> &'static District {
        &AREAS[self.area].districts[self.district]
    }

    fn outward(&self) -> &'static str {
        self.district().outward
    }
}

struct Geography {
    urban: Vec<usize>,
    urban_weights: Weighted,
    rural: Vec<usize>,
    rural_weights: Weighted,
}

impl Geography {
    fn new() -> Self {
        let urban: Vec<usize> = (0..AREAS.len()).filter(|&i| !AREAS[i].rural).collect();
        let rural: Vec<usize> = (0..AREAS.len()).filter(|&i| AREAS[i].rural).collect();
        Self {
            urban_weights: Weighted::new(urban.iter().map(|&i| AREAS[i].weight)),
            rural_weights: Weighted::new(rural.iter().map(|&i| AREAS[i].weight)),
            urban,
            rural,
        }
    }

    /// Somewhere a person or organisation might be: a city neighbourhood, or (15%) the countryside.
    fn spot(&self, rng: &mut ChaCha8Rng) -> Spot {
        let area = if rng.random_bool(RURAL_SHARE) {
            self.rural[self.rural_weights.sample(rng)]
        } else {
            self.urban[self.urban_weights.sample(rng)]
        };
        let district = rng.random_range(0..AREAS[area].districts.len());
        let centre = &AREAS[area].districts[district];
        let spread = if AREAS[area].rural { RURAL_SPREAD_KM } else { URBAN_SPREAD_KM };
        let (lat, lng) = scatter(rng, centre.lat, centre.lng, spread);
        Spot { area, district, lat, lng, postcode: postcode(rng, centre.outward) }
    }
}

/// A point around (lat, lng), normally distributed with σ `spread_km` in each direction.
fn scatter(rng: &mut ChaCha8Rng, lat: f64, lng: f64, spread_km: f64) -> (f64, f64) {
    let north = normal(rng) * spread_km;
    let east = normal(rng) * spread_km;
    let lat2 = lat + north / KM_PER_DEGREE;
    let lng2 = lng + east / (KM_PER_DEGREE * lat.to_radians().cos());
    (round5(lat2), round5(lng2))
}

/// A canonical postcode in `outward`: "M14 4PQ".
fn postcode(rng: &mut ChaCha8Rng, outward: &str) -> String {
    let digit = rng.random_range(0..10u8);
    let a = char::from(one_of(rng, INWARD_LETTERS));
    let b = char::from(one_of(rng, INWARD_LETTERS));
    format!("{outward} {digit}{a}{b}")
}

// ---------------------------------------------------------------------------------------------------------------
// Categories: the vocabulary, schedules and safeguarding of each kind of need

/// Parts of the week, in the order of `CategoryProfile::slots`.
#[derive(Clone, Copy)]
enum Slot {
    Morning,
    Afternoon,
    Evening,
    Weekend,
}

const SLOTS: [Slot; 4] = [Slot::Morning, Slot::Afternoon, Slot::Evening, Slot::Weekend];

/// Needs' sessions (minutes from midnight) by slot: two or three hours.
const NEED_HOURS: [&[(u16, u16)]; 4] = [
    &[(540, 720), (570, 690), (600, 720), (600, 780)],
    &[(780, 900), (840, 960), (810, 990), (930, 1050)],
    &[(1020, 1140), (1080, 1200), (1110, 1230), (1140, 1260), (1080, 1260)],
    &[(540, 780), (600, 720), (600, 840), (840, 1020)],
];

/// Volunteers' availability by slot: broader than a session.
const VOLUNTEER_HOURS: [&[(u16, u16)]; 4] = [
    &[(540, 780), (480, 720), (540, 720)],
    &[(720, 1020), (780, 1020), (780, 960)],
    &[(1050, 1290), (1080, 1320), (1080, 1260)],
    &[(540, 1020), (600, 960), (540, 780), (780, 1080)],
];

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

struct CategoryProfile {
    category: NeedCategory,
    /// Share of needs (and of volunteers' main interests), out of 100.
    weight: u32,
    skills: &'static [(&'static str, u32)],
    /// Weights of morning, afternoon, evening and weekend sessions.
    slots: [u32; 4],
    safeguarding: &'static [(DbsLevel, u32)],
    remote: f64,
    titles: &'static [&'static str],
    blurb: &'static str,
}

use DbsLevel::{Basic, Enhanced, EnhancedBarredLists as Barred, None as NoCheck, Standard};

const CATEGORIES: &[CategoryProfile] = &[
    CategoryProfile {
        category: NeedCategory::EnglishClasses,
        weight: 16,
        skills: &[
            ("teaching english", 40),
            ("esol", 25),
            ("tefl", 8),
            ("befriending", 10),
            ("safeguarding", 7),
            ("childcare", 5),
        ],
        slots: [3, 1, 4, 2],
        safeguarding: &[(NoCheck, 40), (Basic, 50), (Standard, 10)],
        remote: 0.08,
        titles: &[
            "English conversation class helper",
            "ESOL class assistant",
            "Beginners' English tutor",
            "English for parents: class volunteer",
            "Conversation café host",
            "One-to-one English practice partner",
        ],
        blurb: "Help adults who are new to the country practise everyday English: shopping, the GP, the school gate. \
            No teaching qualification needed; we show you how.",
    },
    CategoryProfile {
        category: NeedCategory::JobsClub,
        weight: 12,
        skills: &[
            ("cv writing", 35),
            ("interview coaching", 25),
            ("it support", 15),
            ("mentoring", 10),
            ("careers advice", 15),
        ],
        slots: [4, 3, 2, 1],
        safeguarding: &[(NoCheck, 60), (Basic, 40)],
        remote: 0.08,
        titles: &[
            "Jobs club volunteer",
            "CV helper",
            "Mock interview partner",
            "Online applications helper",
            "Jobs club host",
        ],
        blurb: "Sit with members of our jobs club as they write CVs, fill in online applications and get ready for \
            interviews.",
    },
    CategoryProfile {
        category: NeedCategory::YouthClub,
        weight: 11,
        skills: &[
            ("youth work", 35),
            ("safeguarding", 15),
            ("first aid", 12),
            ("sports coaching", 15),
            ("music", 8),
            ("cooking", 8),
            ("art", 7),
        ],
        slots: [0, 1, 6, 3],
        safeguarding: &[(Standard, 5), (Enhanced, 35), (Barred, 60)],
        remote: 0.0,
        titles: &[
            "Youth club session leader",
            "Youth club volunteer",
            "Football coach for the youth club",
            "Music workshop helper",
            "Cooking club helper for teenagers",
        ],
        blurb: "Give young people somewhere safe and warm to be, and something good to do: sport, music, cooking, \
            or just someone to talk to.",
    },
    CategoryProfile {
        category: NeedCategory::ItSkills,
        weight: 10,
        skills: &[
            ("it support", 40),
            ("digital skills", 25),
            ("teaching", 15),
            ("data entry", 10),
            ("social media", 10),
        ],
        slots: [2, 3, 2, 3],
        safeguarding: &[(NoCheck, 60), (Basic, 40)],
        remote: 0.2,
        titles: &[
            "Digital drop-in helper",
            "Basic computing class tutor",
            "Smartphone help for older people",
            "Online safety session helper",
            "Laptop set-up volunteer",
        ],
        blurb: "Help people get online: email, online forms, video calls with family, staying safe from scams.",
    },
    CategoryProfile {
        category: NeedCategory::Mentoring,
        weight: 8,
        skills: &[("mentoring", 45), ("coaching", 15), ("cv writing", 15), ("youth work", 15), ("listening", 10)],
        slots: [1, 2, 5, 2],
        safeguarding: &[(Standard, 15), (Enhanced, 50), (Barred, 35)],
        remote: 0.2,
        titles: &[
            "Mentor for a young person",
            "Mentor for people leaving prison",
            "Career mentor",
            "Peer mentor",
            "Mentor for care leavers",
        ],
        blurb: "Meet one person regularly and help them set goals and stick to them. Training and supervision given.",
    },
    CategoryProfile {
        category: NeedCategory::Intergenerational,
        weight: 4,
        skills: &[("befriending", 30), ("mentoring", 20), ("event planning", 20), ("cooking", 15), ("gardening", 15)],
        slots: [3, 4, 1, 2],
        safeguarding: &[(Basic, 30), (Standard, 30), (Enhanced, 40)],
        remote: 0.02,
        titles: &[
            "Intergenerational lunch club helper",
            "Young and old gardening project volunteer",
            "Memory café helper",
            "Schools and care homes link volunteer",
        ],
        blurb: "Bring older and younger neighbours together over food, gardening and shared stories.",
    },
    CategoryProfile {
        category: NeedCategory::EmploymentSupport,
        weight: 6,
        skills: &[
            ("cv writing", 25),
            ("interview coaching", 20),
            ("careers advice", 20),
            ("mentoring", 15),
            ("bookkeeping", 10),
            ("employer engagement", 10),
        ],
        slots: [4, 3, 2, 1],
        safeguarding: &[(NoCheck, 60), (Basic, 40)],
        remote: 0.2,
        titles: &[
            "Employment adviser volunteer",
            "Work placement buddy",
            "Employer introductions volunteer",
            "Benefits and work advice helper",
        ],
        blurb: "Help people facing barriers to work, from a criminal record to a gap in their CV, take the next \
            step into a job.",
    },
    CategoryProfile {
        category: NeedCategory::Befriending,
        weight: 12,
        skills: &[("befriending", 55), ("listening", 20), ("driving", 15), ("first aid", 10)],
        slots: [4, 4, 1, 1],
        safeguarding: &[(NoCheck, 20), (Basic, 40), (Enhanced, 40)],
        remote: 0.15,
        titles: &[
            "Befriender for an older neighbour",
            "Telephone befriender",
            "Home visiting volunteer",
            "Lifts to appointments",
            "Hospital discharge befriender",
        ],
        blurb: "Spend an hour or two a week with someone who is lonely: a chat, a cup of tea, a walk, a trip to the \
            shops.",
    },
    CategoryProfile {
        category: NeedCategory::FoodAndEssentials,
        weight: 8,
        skills: &[
            ("cooking", 25),
            ("food hygiene", 15),
            ("driving", 20),
            ("warehouse", 15),
            ("baking", 10),
            ("customer service", 15),
        ],
        slots: [3, 2, 1, 4],
        safeguarding: &[(NoCheck, 85), (Basic, 15)],
        remote: 0.0,
        titles: &[
            "Foodbank warehouse volunteer",
            "Community kitchen cook",
            "Food delivery driver",
            "Community fridge helper",
            "Baby bank sorter",
        ],
        blurb: "Sort, pack and hand out food and essentials to families who need them this week.",
    },
    CategoryProfile {
        category: NeedCategory::CommunitySafety,
        weight: 2,
        skills: &[
            ("first aid", 30),
            ("driving", 15),
            ("event planning", 15),
            ("data entry", 10),
            ("community organising", 30),
        ],
        slots: [2, 2, 3, 3],
        safeguarding: &[(NoCheck, 70), (Basic, 30)],
        remote: 0.02,
        titles: &[
            "Community speed watch volunteer",
            "Street pastor",
            "Neighbourhood watch coordinator",
            "Defibrillator guardian",
        ],
        blurb: "Help keep the neighbourhood safe: speed watch sessions, night-time patrols, first aid at events.",
    },
    CategoryProfile {
        category: NeedCategory::Environment,
        weight: 4,
        skills: &[("gardening", 40), ("painting", 15), ("diy", 20), ("litter picking", 15), ("event planning", 10)],
        slots: [1, 1, 0, 8],
        safeguarding: &[(NoCheck, 85), (Basic, 15)],
        remote: 0.0,
        titles: &[
            "Park clean-up volunteer",
            "Community garden helper",
            "Tree planting day volunteer",
            "Pavilion painting volunteer",
            "Repair café fixer",
        ],
        blurb: "Get your hands dirty in our parks, gardens and green spaces. Tools and gloves provided.",
    },
    CategoryProfile {
        category: NeedCategory::Housing,
        weight: 2,
        skills: &[("diy", 30), ("painting", 25), ("benefits advice", 20), ("advice", 15), ("driving", 10)],
        slots: [2, 2, 2, 4],
        safeguarding: &[(NoCheck, 70), (Basic, 30)],
        remote: 0.05,
        titles: &[
            "Home starter pack volunteer",
            "Tenancy support volunteer",
            "Decorator for a new tenancy",
            "Housing advice helper",
        ],
        blurb: "Help people moving out of homelessness set up a home: furniture, decorating, forms and first bills.",
    },
    CategoryProfile {
        category: NeedCategory::Fundraising,
        weight: 3,
        skills: &[("fundraising", 40), ("event planning", 25), ("social media", 15), ("bid writing", 20)],
        slots: [1, 1, 3, 5],
        safeguarding: &[(NoCheck, 90), (Basic, 10)],
        remote: 0.35,
        titles: &[
            "Fundraising event organiser",
            "Grant application writer",
            "Bucket collection volunteer",
            "Social media fundraiser",
        ],
        blurb: "Help us raise the money that keeps the doors open: events, collections, grant bids.",
    },
    CategoryProfile {
        category: NeedCategory::Premises,
        weight: 1,
        skills: &[("diy", 40), ("painting", 25), ("cleaning", 15), ("caretaking", 20)],
        slots: [2, 2, 2, 4],
        safeguarding: &[(NoCheck, 90), (Basic, 10)],
        remote: 0.0,
        titles: &[
            "Hall caretaker volunteer",
            "Handyperson for our community centre",
            "Key holder for evening bookings",
        ],
        blurb: "Look after the building that everything else happens in: small repairs, opening up, keeping it tidy.",
    },
    CategoryProfile {
        category: NeedCategory::Other,
        weight: 1,
        skills: &[
            ("data entry", 25),
            ("social media", 20),
            ("photography", 20),
            ("translation", 20),
            ("bookkeeping", 15),
        ],
        slots: [2, 2, 2, 2],
        safeguarding: &[(NoCheck, 90), (Basic, 10)],
        remote: 0.2,
        titles: &[
            "Office volunteer",
            "Newsletter editor",
            "Photographer for our events",
            "Translator for leaflets",
            "Treasurer",
        ],
        blurb: "Lend us a skill behind the scenes, a few hours a week.",
    },
];

fn category_index(category: NeedCategory) -> usize {
    CATEGORIES.iter().position(|p| p.category == category).unwrap_or(CATEGORIES.len() - 1)
}

/// A category index drawn from the overall mix.
fn any_category(rng: &mut ChaCha8Rng) -> usize {
    let table: Vec<(usize, u32)> = CATEGORIES.iter().enumerate().map(|(i, p)| (i, p.weight)).collect();
    pick(rng, &table)
}

/// What volunteers sometimes write instead of the canonical tag (matching treats them as the same skill).
const SYNONYMS: &[(&str, &[&str])] = &[
    ("teaching english", &["esol", "tefl", "english tutoring"]),
    ("it support", &["digital skills", "computing", "tech support"]),
    ("cv writing", &["cv review", "cvs"]),
    ("interview coaching", &["mock interviews", "interview practice"]),
    ("mentoring", &["mentor"]),
    ("youth work", &["youth worker", "youth leadership"]),
    ("painting", &["decorating", "painting and decorating"]),
    ("befriending", &["companionship", "befriender"]),
    ("fundraising", &["grant writing", "fund raising"]),
    ("event planning", &["event management"]),
];

/// Languages English-class learners speak, as needs list them.
const LEARNER_LANGUAGES: &[(&str, u32)] = &[
    ("arabic", 20),
    ("urdu", 12),
    ("ukrainian", 12),
    ("polish", 10),
    ("bengali", 8),
    ("somali", 7),
    ("farsi", 7),
    ("punjabi", 6),
    ("kurdish", 5),
    ("romanian", 5),
    ("pashto", 4),
    ("tigrinya", 4),
    ("portuguese", 3),
    ("spanish", 3),
];

/// Languages besides English a volunteer may speak, with the share who do.
const OTHER_LANGUAGES: &[(&str, f64)] = &[
    ("french", 0.06),
    ("spanish", 0.05),
    ("urdu", 0.05),
    ("polish", 0.04),
    ("punjabi", 0.04),
    ("arabic", 0.04),
    ("bengali", 0.03),
    ("german", 0.03),
    ("gujarati", 0.02),
    ("romanian", 0.02),
    ("ukrainian", 0.02),
    ("portuguese", 0.02),
    ("italian", 0.02),
    ("somali", 0.015),
    ("tamil", 0.01),
    ("farsi", 0.01),
    ("kurdish", 0.01),
];

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophie", "Emily", "Ruth", "Margaret", "Helen", "Chloe",
    "Priya", "Aisha", "Fatima", "Zainab", "Amira", "Olena", "Agnieszka", "Maria", "Chantelle", "Bernadette",
    "Siobhan", "Niamh", "Eilidh", "Catrin", "Yasmin", "Hannah", "Jessica", "Lucy", "Funmi", "Mei", "Ana", "Leila",
    "Shabnam", "Joy", "Pamela", "Sandra", "Claire", "Rebecca", "Oliver", "George", "Noah", "Arthur", "Harry", "Leo",
    "Jack", "Thomas", "James", "David", "Mohammed", "Imran", "Ali", "Omar", "Tomasz", "Piotr", "Andrei", "Kwame",
    "Marcus", "Leon", "Dennis", "Gary", "Alan", "Edward", "Callum", "Rhys", "Dylan", "Hamish", "Connor", "Sean",
    "Ravi", "Sanjay", "Arjun", "Tunde", "Kofi", "Wei", "Daniel", "Samuel", "Michael", "Paul",
];

#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts",
    "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
    "Clarke", "Patel", "Khan", "Ahmed", "Hussain", "Begum", "Ali", "Shah", "Singh", "Kaur", "Sharma", "Chowdhury",
    "Okoro", "Adeyemi", "Mensah", "Boateng", "Osei", "Francis", "Campbell", "Stewart", "MacDonald", "Murray", "Reid",
    "Fraser", "Kelly", "Murphy", "O'Neill", "Byrne", "Nowak", "Kowalski", "Wiśniewska", "Popescu", "Kovalenko",
    "Haddad", "Nguyen", "Chen", "Wong", "Li", "Pearce", "Button", "Whitlock", "Pryke", "Catchpole", "Fulcher",
    "Turner", "Morris", "Grant", "Marjoram", "Ashby", "Lennox", "Siddiqui", "Qureshi", "Raman", "Mahmood", "Iqbal",
    "Yusuf", "Abdi", "Warsame",
];

fn full_name(rng: &mut ChaCha8Rng) -> String {
    format!("{} {}", one_of(rng, FIRST_NAMES), one_of(rng, SURNAMES))
}

// ---------------------------------------------------------------------------------------------------------------
// Organisations

#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    Anywhere,
    City,
    Country,
}

struct OrgPattern {
    kind: OrganisationKind,
    setting: Setting,
    /// `{area}` is the neighbourhood or the town/county, `{city}` the city or county, `{district}` the
    /// neighbourhood, town or village, `{surname}` a family name.
    name: &'static str,
    focus: NeedCategory,
    about: &'static str,
}

const fn pattern(
    kind: OrganisationKind,
    setting: Setting,
    name: &'static str,
    focus: NeedCategory,
    about: &'static str,
) -> OrgPattern {
    OrgPattern { kind, setting, name, focus, about }
}

use NeedCategory as C;
use OrganisationKind as K;
use Setting::{Anywhere, City, Country};

const ORG_KINDS: &[(OrganisationKind, u32)] = &[
    (K::Charity, 30),
    (K::CommunityGroup, 25),
    (K::SocialEnterprise, 10),
    (K::FaithGroup, 10),
    (K::Business, 10),
    (K::PartyAssociation, 6),
    (K::CommunityPartnership, 5),
    (K::Council, 4),
];

const ORG_PATTERNS: &[OrgPattern] = &[
    pattern(K::Charity, Anywhere, "{area} Youth Trust", C::YouthClub, "Youth work and safe spaces for young people"),
    pattern(K::Charity, Anywhere, "{area} Refugee Welcome", C::EnglishClasses, "English, advice and a welcome"),
    pattern(K::Charity, Anywhere, "{area} Befriending Service", C::Befriending, "Nobody should be lonely"),
    pattern(K::Charity, Anywhere, "{area} Foodbank", C::FoodAndEssentials, "Emergency food and essentials"),
    pattern(K::Charity, Anywhere, "{area} Learning Trust", C::ItSkills, "Adult learning, from reading to coding"),
    pattern(K::Charity, Anywhere, "{area} Mentoring Project", C::Mentoring, "One-to-one mentoring"),
    pattern(K::Charity, Anywhere, "{area} Second Chances", C::EmploymentSupport, "Work after prison"),
    pattern(K::Charity, Anywhere, "Age Well {area}", C::Intergenerational, "Later life, lived well"),
    pattern(K::CommunityGroup, Anywhere, "{area} Jobs Club", C::JobsClub, "A weekly jobs club run by volunteers"),
    pattern(K::CommunityGroup, Anywhere, "{area} English Conversation Club", C::EnglishClasses, "Practise English"),
    pattern(K::CommunityGroup, Anywhere, "{area} Youth Club", C::YouthClub, "Somewhere to be on a Friday night"),
    pattern(K::CommunityGroup, Anywhere, "{area} Digital Drop-in", C::ItSkills, "Help with computers and phones"),
    pattern(K::CommunityGroup, City, "Friends of {district} Park", C::Environment, "Looking after our park"),
    pattern(K::CommunityGroup, Anywhere, "{area} Residents' Association", C::CommunitySafety, "Residents together"),
    pattern(K::CommunityGroup, Anywhere, "{area} Lunch Club", C::Intergenerational, "A hot lunch and good company"),
    pattern(K::SocialEnterprise, Anywhere, "{area} Community Bakery", C::EmploymentSupport, "Every loaf pays a wage"),
    pattern(K::SocialEnterprise, Anywhere, "{area} Bike Works", C::EmploymentSupport, "Bikes, skills and jobs"),
    pattern(K::SocialEnterprise, Anywhere, "{area} Community Café", C::FoodAndEssentials, "Pay what you can"),
    pattern(K::SocialEnterprise, Anywhere, "{area} Repair Café", C::Environment, "Fix it, don't bin it"),
    pattern(K::SocialEnterprise, Anywhere, "{area} Tech Refurb", C::ItSkills, "Old laptops, new users"),
    pattern(K::FaithGroup, Anywhere, "St Mary's Church, {district}", C::Befriending, "A parish church"),
    pattern(K::FaithGroup, City, "{district} Mosque Community Project", C::EnglishClasses, "Open to all"),
    pattern(K::FaithGroup, City, "{district} Gurdwara Langar", C::FoodAndEssentials, "A free kitchen for all"),
    pattern(K::FaithGroup, Anywhere, "{area} Methodist Church", C::Intergenerational, "A church and community hub"),
    pattern(K::FaithGroup, Anywhere, "{area} Baptist Church Youth", C::YouthClub, "Youth work from the church"),
    pattern(K::FaithGroup, City, "{city} Synagogue Community Kitchen", C::FoodAndEssentials, "Meals for neighbours"),
    pattern(K::PartyAssociation, Anywhere, "{area} Conservative Association", C::EnglishClasses, "Open doors"),
    pattern(K::PartyAssociation, Anywhere, "{area} Labour Party", C::JobsClub, "Local members, local help"),
    pattern(K::PartyAssociation, Anywhere, "{area} Liberal Democrats", C::CommunitySafety, "Community campaigns"),
    pattern(K::PartyAssociation, Anywhere, "{area} Green Party", C::Environment, "Greener streets"),
    pattern(K::Council, City, "{city} City Council, {district} ward team", C::CommunitySafety, "Your council"),
    pattern(K::Council, Country, "{district} Town Council", C::Environment, "Your town council"),
    pattern(K::Council, Country, "{city} County Council", C::CommunitySafety, "Your county council"),
    pattern(K::CommunityPartnership, Anywhere, "{area} Community Partnership", C::CommunitySafety, "Local priorities"),
    pattern(K::CommunityPartnership, Anywhere, "{area} Neighbourhood Partnership", C::Intergenerational, "Together"),
    pattern(K::Business, Anywhere, "{area} Builders Merchants", C::Premises, "Timber, tools and time"),
    pattern(K::Business, Anywhere, "{surname} & Sons, {district}", C::Premises, "A family firm"),
    pattern(K::Business, Anywhere, "{area} Pharmacy", C::Befriending, "Your local pharmacy"),
    pattern(K::Business, Anywhere, "{area} Co-operative Food", C::FoodAndEssentials, "A local food shop"),
    pattern(K::Business, Anywhere, "{surname} Accountants, {district}", C::Fundraising, "Chartered accountants"),
    pattern(K::Business, Anywhere, "{area} Print Shop", C::Fundraising, "Printing for local groups"),
];

/// An organisation as generated: enough to write its row and to place its needs.
struct Org {
    id: Uuid,
    name: String,
    slug: String,
    kind: OrganisationKind,
    description: String,
    website: Option<String>,
    spot: Spot,
    verified: bool,
    /// Index into `CATEGORIES` of what it mostly posts needs for.
    focus: usize,
    /// Relative size: how many needs it posts and how many applicants they draw.
    size: f64,
    created_at: DateTime<Utc>,
}

impl Org {
    fn row(&self) -> organisation::ActiveModel {
        organisation::ActiveModel {
            id: Set(self.id),
            slug: Set(self.slug.clone()),
            name: Set(self.name.clone()),
            kind: Set(self.kind.as_db().to_owned()),
            description: Set(self.description.clone()),
            website: Set(self.website.clone()),
            contact_email: Set(Some(format!("hello@{}.example", self.slug))),
            postcode: Set(Some(self.spot.postcode.clone())),
            lat: Set(Some(self.spot.lat)),
            lng: Set(Some(self.spot.lng)),
            verified: Set(self.verified),
            created_at: Set(self.created_at),
            updated_at: Set(self.created_at),
        }
    }
}

const DAY: TimeDelta = TimeDelta::days(1);

fn organisations(rng: &mut ChaCha8Rng, geography: &Geography, anchor: DateTime<Utc>, count: usize) -> Vec<Org> {
    // Zipf-like sizes over a random ranking, so large organisations are not simply the first ones.
    let mut ranks: Vec<usize> = (1..=count).collect();
    ranks.shuffle(rng);
    let mut names: HashSet<String> = HashSet::with_capacity(count);
    let mut slugs: HashSet<String> = HashSet::with_capacity(count);
    let mut orgs = Vec::with_capacity(count);
    for &rank in &ranks {
        let spot = geography.spot(rng);
        let kind = pick(rng, ORG_KINDS);
        let setting = if spot.area().rural { Country } else { City };
        let patterns: Vec<&OrgPattern> =
            ORG_PATTERNS.iter().filter(|p| p.kind == kind && (p.setting == Anywhere || p.setting == setting)).collect();
        let Some(&pattern) = patterns.get(rng.random_range(0..patterns.len().max(1))) else { continue };
        let area_name = if rng.random_bool(0.65) { spot.district().name } else { spot.area().name };
        let base = pattern
            .name
            .replace("{area}", area_name)
            .replace("{city}", spot.area().name)
            .replace("{district}", spot.district().name)
            .replace("{surname}", one_of(rng, SURNAMES));
        let name = unique(&mut names, base, spot.district().name, ", ");
        let slug = unique(&mut slugs, slugify(&name), "", "-");
        let created_at = anchor - TimeDelta::microseconds(rng.random_range(micros(DAY * 30)..micros(DAY * 720)));
        let description = format!(
            "{}. {} in {}, {}. (Synthetic data.)",
            pattern.about,
            kind_words(kind),
            spot.district().name,
            spot.area().name
        );
        let website = rng.random_bool(0.5).then(|| format!("https://{slug}.example"));
        orgs.push(Org {
            id: id_at(rng, created_at),
            name,
            slug,
            kind,
            description,
            website,
            verified: rng.random_bool(0.7),
            focus: category_index(pattern.focus),
            size: (rank as f64).powf(-0.6),
            created_at,
            spot,
        });
    }
    orgs
}

/// `base`, or `base{sep}{qualifier}`, or `base{sep}2`, `base{sep}3`…: the first not yet taken.
fn unique(taken: &mut HashSet<String>, base: String, qualifier: &str, sep: &str) -> String {
    let mut candidate = base.clone();
    if taken.contains(&candidate) && !qualifier.is_empty() && !base.contains(qualifier) {
        candidate = format!("{base}{sep}{qualifier}");
    }
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{sep}{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn kind_words(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::Charity => "A registered charity",
        OrganisationKind::SocialEnterprise => "A social enterprise",
        OrganisationKind::CommunityGroup => "A community group run by volunteers",
        OrganisationKind::PartyAssociation => "A local party association",
        OrganisationKind::Council => "The local council",
        OrganisationKind::CommunityPartnership => "A community partnership of councillors and local groups",
        OrganisationKind::Business => "A local business",
        OrganisationKind::FaithGroup => "A faith group",
        OrganisationKind::Other => "An organisation",
    }
}

/// The owners (and some coordinators) of the organisations: their accounts and memberships.
fn organisation_rows(
    rng: &mut ChaCha8Rng,
    orgs: &[Org],
    anchor: DateTime<Utc>,
    password_hash: &str,
) -> (Vec<user::ActiveModel>, Vec<membership::ActiveModel>) {
    let mut users = Vec::with_capacity(orgs.len() * 2);
    let mut members = Vec::with_capacity(orgs.len() * 2);
    for (k, org) in orgs.iter().enumerate() {
        let number = k + 1;
        let mut people = vec![(format!("organiser{number}"), MemberRole::Owner, org.created_at)];
        if rng.random_bool(0.4) {
            people.push((
                format!("coordinator{number}"),
                MemberRole::Coordinator,
                between(rng, org.created_at, anchor),
            ));
        }
        for (local, role, joined) in people {
            let registered = joined - TimeDelta::microseconds(rng.random_range(0..micros(DAY * 30)));
            let user_id = id_at(rng, registered);
            users.push(account(user_id, &format!("{local}@{EMAIL_DOMAIN}"), full_name(rng), registered, password_hash));
            members.push(membership::ActiveModel {
                id: Set(id_at(rng, joined)),
                organisation_id: Set(org.id),
                user_id: Set(user_id),
                role: Set(role.as_db().to_owned()),
                created_at: Set(joined),
            });
        }
    }
    (users, members)
}

fn account(id: Uuid, email: &str, display_name: String, at: DateTime<Utc>, password_hash: &str) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(id),
        email: Set(email.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        display_name: Set(display_name),
        role: Set(PlatformRole::Member.as_db().to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
        // Synthetic addresses cannot receive mail: counted as verified so the retention rule keeps them.
        email_verified_at: Set(Some(at)),
        deleted_at: Set(None),
        sessions_valid_from: Set(None),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Needs

/// A need as generated; applications then set its places and status.
struct NeedDraft {
    id: Uuid,
    org: usize,
    title: String,
    description: String,
    category: NeedCategory,
    skills: Vec<String>,
    languages: Vec<String>,
    safeguarding: DbsLevel,
    weekly: Vec<TimeWindow>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    place: Option<(String, f64, f64)>,
    places: i32,
    taken: i32,
    status: NeedStatus,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl NeedDraft {
    fn row(&self, orgs: &[Org]) -> need::ActiveModel {
        need::ActiveModel {
            id: Set(self.id),
            organisation_id: Set(self.organisation_id(orgs)),
            title: Set(self.title.clone()),
            description: Set(self.description.clone()),
            category: Set(self.category.as_db().to_owned()),
            required_skills: Set(json_strings(&self.skills)),
            languages: Set(json_strings(&self.languages)),
            safeguarding: Set(self.safeguarding.as_db().to_owned()),
            weekly_schedule: Set(TimeWindow::to_json(&self.weekly)),
            schedule_mask: Set(TimeWindow::week_mask(&self.weekly)),
            start_date: Set(self.start_date),
            end_date: Set(self.end_date),
            postcode: Set(self.place.as_ref().map(|(p, _, _)| p.clone())),
            lat: Set(self.place.as_ref().map(|&(_, lat, _)| lat)),
            lng: Set(self.place.as_ref().map(|&(_, _, lng)| lng)),
            remote: Set(self.place.is_none()),
            volunteers_needed: Set(self.places),
            places_taken: Set(self.taken),
            status: Set(self.status.as_db().to_owned()),
            published_at: Set(self.published_at),
            created_at: Set(self.created_at),
            updated_at: Set(self.updated_at),
        }
    }

    fn organisation_id(&self, orgs: &[Org]) -> Uuid {
        orgs.get(self.org).map(|o| o.id).unwrap_or_default()
    }
}

/// How many needs of each status to add on top of the `open` OPEN ones: (filled, closed, drafts).
fn extra_needs(open: usize) -> (usize, usize, usize) {
    (open * 3 / 100, open * 2 / 100, open / 100)
}

fn needs(rng: &mut ChaCha8Rng, orgs: &[Org], anchor: DateTime<Utc>, open: usize) -> Vec<NeedDraft> {
    if orgs.is_empty() {
        return Vec::new();
    }
    let (filled, closed, drafts) = extra_needs(open);
    let sizes = Weighted::new(orgs.iter().map(|o| o.size));
    let today = anchor.date_naive();
    let total = open + filled + closed + drafts;
    let mut needs = Vec::with_capacity(total);
    for j in 0..total {
        let status = if j < open {
            NeedStatus::Open
        } else if j < open + filled {
            NeedStatus::Filled
        } else if j < open + filled + closed {
            NeedStatus::Closed
        } else {
            NeedStatus::Draft
        };
        let org_index = sizes.sample(rng);
        let org = &orgs[org_index];
        let profile = &CATEGORIES[if rng.random_bool(0.6) { org.focus } else { any_category(rng) }];

        let remote = rng.random_bool(profile.remote);
        let place = if remote {
            None
        } else if rng.random_bool(0.5) {
            Some((org.spot.postcode.clone(), org.spot.lat, org.spot.lng))
        } else {
            let spread = if org.spot.area().rural { 3.0 } else { 0.8 };
            let (lat, lng) = scatter(rng, org.spot.lat, org.spot.lng, spread);
            Some((postcode(rng, org.spot.outward()), lat, lng))
        };

        let skill_count = pick(rng, &[(0usize, 5), (1, 35), (2, 40), (3, 20)]);
        let raw: Vec<&str> = (0..skill_count).map(|_| pick(rng, profile.skills)).collect();
        let skills = tag_list(&raw);

        let languages = if profile.category == NeedCategory::EnglishClasses {
            let n = pick(rng, &[(1usize, 40), (2, 35), (3, 25)]);
            let raw: Vec<&str> = (0..n).map(|_| pick(rng, LEARNER_LANGUAGES)).collect();
            tag_list(&raw)
        } else {
            match rng.random_range(0..100) {
                0..85 => Vec::new(),
                85..95 => vec!["english".to_owned()],
                _ => tag_list(&[pick(rng, LEARNER_LANGUAGES)]),
            }
        };

        // A one-off day (a window on that weekday), a date range, or an ongoing weekly need.
        let (start_date, end_date, weekly) = match rng.random_range(0..100) {
            0..8 => {
                let weekly = windows(rng, &profile.slots, 1, &NEED_HOURS);
                let day = weekly.first().map(|w| w.day).unwrap_or(Weekday::Saturday);
                let date = next_weekday(today + TimeDelta::days(rng.random_range(3..75)), day);
                (Some(date), Some(date), weekly)
            }
            8..33 => {
                let start = today + TimeDelta::days(rng.random_range(-30..60));
                let end = start + TimeDelta::days(rng.random_range(30..180));
                (Some(start), Some(end), need_windows(rng, profile, remote))
            }
            _ => (None, None, need_windows(rng, profile, remote)),
        };

        let title = format!(
            "{}{}",
            one_of(rng, profile.titles),
            title_suffix(&weekly, start_date.is_some() && start_date == end_date, remote)
        );
        let description = if remote {
            format!("{} From home, for {} in {}.", profile.blurb, org.name, org.spot.area().name)
        } else {
            format!("{} With {} in {}, {}.", profile.blurb, org.name, org.spot.district().name, org.spot.area().name)
        };

        let age = micros(anchor - org.created_at).min(micros(DAY * 240));
        let created_at = anchor - TimeDelta::microseconds(rng.random_range(0..age.max(1)));
        let published_at =
            (status != NeedStatus::Draft).then(|| between(rng, created_at, (created_at + DAY * 2).min(anchor)));
        needs.push(NeedDraft {
            id: id_at(rng, created_at),
            org: org_index,
            title,
            description,
            category: profile.category,
            skills,
            languages,
            safeguarding: pick(rng, profile.safeguarding),
            weekly,
            start_date,
            end_date,
            place,
            places: pick(rng, &[(1, 25), (2, 25), (3, 20), (4, 13), (5, 9), (6, 8)]),
            taken: 0,
            status,
            published_at,
            created_at,
            updated_at: published_at.unwrap_or(created_at),
        });
    }
    needs
}

/// A need's weekly sessions: usually one or two, sometimes none (flexible, more often for remote needs).
fn need_windows(rng: &mut ChaCha8Rng, profile: &CategoryProfile, remote: bool) -> Vec<TimeWindow> {
    if rng.random_bool(if remote { 0.5 } else { 0.12 }) {
        return Vec::new();
    }
    let count = pick(rng, &[(1usize, 60), (2, 35), (3, 5)]);
    windows(rng, &profile.slots, count, &NEED_HOURS)
}

/// Up to `count` windows on distinct days, sorted by day and start as the API stores them.
fn windows(rng: &mut ChaCha8Rng, slot_weights: &[u32; 4], count: usize, hours: &[&[(u16, u16)]; 4]) -> Vec<TimeWindow> {
    let table: Vec<(usize, u32)> = slot_weights.iter().copied().enumerate().collect();
    let mut out: Vec<TimeWindow> = Vec::with_capacity(count);
    for _ in 0..count * 4 {
        if out.len() == count {
            break;
        }
        let slot = pick(rng, &table);
        let day = match SLOTS[slot] {
            Slot::Weekend => one_of(rng, &WEEKDAYS[5..]),
            Slot::Morning | Slot::Afternoon | Slot::Evening => one_of(rng, &WEEKDAYS[..5]),
        };
        let (start, end) = one_of(rng, hours[slot]);
        if out.iter().all(|w| w.day != day) {
            out.push(TimeWindow { day, start, end });
        }
    }
    out.sort_by_key(|w| (w.day, w.start));
    out
}

fn next_weekday(from: NaiveDate, day: Weekday) -> NaiveDate {
    let target = WEEKDAYS.iter().position(|&d| d == day).unwrap_or(0) as i64;
    let have = i64::from(from.weekday().num_days_from_monday());
    from + TimeDelta::days((target - have).rem_euclid(7))
}

/// ", Tuesday evenings", "(one day)", ", remote": what people skimming a list want to know first.
fn title_suffix(weekly: &[TimeWindow], one_day: bool, remote: bool) -> String {
    let when = weekly.first().map(|w| {
        let part = match w.start {
            0..720 => "mornings",
            720..1020 => "afternoons",
            _ => "evenings",
        };
        format!("{:?} {part}", w.day)
    });
    match (when, one_day, remote) {
        (_, _, true) => ", remote".to_owned(),
        (Some(when), true, _) => format!(", one {}", when.trim_end_matches('s')),
        (Some(when), false, _) => format!(", {when}"),
        (None, _, _) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Volunteers

/// What applications need to know about a volunteer.
struct VolunteerRef {
    profile_id: Uuid,
    area: usize,
    created_at: DateTime<Utc>,
}

const OCCUPATIONS: &[&str] = &[
    "Retired teacher",
    "Student",
    "Nurse",
    "Software developer",
    "Accountant",
    "Shop manager",
    "Stay-at-home parent",
    "Bus driver",
    "Civil servant",
    "Chef",
    "Retired engineer",
    "Youth worker",
    "HR adviser",
    "Electrician",
    "Graduate looking for work",
    "Care worker",
    "Pharmacist",
    "Painter and decorator",
    "Retired district nurse",
    "Sixth-former",
];

async fn volunteers(
    txn: &DatabaseTransaction,
    writer: &Writer,
    rng: &mut ChaCha8Rng,
    geography: &Geography,
    anchor: DateTime<Utc>,
    spec: &SyntheticSpec,
    password_hash: &str,
) -> AppResult<Vec<VolunteerRef>> {
    // Built and written a statement's worth at a time: 100,000 profiles at once would hold ~100 MB of rows.
    let chunk = writer.rows_per_statement::<volunteer_profile::ActiveModel>();
    let today = anchor.date_naive();
    let mut refs = Vec::with_capacity(spec.volunteers);
    let mut next_report = 20_000;
    while refs.len() < spec.volunteers {
        let n = chunk.min(spec.volunteers - refs.len());
        let mut users = Vec::with_capacity(n);
        let mut profiles = Vec::with_capacity(n);
        for _ in 0..n {
            let number = refs.len() + 1;
            let spot = geography.spot(rng);
            let name = full_name(rng);
            let registered = anchor - TimeDelta::microseconds(rng.random_range(0..micros(DAY * 730)));
            let profiled = between(rng, registered, (registered + DAY).min(anchor));
            let user_id = id_at(rng, registered);
            let profile_id = id_at(rng, profiled);
            users.push(account(
                user_id,
                &format!("volunteer{number}@{EMAIL_DOMAIN}"),
                name.clone(),
                registered,
                password_hash,
            ));
            profiles.push(profile(rng, profile_id, user_id, name, &spot, profiled, today));
            refs.push(VolunteerRef { profile_id, area: spot.area, created_at: profiled });
        }
        writer.insert(txn, users).await?;
        writer.insert(txn, profiles).await?;
        if refs.len() >= next_report || refs.len() == spec.volunteers {
            tracing::info!("synthetic: {}/{} volunteers", refs.len(), spec.volunteers);
            next_report += 20_000;
        }
    }
    Ok(refs)
}

fn profile(
    rng: &mut ChaCha8Rng,
    id: Uuid,
    user_id: Uuid,
    name: String,
    spot: &Spot,
    at: DateTime<Utc>,
    today: NaiveDate,
) -> volunteer_profile::ActiveModel {
    let primary = any_category(rng);
    let skill_count = pick(rng, &[(2usize, 25), (3, 30), (4, 25), (5, 12), (6, 8)]);
    let raw: Vec<&str> = (0..skill_count)
        .map(|_| {
            let from = if rng.random_bool(0.6) { primary } else { any_category(rng) };
            let skill = pick(rng, CATEGORIES[from].skills);
            match SYNONYMS.iter().find(|(canonical, _)| *canonical == skill) {
                Some((_, synonyms)) if rng.random_bool(0.15) => one_of(rng, synonyms),
                _ => skill,
            }
        })
        .collect();
    let skills = tag_list(&raw);

    let mut interests: Vec<&str> = vec![CATEGORIES[primary].category.as_db()];
    for _ in 0..pick(rng, &[(0usize, 40), (1, 40), (2, 20)]) {
        interests.push(CATEGORIES[any_category(rng)].category.as_db());
    }
    interests.sort_unstable();
    interests.dedup();

    let mut languages: Vec<&str> = Vec::new();
    if rng.random_bool(0.97) {
        languages.push("english");
    }
    for &(language, share) in OTHER_LANGUAGES {
        if rng.random_bool(share) {
            languages.push(language);
        }
    }
    if let Some((language, share)) = spot.area().local_language
        && rng.random_bool(share)
    {
        languages.push(language);
    }
    if languages.is_empty() {
        languages.push("english");
    }
    let languages = tag_list(&languages);

    let radius = if spot.area().rural {
        pick(rng, &[(8.0, 15), (10.0, 25), (15.0, 25), (20.0, 20), (25.0, 15)])
    } else {
        pick(rng, &[(2.0, 10), (3.0, 15), (5.0, 25), (8.0, 20), (10.0, 15), (15.0, 10), (20.0, 5)])
    };
    let window_count = pick(rng, &[(1usize, 25), (2, 35), (3, 25), (4, 15)]);
    let availability = windows(rng, &[2, 2, 5, 3], window_count, &VOLUNTEER_HOURS);

    let level = pick(rng, &[(NoCheck, 40), (Basic, 20), (Standard, 10), (Enhanced, 18), (Barred, 12)]);
    let (issued_on, recheck_by, update_service) = if level == NoCheck {
        (None, None, false)
    } else {
        let issued = today - TimeDelta::days(rng.random_range(0..1095));
        let update_service = rng.random_bool(0.35);
        // Without the update service organisations usually ask for a recheck after three years; some never say.
        let recheck = (!update_service && rng.random_bool(0.6)).then(|| issued.checked_add_months(Months::new(36)));
        (Some(issued), recheck.flatten(), update_service)
    };
    let bio = if rng.random_bool(0.3) {
        String::new()
    } else {
        format!("{} living in {}.", one_of(rng, OCCUPATIONS), spot.district().name)
    };

    volunteer_profile::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        display_name: Set(name),
        bio: Set(bio),
        skills: Set(json_strings(&skills)),
        interests: Set(json_strings(&interests)),
        languages: Set(json_strings(&languages)),
        postcode: Set(Some(spot.postcode.clone())),
        lat: Set(Some(spot.lat)),
        lng: Set(Some(spot.lng)),
        travel_radius_km: Set(radius),
        availability: Set(TimeWindow::to_json(&availability)),
        availability_mask: Set(TimeWindow::week_mask(&availability)),
        dbs_level: Set(level.as_db().to_owned()),
        dbs_issued_on: Set(issued_on),
        dbs_recheck_by: Set(recheck_by),
        dbs_update_service: Set(update_service),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Applications

struct ApplicationDraft {
    id: Uuid,
    need: usize,
    volunteer: usize,
    message: &'static str,
    status: ApplicationStatus,
    applied_at: DateTime<Utc>,
    /// When the decision (accept, decline, withdraw) was made, if any.
    decided_at: Option<DateTime<Utc>>,
}

impl ApplicationDraft {
    fn row(&self, needs: &[NeedDraft], volunteers: &[VolunteerRef]) -> application::ActiveModel {
        let stamp = |status: ApplicationStatus| if self.status == status { self.decided_at } else { None };
        let need_id = needs.get(self.need).map(|n| n.id).unwrap_or_default();
        let volunteer_id = volunteers.get(self.volunteer).map(|v| v.profile_id).unwrap_or_default();
        application::ActiveModel {
            id: Set(self.id),
            need_id: Set(need_id),
            volunteer_id: Set(volunteer_id),
            message: Set(self.message.to_owned()),
            status: Set(self.status.as_db().to_owned()),
            applied_at: Set(Some(self.applied_at)),
            invited_at: Set(None),
            accepted_at: Set(stamp(ApplicationStatus::Accepted)),
            declined_at: Set(stamp(ApplicationStatus::Declined)),
            withdrawn_at: Set(stamp(ApplicationStatus::Withdrawn)),
            completed_at: Set(None),
            created_at: Set(self.applied_at),
            updated_at: Set(self.decided_at.unwrap_or(self.applied_at)),
        }
    }
}

const MESSAGES: &[&str] = &[
    "",
    "",
    "I'd love to help.",
    "I have done something like this before.",
    "I can come most weeks.",
    "I live nearby and have some free evenings.",
    "Happy to help however I can.",
    "I'm new to the area and want to get involved.",
    "I did this at my last job.",
    "Could I come along to see what it's like first?",
];

/// Share of volunteers picked from the need's own area (the rest from anywhere: people travel, or work there).
const LOCAL_APPLICANTS: f64 = 0.85;

fn applications(
    rng: &mut ChaCha8Rng,
    needs: &mut [NeedDraft],
    orgs: &[Org],
    volunteers: &[VolunteerRef],
    anchor: DateTime<Utc>,
    count: usize,
) -> AppResult<Vec<ApplicationDraft>> {
    let mut by_area: Vec<Vec<usize>> = vec![Vec::new(); AREAS.len()];
    for (i, v) in volunteers.iter().enumerate() {
        by_area[v.area].push(i);
    }
    let need_area = |n: &NeedDraft| n.place.as_ref().and_then(|_| orgs.get(n.org)).map(|o| o.spot.area);
    let mut pairs: HashSet<(usize, usize)> = HashSet::with_capacity(count);
    let mut out: Vec<ApplicationDraft> = Vec::with_capacity(count);
    if volunteers.is_empty() {
        close_unfillable(needs);
        return Ok(out);
    }

    // A volunteer for need `n` not yet paired with it, or None after a bounded search.
    let mut volunteer_for = |rng: &mut ChaCha8Rng, n: usize, area: Option<usize>| -> Option<usize> {
        for _ in 0..64 {
            let local = area.map(|a| &by_area[a]).filter(|l| !l.is_empty() && rng.random_bool(LOCAL_APPLICANTS));
            let v = match local {
                Some(list) => one_of(rng, list),
                None => rng.random_range(0..volunteers.len()),
            };
            if pairs.insert((n, v)) {
                return Some(v);
            }
        }
        None
    };

    // FILLED needs first: exactly as many ACCEPTED applications as places, within a quarter of the budget.
    let mut budget = count / 4;
    for (n, need) in needs.iter_mut().enumerate() {
        if need.status != NeedStatus::Filled {
            continue;
        }
        let places = usize::try_from(need.places).unwrap_or(0);
        if places > budget || places > volunteers.len() {
            need.status = NeedStatus::Closed;
            continue;
        }
        let area = need_area(need);
        for _ in 0..places {
            let Some(v) = volunteer_for(rng, n, area) else {
                return Err(AppError::internal("synthetic data: no free volunteer to fill a need"));
            };
            let (applied_at, decided_at) = timeline(rng, need, &volunteers[v], anchor);
            out.push(ApplicationDraft {
                id: id_at(rng, applied_at),
                need: n,
                volunteer: v,
                message: one_of(rng, MESSAGES),
                status: ApplicationStatus::Accepted,
                applied_at,
                decided_at: Some(decided_at),
            });
            need.taken += 1;
            need.updated_at = need.updated_at.max(decided_at);
        }
        budget -= places;
    }

    // The rest: needs of larger organisations draw more applicants; closed ones fewer.
    let weights = Weighted::new(needs.iter().map(|n| {
        let size = orgs.get(n.org).map(|o| o.size.sqrt()).unwrap_or(0.0);
        match n.status {
            NeedStatus::Draft => 0.0,
            NeedStatus::Closed => size * 0.3,
            NeedStatus::Open | NeedStatus::Filled => size,
        }
    }));
    if out.len() < count && weights.total() <= 0.0 {
        return Err(AppError::bad_input("--applications", "there are no published needs to apply to"));
    }
    let mut misses = 0usize;
    while out.len() < count {
        let n = weights.sample(rng);
        let Some(v) = volunteer_for(rng, n, need_area(&needs[n])) else {
            misses += 1;
            if misses > count + 10_000 {
                return Err(AppError::bad_input(
                    "--applications",
                    "could not find that many distinct (need, volunteer) pairs; ask for fewer applications",
                ));
            }
            continue;
        };
        let need = &mut needs[n];
        // An OPEN need keeps a place free (it must stay OPEN); a CLOSED one may have been full when it closed.
        let room = match need.status {
            NeedStatus::Open => need.taken + 1 < need.places,
            NeedStatus::Closed => need.taken < need.places,
            NeedStatus::Filled | NeedStatus::Draft => false,
        };
        let status = match rng.random_range(0..100) {
            0..18 if room => ApplicationStatus::Accepted,
            0..18 => ApplicationStatus::Applied,
            18..26 => ApplicationStatus::Declined,
            26..31 => ApplicationStatus::Withdrawn,
            _ => ApplicationStatus::Applied,
        };
        let (applied_at, decided) = timeline(rng, need, &volunteers[v], anchor);
        let decided_at = (status != ApplicationStatus::Applied).then_some(decided);
        if status == ApplicationStatus::Accepted {
            need.taken += 1;
            need.updated_at = need.updated_at.max(decided);
        }
        out.push(ApplicationDraft {
            id: id_at(rng, applied_at),
            need: n,
            volunteer: v,
            message: one_of(rng, MESSAGES),
            status,
            applied_at,
            decided_at,
        });
    }

    // A closed need was closed after everything else that happened to it.
    let mut last: Vec<DateTime<Utc>> = needs.iter().map(|n| n.updated_at).collect();
    for a in &out {
        last[a.need] = last[a.need].max(a.decided_at.unwrap_or(a.applied_at));
    }
    for (need, last) in needs.iter_mut().zip(last) {
        if need.status == NeedStatus::Closed {
            need.updated_at = between(rng, last, anchor);
        }
    }
    Ok(out)
}

/// Without volunteers nothing can be filled: the would-be FILLED needs are closed instead.
fn close_unfillable(needs: &mut [NeedDraft]) {
    for need in needs.iter_mut().filter(|n| n.status == NeedStatus::Filled) {
        need.status = NeedStatus::Closed;
    }
}

/// When a volunteer applied (after the need was published and they signed up) and when it was decided.
fn timeline(
    rng: &mut ChaCha8Rng,
    need: &NeedDraft,
    volunteer: &VolunteerRef,
    anchor: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let earliest = need.published_at.unwrap_or(need.created_at).max(volunteer.created_at);
    let applied = between(rng, earliest, anchor);
    let decided = between(rng, applied, (applied + DAY * 14).min(anchor));
    (applied, decided)
}

// ---------------------------------------------------------------------------------------------------------------
// Offers

const OFFERS: &[(OfferKind, NeedCategory, &str, &str)] = &[
    (OfferKind::Space, C::Premises, "Spare meeting room on weekday evenings", "Seats 20; tea and coffee included."),
    (
        OfferKind::Space,
        C::Premises,
        "Hall available for community groups",
        "A big hall with a kitchen; free to groups.",
    ),
    (OfferKind::Space, C::Premises, "Desk space for a small charity", "Two desks, wifi and a printer in our office."),
    (OfferKind::Introduction, C::EmploymentSupport, "Introductions to local employers", "We know who is hiring."),
    (OfferKind::Introduction, C::Fundraising, "Introductions to local donors", "Tell us what you need funded."),
    (OfferKind::Equipment, C::ItSkills, "Refurbished laptops for classes", "Ten laptops, wiped and ready."),
    (OfferKind::Equipment, C::Other, "Minibus for group outings", "Seats 16; you bring a driver with a D1 licence."),
];

fn offers(rng: &mut ChaCha8Rng, orgs: &[Org], anchor: DateTime<Utc>) -> Vec<offer::ActiveModel> {
    let mut rows = Vec::new();
    for org in orgs {
        if !rng.random_bool(0.03) {
            continue;
        }
        let (kind, category, title, description) = one_of(rng, OFFERS);
        let availability = if kind == OfferKind::Space { windows(rng, &[1, 1, 4, 2], 2, &NEED_HOURS) } else { vec![] };
        let at = between(rng, org.created_at, anchor);
        rows.push(offer::ActiveModel {
            id: Set(id_at(rng, at)),
            volunteer_id: Set(None),
            organisation_id: Set(Some(org.id)),
            kind: Set(kind.as_db().to_owned()),
            title: Set(title.to_owned()),
            description: Set(description.to_owned()),
            category: Set(Some(category.as_db().to_owned())),
            postcode: Set(Some(org.spot.postcode.clone())),
            lat: Set(Some(org.spot.lat)),
            lng: Set(Some(org.spot.lng)),
            remote: Set(false),
            availability: Set(TimeWindow::to_json(&availability)),
            status: Set(OfferStatus::Active.as_db().to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

    use super::*;
    use crate::Settings;

    async fn fresh() -> DatabaseConnection {
        let db = crate::connect(&Settings::for_database("sqlite::memory:")).await.expect("connect");
        crate::migrate(&db).await.expect("migrate");
        db
    }

    fn spec(volunteers: usize, needs: usize, organisations: usize, applications: usize, seed: u64) -> SyntheticSpec {
        SyntheticSpec { volunteers, needs, organisations, applications, seed }
    }

    /// What should not change between two runs with the same seed, in id order.
    async fn fingerprint(db: &DatabaseConnection) -> Vec<(String, String, i32, i32, String, Option<String>)> {
        need::Entity::find()
            .order_by_asc(need::Column::Id)
            .all(db)
            .await
            .expect("needs")
            .into_iter()
            .map(|n| (n.title, n.category, n.volunteers_needed, n.places_taken, n.status, n.postcode))
            .collect()
    }

    async fn check_places(db: &DatabaseConnection) {
        for n in need::Entity::find().all(db).await.expect("needs") {
            let accepted = application::Entity::find()
                .filter(application::Column::NeedId.eq(n.id))
                .filter(application::Column::Status.eq(ApplicationStatus::Accepted.as_db()))
                .count(db)
                .await
                .expect("count");
            assert!(n.places_taken <= n.volunteers_needed, "{} overbooked", n.title);
            assert_eq!(i64::from(n.places_taken), accepted as i64, "places_taken of {} matches", n.title);
            match NeedStatus::from_db(&n.status) {
                Some(NeedStatus::Open) => assert!(n.places_taken < n.volunteers_needed),
                Some(NeedStatus::Filled) => assert_eq!(n.places_taken, n.volunteers_needed),
                Some(NeedStatus::Closed | NeedStatus::Draft) => {}
                None => panic!("unknown status {}", n.status),
            }
        }
    }

    #[tokio::test]
    async fn tiny_data_set_has_the_requested_counts_and_is_reproducible() {
        let wanted = spec(50, 10, 5, 20, 7);
        let db = fresh().await;
        let summary = generate(&db, &wanted).await.expect("generate");
        assert_eq!(volunteer_profile::Entity::find().count(&db).await.expect("count"), 50);
        assert_eq!(organisation::Entity::find().count(&db).await.expect("count"), 5);
        assert_eq!(application::Entity::find().count(&db).await.expect("count"), 20);
        let open = need::Entity::find().filter(need::Column::Status.eq("OPEN")).count(&db).await.expect("count");
        assert_eq!(open, 10);
        assert_eq!(need::Entity::find().count(&db).await.expect("count"), 10, "no extras below 100 needs");
        let owners = membership::Entity::find().filter(membership::Column::Role.eq("OWNER")).count(&db).await;
        assert_eq!(owners.expect("count"), 5);
        assert_eq!(user::Entity::find().count(&db).await.expect("count") as usize, summary.users);
        assert_eq!(summary.volunteers, 50);
        assert_eq!(summary.open_needs, 10);
        assert_eq!(summary.applications, 20);
        check_places(&db).await;

        let again = fresh().await;
        generate(&again, &wanted).await.expect("generate again");
        let first = fingerprint(&db).await;
        assert_eq!(first, fingerprint(&again).await, "the same seed gives the same needs");

        let other = fresh().await;
        generate(&other, &spec(50, 10, 5, 20, 8)).await.expect("generate with another seed");
        assert_ne!(first, fingerprint(&other).await, "another seed gives other needs");

        assert!(generate(&db, &wanted).await.is_err(), "refuses a database that has data");
    }

    #[tokio::test]
    async fn larger_data_set_keeps_places_and_stores_values_as_the_api_does() {
        let db = fresh().await;
        let summary = generate(&db, &spec(400, 200, 20, 500, 3)).await.expect("generate");
        assert_eq!(summary.open_needs, 200);
        assert_eq!(summary.needs, 200 + 6 + 4 + 2);
        assert_eq!(application::Entity::find().count(&db).await.expect("count"), 500);
        check_places(&db).await;
        let filled = need::Entity::find().filter(need::Column::Status.eq("FILLED")).count(&db).await.expect("count");
        assert!(filled > 0, "some needs are filled");

        for n in need::Entity::find().all(&db).await.expect("needs") {
            assert!(NeedCategory::from_db(&n.category).is_some());
            assert!(DbsLevel::from_db(&n.safeguarding).is_some());
            assert_eq!(n.remote, n.lat.is_none());
            if n.title.contains(", one ") {
                assert!(n.start_date.is_some() && n.start_date == n.end_date, "{} is a one-day need", n.title);
            }
            if let Some(p) = &n.postcode {
                assert_eq!(crate::values::Postcode::parse("p", p).map(|p| p.into_inner()).as_ref(), Ok(p));
            }
            let skills = crate::values::text::json_strings(&n.required_skills);
            assert_eq!(crate::values::tags("s", &skills, 20).as_ref(), Ok(&skills), "skills stored normalised");
            let weekly = TimeWindow::from_json(&n.weekly_schedule);
            assert_eq!(TimeWindow::to_json(&weekly), n.weekly_schedule);
        }
        for v in volunteer_profile::Entity::find().all(&db).await.expect("profiles") {
            assert!(DbsLevel::from_db(&v.dbs_level).is_some());
            assert!((2.0..=25.0).contains(&v.travel_radius_km));
            assert!(!TimeWindow::from_json(&v.availability).is_empty());
            let interests = crate::values::text::json_strings(&v.interests);
            assert!(interests.iter().all(|i| NeedCategory::from_db(i).is_some()));
        }
        let statuses: Vec<String> =
            application::Entity::find().all(&db).await.expect("applications").into_iter().map(|a| a.status).collect();
        assert!(statuses.iter().any(|s| s == "APPLIED") && statuses.iter().any(|s| s == "ACCEPTED"));
    }

    #[tokio::test]
    async fn impossible_requests_are_refused() {
        let db = fresh().await;
        assert!(generate(&db, &spec(0, 10, 0, 0, 1)).await.is_err(), "needs without organisations");
        assert!(generate(&db, &spec(2, 2, 1, 5, 1)).await.is_err(), "more applications than pairs");
        let summary = generate(&db, &spec(0, 0, 0, 0, 1)).await.expect("an empty data set is fine");
        assert_eq!(summary.users, 0);
    }
}

//! The matching index: the scoring facts of every volunteer and need, held in memory, so that a match query
//! scores thousands of candidates without reading them from the database.
//!
//! Why: a need in central London can be reached by over 11,000 volunteers, and every volunteer has ~1,850 remote
//! needs as candidates. Reading and decoding those rows for each request cost 14–22 ms at the median; here a
//! request scans compact probes (a grid per travel-radius band) and scores only the pairs that pass them.
//!
//! Freshness: before each use, `refresh` reads the rows of `volunteer_profiles`, `needs` and `applications` whose
//! `updated_at` is newer than the newest it has seen, less `OVERLAP` (which covers a transaction committing a
//! little after it stamped its rows), and applies them. Every write path stamps `updated_at`, so a request sees
//! every write committed before it arrived, also writes made by other server processes, given clocks in step.
//! Concurrent requests share a poll: one that arrived before a poll started needs no poll of its own. An
//! unchanged database costs one indexed statement that finds nothing. Bulk loads that write old timestamps
//! (`pitchin seed`) are seen by servers started after them.
//!
//! What must be exact is still read from the database by the callers: the need of `matchesForNeed` and its
//! applications, the volunteer's profile and applications in `recommendedNeeds`.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::scoring::{NeedFacts, PreparedNeed, Tag, VolunteerFacts, dbs_rank, quick_score, score_prepared};
use super::service::{self, NeedCandidate, Ranked, VolunteerCandidate};
use crate::applications::ApplicationStatus;
use crate::error::AppResult;
use crate::needs::NeedStatus;
use crate::store::page::fetch_rows;
use crate::store::replica::Replica;
use crate::values::geo::KM_PER_DEGREE;
use crate::values::{Coordinates, TimeWindow};
use entity::{application, need, volunteer_profile};

/// How far back each poll re-reads, past the newest `updated_at` seen: rows are stamped before their transaction
/// commits, so one stamped earlier can become visible after a later one. Rows re-read unchanged are skipped.
/// Re-reads are cheap (an indexed range of ids and stamps, skipped when unchanged), so the window is generous:
/// a plan confirmation of hundreds of invitations, or a SQLite writer waiting out its busy timeout, stays inside it.
pub const OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// Slack on travel radii in the probe test: the planar distance there is a little shorter than the great-circle
/// one that scoring checks exactly, and must never exclude a pair that scoring would accept.
const PROBE_SLACK_KM: f64 = 2.0;
/// Grid cells are this many degrees on each side (about 11 km north–south, 7 km east–west in the UK).
const CELL_DEGREES: f64 = 0.1;
/// Upper bounds of the travel-radius bands. Each band has its own grid, searched only as far as its own largest
/// radius reaches, so the many volunteers who travel 5 km are not scanned for a need 20 km away.
const BANDS_KM: [f64; 7] = [2.0, 5.0, 10.0, 15.0, 25.0, 50.0, f64::INFINITY];
/// Rows read per statement while loading, to bound the memory a load takes on top of the index.
const LOAD_CHUNK: u64 = 5_000;
/// Ids per `IN (…)` list, well under SQLite's and PostgreSQL's limits on bound parameters.
const ID_CHUNK: usize = 5_000;

type Cell = (i32, i32);

fn cell_of(lat: f64, lng: f64) -> Cell {
    ((lat / CELL_DEGREES).floor() as i32, (lng / CELL_DEGREES).floor() as i32)
}

/// What the scan of a grid cell reads about a volunteer: small and contiguous, so a scan of thousands is cheap.
#[derive(Clone, Copy, Debug)]
struct Probe {
    slot: u32,
    lat: f32,
    lng: f32,
    radius_km: f32,
    mask: i64,
    dbs: u8,
}

/// The same for a need.
#[derive(Clone, Copy, Debug)]
struct NeedProbe {
    open: bool,
    remote: bool,
    placed: bool,
    lat: f32,
    lng: f32,
    mask: i64,
    safeguarding: u8,
}

#[derive(Default)]
struct Band {
    /// The largest radius ever held in the band (it never shrinks: a too-wide search costs only a little time).
    max_radius_km: f64,
    cells: HashMap<Cell, Vec<Probe>>,
}

pub struct IndexedVolunteer {
    pub id: Uuid,
    pub facts: VolunteerFacts,
    /// The probe's tests, also here: remote needs scan volunteers in slot order, which reads memory in sequence.
    mask: i64,
    dbs: u8,
    updated_at: DateTime<Utc>,
    /// Where its probe is: a band and a cell, or `None` for the placeless list.
    place: Option<(usize, Cell)>,
    /// Erased: in no search.
    removed: bool,
}

pub struct IndexedNeed {
    pub id: Uuid,
    pub facts: NeedFacts,
    updated_at: DateTime<Utc>,
}

#[derive(Default)]
struct IndexState {
    volunteers: Vec<IndexedVolunteer>,
    volunteer_slots: HashMap<Uuid, u32>,
    bands: [Band; BANDS_KM.len()],
    /// Probes of volunteers who have not said where they are: candidates for remote needs only.
    placeless: Vec<Probe>,
    needs: Vec<IndexedNeed>,
    /// Parallel to `needs`.
    need_probes: Vec<NeedProbe>,
    need_slots: HashMap<Uuid, u32>,
    /// Active (APPLIED, INVITED, ACCEPTED) applications per need; absent means none.
    active_applicants: HashMap<Uuid, i32>,
    /// One copy of each skill and language tag, shared by every volunteer who has it.
    tags: HashSet<Tag>,
}

/// The newest `updated_at` read from each table.
#[derive(Clone, Copy, Default)]
struct Watermarks {
    volunteers: Option<DateTime<Utc>>,
    needs: Option<DateTime<Utc>>,
    applications: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct PollState {
    loaded: bool,
    /// When the last successful poll started.
    last_started: Option<Instant>,
    seen: Watermarks,
    /// Applications read within the overlap window, with their stamps, so a re-read does not recount again.
    recent_applications: HashMap<Uuid, DateTime<Utc>>,
}

#[derive(Default)]
pub struct MatchingIndex {
    state: RwLock<IndexState>,
    poll: tokio::sync::Mutex<PollState>,
    /// The primary, and the replica the loads read when it has replayed every write committed before them
    /// (`read_from`).
    replica: std::sync::OnceLock<(DatabaseConnection, Arc<Replica>)>,
    /// When the last refresh that succeeded started: the index holds every write committed before it.
    refreshed: std::sync::Mutex<Option<Instant>>,
}

/// How current the index is, and how large (for the metrics).
pub struct Freshness {
    /// Since the last refresh that succeeded started (none before the first).
    pub age: Option<std::time::Duration>,
    pub volunteers: usize,
    pub needs: usize,
}

/// A read-only view of the index. Hold it only between awaits: it blocks refreshes while held.
pub struct IndexView<'a>(RwLockReadGuard<'a, IndexState>);

#[derive(FromQueryResult)]
struct Changed {
    kind: String,
    id: Uuid,
    need_id: Uuid,
    updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Newest {
    newest: Option<DateTime<Utc>>,
}

impl MatchingIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn freshness(&self) -> Freshness {
        let age = self.refreshed.lock().unwrap_or_else(PoisonError::into_inner).map(|at| at.elapsed());
        let state = self.read();
        let volunteers = state.0.volunteers.iter().filter(|v| !v.removed).count();
        Freshness { age, volunteers, needs: state.0.needs.len() }
    }

    pub fn read(&self) -> IndexView<'_> {
        IndexView(self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Brings the index up to date with every write committed before this call (loading it on first use).
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        let arrived = Instant::now();
        let mut poll = self.poll.lock().await;
        if poll.last_started.is_some_and(|started| started > arrived) {
            return Ok(());
        }
        let started = Instant::now();
        match self.replica.get() {
            // With a replica, the caller's connection may be the replica's (a public read): the position, and the
            // loads when the replica is behind, come from the primary. The replica's answer is the primary's as of
            // now once it has replayed the primary's position now.
            Some((primary, replica)) => {
                let source = if replica.fresh()
                    && replica.has_replayed(Some(crate::store::replica::primary_position(primary).await?)).await
                {
                    replica.db()
                } else {
                    primary
                };
                if poll.loaded {
                    self.apply_changes(source, &mut poll).await?;
                } else {
                    self.load(source, &mut poll).await?;
                }
            }
            None if poll.loaded => self.apply_changes(db, &mut poll).await?,
            None => self.load(db, &mut poll).await?,
        }
        poll.last_started = Some(started);
        *self.refreshed.lock().unwrap_or_else(PoisonError::into_inner) = Some(started);
        Ok(())
    }

    /// Reads from `replica` from now on, whenever it has replayed every write committed on `primary` before a
    /// refresh starts, and from `primary` otherwise.
    pub fn read_from(&self, primary: DatabaseConnection, replica: Arc<Replica>) {
        let _ = self.replica.set((primary, replica));
    }

    async fn load(&self, db: &impl ConnectionTrait, poll: &mut PollState) -> AppResult<()> {
        let began = Instant::now();
        // The newest stamps are read before the rows: a write during the load is then newer than its table's
        // mark (or within the overlap), so the next poll reads it again, however long the load took.
        let seen = Watermarks {
            volunteers: newest_stamp(db, volunteer_profile::Entity, volunteer_profile::Column::UpdatedAt).await?,
            needs: newest_stamp(db, need::Entity, need::Column::UpdatedAt).await?,
            applications: newest_stamp(db, application::Entity, application::Column::UpdatedAt).await?,
        };
        let mut fresh = IndexState::default();
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = service::slim_volunteers().order_by_asc(volunteer_profile::Column::Id).limit(LOAD_CHUNK);
            if let Some(last) = after {
                select = select.filter(volunteer_profile::Column::Id.gt(last));
            }
            let rows = select.into_model::<VolunteerCandidate>().all(db).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            rows.iter().for_each(|row| fresh.put_volunteer(row));
        }
        // Counts first: each need takes its count as it goes in.
        fresh.active_applicants = service::active_applicants_of_all(db).await?;
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = service::slim_needs().order_by_asc(need::Column::Id).limit(LOAD_CHUNK);
            if let Some(last) = after {
                select = select.filter(need::Column::Id.gt(last));
            }
            let rows = select.into_model::<NeedCandidate>().all(db).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            rows.iter().for_each(|row| fresh.put_need(row));
        }
        fresh.shrink();
        tracing::info!(
            volunteers = fresh.volunteers.len(),
            needs = fresh.needs.len(),
            ms = began.elapsed().as_millis() as u64,
            "matching index loaded"
        );
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        poll.seen = seen;
        poll.loaded = true;
        Ok(())
    }

    /// Reads and applies what changed. The poll state moves on only once everything is applied, so a poll that
    /// fails (or whose request is dropped) leaves it where it was and the next one reads the same changes again.
    async fn apply_changes(&self, db: &impl ConnectionTrait, poll: &mut PollState) -> AppResult<()> {
        let changed: Vec<Changed> = fetch_rows(db, &changed_since(&poll.seen)).await?;
        if changed.is_empty() {
            return Ok(());
        }
        let mut seen = poll.seen;
        let (mut volunteers, mut needs, mut recount, mut recent) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        {
            let state = self.read();
            for row in &changed {
                match row.kind.as_str() {
                    "v" => {
                        note_newest(&mut seen.volunteers, row.updated_at);
                        if state.0.volunteer_stamp(row.id) != Some(row.updated_at) {
                            volunteers.push(row.id);
                        }
                    }
                    "n" => {
                        note_newest(&mut seen.needs, row.updated_at);
                        if state.0.need_stamp(row.id) != Some(row.updated_at) {
                            needs.push(row.id);
                            // Places change with applications: count them again too.
                            recount.push(row.id);
                        }
                    }
                    _ => {
                        note_newest(&mut seen.applications, row.updated_at);
                        if poll.recent_applications.get(&row.id) != Some(&row.updated_at) {
                            recent.push((row.id, row.updated_at));
                            recount.push(row.need_id);
                        }
                    }
                }
            }
        }
        recount.sort();
        recount.dedup();
        let mut volunteer_rows = Vec::new();
        for chunk in volunteers.chunks(ID_CHUNK) {
            let select = service::slim_volunteers().filter(volunteer_profile::Column::Id.is_in(chunk.iter().copied()));
            volunteer_rows.extend(select.into_model::<VolunteerCandidate>().all(db).await?);
        }
        let mut need_rows = Vec::new();
        for chunk in needs.chunks(ID_CHUNK) {
            let select = service::slim_needs().filter(need::Column::Id.is_in(chunk.iter().copied()));
            need_rows.extend(select.into_model::<NeedCandidate>().all(db).await?);
        }
        let counts = if recount.is_empty() { HashMap::new() } else { service::active_applicants(db, &recount).await? };
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            for need_id in recount {
                state.set_active_applicants(need_id, counts.get(&need_id).copied().unwrap_or(0));
            }
            volunteer_rows.iter().for_each(|row| state.put_volunteer(row));
            // Changed but no longer a candidate: an erased volunteer.
            let returned: std::collections::HashSet<Uuid> = volunteer_rows.iter().map(|r| r.id).collect();
            volunteers.iter().filter(|id| !returned.contains(id)).for_each(|id| state.remove_volunteer(*id));
            need_rows.iter().for_each(|row| state.put_need(row));
        }
        poll.seen = seen;
        poll.recent_applications.extend(recent);
        if let Some(newest) = seen.applications {
            poll.recent_applications.retain(|_, stamp| *stamp > newest - OVERLAP);
        }
        Ok(())
    }
}

async fn newest_stamp<E: EntityTrait>(
    db: &impl ConnectionTrait,
    table: E,
    column: impl ColumnTrait,
) -> AppResult<Option<DateTime<Utc>>> {
    let select = Query::select().expr_as(Expr::col(column).max(), Alias::new("newest")).from(table).to_owned();
    let rows: Vec<Newest> = fetch_rows(db, &select).await?;
    Ok(rows.into_iter().next().and_then(|n| n.newest))
}

fn note_newest(seen: &mut Option<DateTime<Utc>>, stamp: DateTime<Utc>) {
    if seen.is_none_or(|s| s < stamp) {
        *seen = Some(stamp);
    }
}

/// One statement for what changed in the three tables since the newest stamps seen, less the overlap.
fn changed_since(seen: &Watermarks) -> SelectStatement {
    let since = |seen: Option<DateTime<Utc>>| seen.unwrap_or(DateTime::UNIX_EPOCH) - OVERLAP;
    let mut select = Query::select()
        .expr_as(Expr::cust("'v'"), Alias::new("kind"))
        .expr_as(Expr::col(volunteer_profile::Column::Id), Alias::new("id"))
        .expr_as(Expr::col(volunteer_profile::Column::Id), Alias::new("need_id"))
        .expr_as(Expr::col(volunteer_profile::Column::UpdatedAt), Alias::new("updated_at"))
        .from(volunteer_profile::Entity)
        .and_where(volunteer_profile::Column::UpdatedAt.gt(since(seen.volunteers)))
        .to_owned();
    let needs = Query::select()
        .expr(Expr::cust("'n'"))
        .column(need::Column::Id)
        .column(need::Column::Id)
        .column(need::Column::UpdatedAt)
        .from(need::Entity)
        .and_where(need::Column::UpdatedAt.gt(since(seen.needs)))
        .to_owned();
    let applications = Query::select()
        .expr(Expr::cust("'a'"))
        .column(application::Column::Id)
        .column(application::Column::NeedId)
        .column(application::Column::UpdatedAt)
        .from(application::Entity)
        .and_where(application::Column::UpdatedAt.gt(since(seen.applications)))
        .to_owned();
    select.union(UnionType::All, needs).union(UnionType::All, applications);
    select
}

/// East–west kilometres per degree at the edge of a search box `dlat` degrees either side of `lat`: the
/// smallest scale in the box, so planar distances measured with it never exceed the true ones.
fn min_km_per_degree_lng(lat: f64, dlat: f64) -> f64 {
    let edge = (lat.abs() + dlat).min(89.0);
    (KM_PER_DEGREE * edge.to_radians().cos()).max(1.0)
}

fn band_of(radius_km: f64) -> usize {
    BANDS_KM.iter().position(|bound| radius_km <= *bound).unwrap_or(BANDS_KM.len() - 1)
}

impl IndexState {
    fn volunteer_stamp(&self, id: Uuid) -> Option<DateTime<Utc>> {
        self.volunteer_slots.get(&id).and_then(|s| self.volunteers.get(*s as usize)).map(|v| v.updated_at)
    }

    fn need_stamp(&self, id: Uuid) -> Option<DateTime<Utc>> {
        self.need_slots.get(&id).and_then(|s| self.needs.get(*s as usize)).map(|n| n.updated_at)
    }

    /// Adds or replaces a volunteer, moving its probe if its place, radius, times or DBS changed.
    fn put_volunteer(&mut self, row: &VolunteerCandidate) {
        let mut facts = service::volunteer_facts(row);
        for tag in facts.skills.iter_mut().chain(facts.languages.iter_mut()) {
            *tag = self.intern(tag);
        }
        let existing = self.volunteer_slots.get(&row.id).copied();
        if let Some(slot) = existing {
            self.remove_probe(slot);
        }
        let slot = existing.unwrap_or_else(|| u32::try_from(self.volunteers.len()).unwrap_or(u32::MAX));
        let (lat, lng) = facts.location.map_or((0.0, 0.0), |c| (c.lat(), c.lng()));
        let probe = Probe {
            slot,
            lat: lat as f32,
            lng: lng as f32,
            radius_km: facts.travel_radius_km as f32,
            mask: TimeWindow::week_mask(&facts.availability),
            dbs: dbs_rank(facts.dbs.level),
        };
        let place = facts.location.map(|c| {
            let band = band_of(facts.travel_radius_km);
            let cell = cell_of(c.lat(), c.lng());
            let b = &mut self.bands[band];
            b.max_radius_km = b.max_radius_km.max(facts.travel_radius_km);
            b.cells.entry(cell).or_default().push(probe);
            (band, cell)
        });
        if place.is_none() {
            self.placeless.push(probe);
        }
        let volunteer = IndexedVolunteer {
            id: row.id,
            facts,
            mask: probe.mask,
            dbs: probe.dbs,
            updated_at: row.updated_at,
            place,
            removed: false,
        };
        match self.volunteers.get_mut(slot as usize) {
            Some(v) => *v = volunteer,
            None => {
                self.volunteers.push(volunteer);
                self.volunteer_slots.insert(row.id, slot);
            }
        }
    }

    fn intern(&mut self, tag: &Tag) -> Tag {
        match self.tags.get(tag) {
            Some(shared) => shared.clone(),
            None => {
                self.tags.insert(tag.clone());
                tag.clone()
            }
        }
    }

    /// Gives back what growing the vectors over-allocated, once a load is done.
    fn shrink(&mut self) {
        self.volunteers.shrink_to_fit();
        self.needs.shrink_to_fit();
        self.need_probes.shrink_to_fit();
        self.placeless.shrink_to_fit();
        for band in &mut self.bands {
            band.cells.values_mut().for_each(Vec::shrink_to_fit);
        }
    }

    /// Takes a volunteer out of every search (its slot stays, unreachable).
    fn remove_volunteer(&mut self, id: Uuid) {
        let Some(slot) = self.volunteer_slots.get(&id).copied() else { return };
        self.remove_probe(slot);
        if let Some(v) = self.volunteers.get_mut(slot as usize) {
            v.place = None;
            v.removed = true;
        }
    }

    fn remove_probe(&mut self, slot: u32) {
        let Some(v) = self.volunteers.get(slot as usize) else { return };
        if v.removed {
            return;
        }
        let list = match v.place {
            Some((band, cell)) => self.bands[band].cells.get_mut(&cell),
            None => Some(&mut self.placeless),
        };
        if let Some(list) = list
            && let Some(i) = list.iter().position(|p| p.slot == slot)
        {
            list.swap_remove(i);
        }
    }

    fn put_need(&mut self, row: &NeedCandidate) {
        let facts = service::need_facts(row, self.active_applicants.get(&row.id).copied().unwrap_or(0));
        let probe = need_probe(&facts);
        let indexed = IndexedNeed { id: row.id, facts, updated_at: row.updated_at };
        match self.need_slots.get(&row.id) {
            Some(slot) => {
                let i = *slot as usize;
                if let (Some(n), Some(p)) = (self.needs.get_mut(i), self.need_probes.get_mut(i)) {
                    *n = indexed;
                    *p = probe;
                }
            }
            None => {
                self.need_slots.insert(row.id, u32::try_from(self.needs.len()).unwrap_or(u32::MAX));
                self.needs.push(indexed);
                self.need_probes.push(probe);
            }
        }
    }

    fn set_active_applicants(&mut self, need_id: Uuid, count: i32) {
        if count == 0 {
            self.active_applicants.remove(&need_id);
        } else {
            self.active_applicants.insert(need_id, count);
        }
        if let Some(slot) = self.need_slots.get(&need_id)
            && let Some(n) = self.needs.get_mut(*slot as usize)
        {
            n.facts.active_applicants = count;
        }
    }
}

fn need_probe(facts: &NeedFacts) -> NeedProbe {
    let (lat, lng) = facts.location.map_or((0.0, 0.0), |c| (c.lat(), c.lng()));
    NeedProbe {
        open: facts.status == NeedStatus::Open && facts.places_left > 0,
        remote: facts.remote,
        placed: facts.location.is_some(),
        lat: lat as f32,
        lng: lng as f32,
        mask: TimeWindow::week_mask(&facts.weekly),
        safeguarding: dbs_rank(facts.safeguarding),
    }
}

/// Whether a volunteer at `(lat, lng)` with `radius_km` may reach `center`, by a planar distance that is never
/// longer than the true one (`km_lng` is the smallest east–west scale in the search box).
fn may_reach(center: Coordinates, km_lng: f64, lat: f32, lng: f32, radius_km: f32) -> bool {
    let dy = (f64::from(lat) - center.lat()) * KM_PER_DEGREE;
    let dx = (f64::from(lng) - center.lng()) * km_lng;
    let reach = f64::from(radius_km) + PROBE_SLACK_KM;
    dx * dx + dy * dy <= reach * reach
}

impl IndexView<'_> {
    /// Whether any open need requires a verified DBS check (a scan of the needs, microseconds).
    pub fn requires_verification(&self) -> bool {
        self.0.needs.iter().any(|n| n.facts.verified_by.is_some() && n.facts.status == NeedStatus::Open)
    }

    pub fn volunteer(&self, slot: u32) -> Option<&IndexedVolunteer> {
        self.0.volunteers.get(slot as usize)
    }

    pub fn need(&self, slot: u32) -> Option<&IndexedNeed> {
        self.0.needs.get(slot as usize)
    }

    pub fn need_by_id(&self, id: Uuid) -> Option<&IndexedNeed> {
        self.0.need_slots.get(&id).and_then(|slot| self.0.needs.get(*slot as usize))
    }

    pub fn active_applicants(&self, need_id: Uuid) -> i32 {
        self.0.active_applicants.get(&need_id).copied().unwrap_or(0)
    }

    /// Every volunteer eligible for `need`, scored, as (score, volunteer id, slot); `existing` gives a volunteer's
    /// application to this need, if any (it is asked for every candidate: make it cheap).
    pub fn volunteers_for(
        &self,
        need: &NeedFacts,
        existing: impl Fn(Uuid) -> Option<ApplicationStatus>,
        today: NaiveDate,
    ) -> Vec<Ranked<u32>> {
        let mut out = Vec::new();
        if need.status != NeedStatus::Open || need.places_left <= 0 {
            return out;
        }
        let (need_mask, level) = (TimeWindow::week_mask(&need.weekly), dbs_rank(need.safeguarding));
        let passes = |p: &Probe| p.dbs >= level && (need_mask == 0 || p.mask & need_mask != 0);
        let prepared = PreparedNeed::new(need, today);
        let score = |p: &Probe, out: &mut Vec<Ranked<u32>>| {
            if let Some(v) = self.0.volunteers.get(p.slot as usize)
                && let Some(s) = score_prepared(&prepared, &v.facts, existing(v.id))
            {
                out.push((s, v.id, p.slot));
            }
        };
        if need.remote {
            for (slot, v) in self.0.volunteers.iter().enumerate() {
                if !v.removed
                    && v.dbs >= level
                    && (need_mask == 0 || v.mask & need_mask != 0)
                    && let Some(s) = score_prepared(&prepared, &v.facts, existing(v.id))
                {
                    out.push((s, v.id, u32::try_from(slot).unwrap_or(u32::MAX)));
                }
            }
            return out;
        }
        let Some(center) = need.location else { return out };
        for band in &self.0.bands {
            if band.cells.is_empty() {
                continue;
            }
            let dlat = (band.max_radius_km + PROBE_SLACK_KM) / KM_PER_DEGREE;
            let km_lng = min_km_per_degree_lng(center.lat(), dlat);
            let dlng = (band.max_radius_km + PROBE_SLACK_KM) / km_lng;
            let (lo, hi) =
                (cell_of(center.lat() - dlat, center.lng() - dlng), cell_of(center.lat() + dlat, center.lng() + dlng));
            for y in lo.0..=hi.0 {
                for x in lo.1..=hi.1 {
                    let Some(cell) = band.cells.get(&(y, x)) else { continue };
                    for p in cell {
                        if passes(p) && may_reach(center, km_lng, p.lat, p.lng, p.radius_km) {
                            score(p, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    /// Every open need `volunteer` is eligible for, scored, as (score, need id, slot); `existing` gives the
    /// volunteer's application to a need, if any.
    pub fn needs_for(
        &self,
        volunteer: &VolunteerFacts,
        existing: impl Fn(Uuid) -> Option<ApplicationStatus>,
        today: NaiveDate,
    ) -> Vec<Ranked<u32>> {
        let (free, level) = (TimeWindow::week_mask(&volunteer.availability), dbs_rank(volunteer.dbs.level));
        let home = volunteer.location;
        let dlat = (volunteer.travel_radius_km + PROBE_SLACK_KM) / KM_PER_DEGREE;
        let km_lng = home.map_or(1.0, |c| min_km_per_degree_lng(c.lat(), dlat));
        let radius = volunteer.travel_radius_km as f32;
        let mut out = Vec::new();
        for (slot, p) in self.0.need_probes.iter().enumerate() {
            let reachable = p.remote || (p.placed && home.is_some_and(|c| may_reach(c, km_lng, p.lat, p.lng, radius)));
            if !(p.open && p.safeguarding <= level && (p.mask == 0 || p.mask & free != 0) && reachable) {
                continue;
            }
            if let Some(n) = self.0.needs.get(slot)
                && let Some(s) = quick_score(&n.facts, volunteer, existing(n.id), today)
            {
                out.push((s, n.id, u32::try_from(slot).unwrap_or(u32::MAX)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::needs::NeedCategory;
    use crate::values::Weekday;
    use crate::volunteers::DbsLevel;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default()
    }

    const LEVELS: [DbsLevel; 5] =
        [DbsLevel::None, DbsLevel::Basic, DbsLevel::Standard, DbsLevel::Enhanced, DbsLevel::EnhancedBarredLists];
    const SKILLS: [&str; 5] = ["esol", "teaching english", "it support", "mentoring", "cv writing"];

    fn windows(bits: u8) -> serde_json::Value {
        let days = [Weekday::Monday, Weekday::Tuesday, Weekday::Saturday];
        let ws: Vec<TimeWindow> = (0..6)
            .filter(|i| bits & (1 << i) != 0)
            .map(|i| TimeWindow {
                day: days[i % 3],
                start: if i < 3 { 9 * 60 } else { 18 * 60 },
                end: if i < 3 { 12 * 60 } else { 21 * 60 },
            })
            .collect();
        TimeWindow::to_json(&ws)
    }

    fn volunteer(
        i: usize,
        lat: f64,
        lng: f64,
        radius: f64,
        level: usize,
        bits: u8,
        placed: bool,
    ) -> VolunteerCandidate {
        VolunteerCandidate {
            id: Uuid::from_u128(i as u128 + 1),
            skills: serde_json::json!([SKILLS[i % 5]]),
            interests: serde_json::json!(["MENTORING"]),
            languages: serde_json::json!(["english"]),
            lat: placed.then_some(lat),
            lng: placed.then_some(lng),
            travel_radius_km: radius,
            availability: windows(bits),
            dbs_level: LEVELS[level].as_db().to_owned(),
            dbs_issued_on: NaiveDate::from_ymd_opt(2026, 1, 1),
            dbs_recheck_by: None,
            dbs_update_service: false,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn need(i: usize, lat: f64, lng: f64, remote: bool, level: usize, bits: u8) -> NeedCandidate {
        NeedCandidate {
            id: Uuid::from_u128(1_000_000 + i as u128),
            organisation_id: Uuid::nil(),
            status: NeedStatus::Open.as_db().to_owned(),
            category: NeedCategory::Mentoring.as_db().to_owned(),
            required_skills: serde_json::json!([SKILLS[(i + 1) % 5]]),
            languages: serde_json::json!([]),
            safeguarding: LEVELS[level].as_db().to_owned(),
            weekly_schedule: windows(bits),
            start_date: None,
            lat: Some(lat),
            lng: Some(lng),
            remote,
            volunteers_needed: 2,
            places_taken: 0,
            updated_at: DateTime::UNIX_EPOCH,
            safeguarding_verified: false,
        }
    }

    fn sorted(mut v: Vec<Ranked<u32>>) -> Vec<(Uuid, u64)> {
        v.sort_by_key(|r| r.1);
        v.into_iter().map(|(s, id, _)| (id, s.to_bits())).collect()
    }

    prop_compose! {
        fn arb_volunteer(i: usize)(
            dlat in -1.5f64..1.5, dlng in -2.5f64..2.5, radius in prop_oneof![0.5f64..30.0, 30.0f64..200.0],
            level in 0usize..5, bits in any::<u8>(), placed in proptest::bool::weighted(0.9),
        ) -> VolunteerCandidate {
            volunteer(i, 52.0 + dlat, -1.0 + dlng, radius, level, bits, placed)
        }
    }

    fn arb_world() -> impl Strategy<Value = (Vec<VolunteerCandidate>, Vec<NeedCandidate>)> {
        let volunteers = (0..60usize).map(arb_volunteer).collect::<Vec<_>>();
        let needs = proptest::collection::vec(
            (-1.5f64..1.5, -2.5f64..2.5, proptest::bool::weighted(0.2), 0usize..5, any::<u8>()),
            1..8,
        );
        (volunteers, needs).prop_map(|(vs, ns)| {
            let needs = ns
                .into_iter()
                .enumerate()
                .map(|(i, (dlat, dlng, remote, level, bits))| need(i, 52.0 + dlat, -1.0 + dlng, remote, level, bits))
                .collect();
            (vs, needs)
        })
    }

    fn indexed(volunteers: &[VolunteerCandidate], needs: &[NeedCandidate]) -> MatchingIndex {
        let mut state = IndexState::default();
        volunteers.iter().for_each(|v| state.put_volunteer(v));
        needs.iter().for_each(|n| state.put_need(n));
        MatchingIndex {
            state: RwLock::new(state),
            poll: Default::default(),
            replica: Default::default(),
            refreshed: Default::default(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The probes only narrow the search: the index finds exactly the pairs that scoring every pair finds.
        #[test]
        fn the_index_finds_exactly_the_eligible_pairs((volunteers, needs) in arb_world()) {
            let index = indexed(&volunteers, &needs);
            let view = index.read();
            for n in &needs {
                let nf = service::need_facts(n, 0);
                let brute: Vec<Ranked<u32>> = volunteers.iter().enumerate().filter_map(|(slot, v)| {
                    quick_score(&nf, &service::volunteer_facts(v), None, today()).map(|s| (s, v.id, slot as u32))
                }).collect();
                prop_assert_eq!(sorted(view.volunteers_for(&nf, |_| None, today())), sorted(brute));
            }
            for v in &volunteers {
                let vf = service::volunteer_facts(v);
                let brute: Vec<Ranked<u32>> = needs.iter().enumerate().filter_map(|(slot, n)| {
                    quick_score(&service::need_facts(n, 0), &vf, None, today()).map(|s| (s, n.id, slot as u32))
                }).collect();
                prop_assert_eq!(sorted(view.needs_for(&vf, |_| None, today())), sorted(brute));
            }
        }
    }

    #[test]
    fn updates_move_volunteers_and_change_needs() {
        let london = need(0, 51.5, -0.12, false, 1, 0);
        let index = indexed(&[volunteer(0, 51.5, -0.12, 5.0, 3, 0b111111, true)], std::slice::from_ref(&london));
        let london_facts = service::need_facts(&london, 0);
        let write = || index.state.write().unwrap_or_else(PoisonError::into_inner);
        let needs_of_first = |view: &IndexView| {
            let facts = view.volunteer(0).map(|v| v.facts.clone());
            facts.map_or(0, |f| view.needs_for(&f, |_| None, today()).len())
        };
        assert_eq!(index.read().volunteers_for(&london_facts, |_| None, today()).len(), 1);

        // The volunteer moves to Manchester: no longer a candidate in London, and its probe moved with it.
        write().put_volunteer(&volunteer(0, 53.48, -2.24, 5.0, 3, 0b111111, true));
        {
            let view = index.read();
            assert!(view.volunteers_for(&london_facts, |_| None, today()).is_empty());
            assert_eq!(needs_of_first(&view), 0);
            let probes: usize = view.0.bands.iter().flat_map(|b| b.cells.values()).map(Vec::len).sum();
            assert_eq!(probes + view.0.placeless.len(), 1);
        }

        // Back in London, with applicants counted against the need; an application of their own excludes them.
        write().put_volunteer(&volunteer(0, 51.5, -0.12, 5.0, 3, 0b111111, true));
        write().set_active_applicants(london.id, 3);
        {
            let view = index.read();
            assert_eq!(view.volunteers_for(&london_facts, |_| None, today()).len(), 1);
            assert_eq!(view.need(0).map(|n| n.facts.active_applicants), Some(3));
            assert_eq!(needs_of_first(&view), 1);
            assert!(view.volunteers_for(&london_facts, |_| Some(ApplicationStatus::Applied), today()).is_empty());
        }

        // The need closes: it is recommended to nobody.
        let mut closed = london.clone();
        closed.status = NeedStatus::Closed.as_db().to_owned();
        write().put_need(&closed);
        assert_eq!(needs_of_first(&index.read()), 0);
    }
}

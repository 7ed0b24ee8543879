//! Live updates: what subscriptions hear of, and how each server hears of it.
//!
//! A change that subscribers care about sends a `Signal` inside its own transaction (`signal`), so that nothing is
//! heard of a change that rolls back, and nothing before it commits:
//! - on PostgreSQL as `NOTIFY` (`pg_notify`), which PostgreSQL delivers at commit to every server listening, in
//!   commit order, folding identical signals of one transaction into one;
//! - on the embedded SQLite, as a row of `live_signals`, which the one server reads back in id order (SQLite runs
//!   one writer at a time, so ids become visible in order) a tenth of a second at most after it commits.
//!
//! Signals carry ids only. Each server's `Hub` reads what a signal names once (the need, the application) and hands
//! it to every subscriber in that process, who decides what of it its viewer may see. Delivery is at most once: a
//! server that loses its connection to PostgreSQL misses what was sent meanwhile, and a subscriber that falls more
//! than `BACKLOG` events behind skips the oldest (both are logged).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, Statement};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::matching::index::MatchingIndex;
use crate::matching::scoring::NeedFacts;
use crate::needs::NeedStatus;
use crate::needs::service::NeedFilter;
use crate::values::geo::KM_PER_DEGREE;
use crate::values::{Coordinates, RadiusKm};
use entity::{application, membership, need, volunteer_profile};

/// The PostgreSQL channel every server listens on.
pub const CHANNEL: &str = "pitchin_live";
/// Events a subscriber may fall behind by before it skips the oldest: a few seconds of a busy city's changes.
pub const BACKLOG: usize = 4096;
/// How often the SQLite server looks for new signals (it is the only writer's own process: no one else to wait for).
const SQLITE_POLL: Duration = Duration::from_millis(100);
/// Signals read back are kept this long on SQLite, then deleted.
const SQLITE_KEEP: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A change that subscribers hear of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// A need was published, or published again after it was closed.
    NeedPublished(Uuid),
    /// A need changed: its text, its places, its status (filled, closed).
    NeedUpdated(Uuid),
    /// An application was made, or changed status.
    Application(Uuid),
    /// A user's sessions ended (signed out everywhere, a new password, erasure): their live connections signed in
    /// with a token issued before this instant (Unix milliseconds) close.
    SignedOut(Uuid, i64),
}

impl Signal {
    fn encode(self) -> String {
        match self {
            Self::NeedPublished(id) => format!("np:{id}"),
            Self::NeedUpdated(id) => format!("nu:{id}"),
            Self::Application(id) => format!("ap:{id}"),
            Self::SignedOut(id, before) => format!("so:{id}:{before}"),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        if kind == "so" {
            let (id, before) = rest.split_once(':')?;
            return Some(Self::SignedOut(Uuid::parse_str(id).ok()?, before.parse().ok()?));
        }
        let id = Uuid::parse_str(rest).ok()?;
        Some(match kind {
            "np" => Self::NeedPublished(id),
            "nu" => Self::NeedUpdated(id),
            "ap" => Self::Application(id),
            _ => return None,
        })
    }
}

/// The signals of one transaction (or of one read of several), each once: PostgreSQL folds only identical ones,
/// and a need published in the transaction that also took its first places is one event, its publication.
fn coalesce(signals: Vec<Signal>) -> Vec<Signal> {
    let published: Vec<Uuid> =
        signals.iter().filter_map(|s| if let Signal::NeedPublished(id) = s { Some(*id) } else { None }).collect();
    let mut out: Vec<Signal> = Vec::with_capacity(signals.len());
    for signal in signals {
        let covered = matches!(signal, Signal::NeedUpdated(id) if published.contains(&id));
        if !covered && !out.contains(&signal) {
            out.push(signal);
        }
    }
    out
}

/// Sends `signal` to live subscribers once the transaction `db` belongs to commits (at once, outside one).
pub async fn signal(db: &impl ConnectionTrait, signal: Signal) -> AppResult<()> {
    let backend = db.get_database_backend();
    match backend {
        DatabaseBackend::Postgres => {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), signal.encode().into()],
            ))
            .await?;
        }
        DatabaseBackend::Sqlite => {
            let insert = Query::insert()
                .into_table(Alias::new("live_signals"))
                .columns([Alias::new("signal"), Alias::new("created_at")])
                .values_panic([signal.encode().into(), crate::now().into()])
                .to_owned();
            db.execute(&insert).await?;
        }
        _ => {}
    }
    Ok(())
}

/// A published need's eligible volunteers: each one's score and slot in the matching index (by volunteer profile
/// id), with the need's facts and the day they were scored on, for the explanations.
#[derive(Debug)]
pub struct Matches {
    pub facts: NeedFacts,
    pub scores: HashMap<Uuid, (f64, u32)>,
    pub today: NaiveDate,
}

/// What a server tells its subscribers, read once for all of them.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "each event is made once and shared in an Arc by every subscriber")]
pub enum Event {
    Need {
        /// Newly published (`needPublished`, `newMatches`), or changed (`needUpdated` only).
        published: bool,
        need: need::Model,
        /// For a published need, while anyone listens for matches.
        matches: Option<Matches>,
    },
    Application {
        application: application::Model,
        /// The accounts of the members of the organisation whose need it is, as they are now: they hear of it.
        members: Vec<Uuid>,
        /// The volunteer's account: they hear of it.
        volunteer_user_id: Uuid,
    },
    /// A user's connections whose token was issued before `before` close.
    SignedOut { user: Uuid, before: chrono::DateTime<chrono::Utc> },
}

/// One server's end of the live updates: it hears every signal, reads what each names once, and broadcasts it to
/// the subscriptions of this process. Started by the first subscription.
pub struct Hub {
    db: DatabaseConnection,
    /// Where to `LISTEN` on PostgreSQL: a direct connection (a pooler in transaction mode cannot hold one).
    listen_url: Option<String>,
    index: Arc<MatchingIndex>,
    sender: broadcast::Sender<Arc<Event>>,
    started: std::sync::Once,
    /// Whether it is listening now (set once `LISTEN` took, or SQLite's last signal was read).
    listening: watch::Sender<bool>,
    /// Subscriptions open in this process (`track`).
    open: std::sync::atomic::AtomicUsize,
    /// The volunteers (profile ids) with a subscription to their matches (`newMatches`), and how many each has:
    /// only they are scored, and only while there are some.
    match_listeners: std::sync::Mutex<HashMap<Uuid, usize>>,
}

/// An open subscription, counted by its hub until dropped.
pub struct Tracked(Arc<Hub>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Held while a subscription wants the matches of newly published needs for one volunteer.
pub struct MatchListener(Arc<Hub>, Uuid);

impl Drop for MatchListener {
    fn drop(&mut self) {
        let mut listeners = self.0.match_listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = listeners.get_mut(&self.1) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                listeners.remove(&self.1);
            }
        }
    }
}

impl Hub {
    /// `listen_url`: the database URL to listen on (PostgreSQL only; unused on SQLite).
    pub fn new(db: DatabaseConnection, listen_url: Option<String>, index: Arc<MatchingIndex>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(BACKLOG);
        Arc::new(Self {
            db,
            listen_url,
            index,
            sender,
            started: std::sync::Once::new(),
            listening: watch::Sender::new(false),
            open: std::sync::atomic::AtomicUsize::new(0),
            match_listeners: std::sync::Mutex::default(),
        })
    }

    /// Every event from now on. The hub starts listening at the first call, which waits (5 s at most) until it
    /// listens, so that what is published after a subscription starts is heard.
    pub async fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<Arc<Event>> {
        let receiver = self.sender.subscribe();
        self.start();
        let mut listening = self.listening.subscribe();
        if tokio::time::timeout(Duration::from_secs(5), listening.wait_for(|l| *l)).await.is_err() {
            tracing::warn!("a subscription started before this server could listen for live signals");
        }
        receiver
    }

    /// Starts listening now, rather than at the first subscription (a server does, so that its first subscriber
    /// does not race the `LISTEN`).
    pub fn start(self: &Arc<Self>) {
        self.started.call_once(|| {
            let hub = self.clone();
            tokio::spawn(async move { hub.run().await });
        });
    }

    /// Asks for newly published needs to be scored for `volunteer` (a profile id) while the returned value is held.
    pub fn want_matches(self: &Arc<Self>, volunteer: Uuid) -> MatchListener {
        *self
            .match_listeners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(volunteer)
            .or_default() += 1;
        MatchListener(self.clone(), volunteer)
    }

    /// Counts a subscription as open until the returned value is dropped.
    pub fn track(self: &Arc<Self>) -> Tracked {
        self.open.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Tracked(self.clone())
    }

    /// Subscriptions open in this process now.
    pub fn subscriptions(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether this server hears signals now (PostgreSQL: its `LISTEN` connection is up).
    pub fn listening(&self) -> bool {
        *self.listening.borrow()
    }

    async fn run(self: Arc<Self>) {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => self.listen_postgres().await,
            _ => self.poll_sqlite().await,
        }
    }

    async fn listen_postgres(&self) {
        use sea_orm::sqlx::postgres::PgListener;
        let Some(url) = self.listen_url.clone() else {
            tracing::warn!("no database URL to listen on: subscriptions hear nothing");
            return;
        };
        loop {
            let mut listener = match PgListener::connect(&url).await {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for live signals; trying again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(err) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %err, "cannot LISTEN for live signals; trying again in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            tracing::info!(channel = CHANNEL, "listening for live signals");
            self.listening.send_replace(true);
            loop {
                // `try_recv` says when the connection was lost (and is made again): what was sent meanwhile is
                // lost with it, and is logged.
                match listener.try_recv().await {
                    Ok(Some(first)) => {
                        // With what arrived with it (a transaction's signals arrive together).
                        let mut batch: Vec<Signal> = Signal::decode(first.payload()).into_iter().collect();
                        while let Some(next) = listener.next_buffered() {
                            batch.extend(Signal::decode(next.payload()));
                        }
                        for signal in coalesce(batch) {
                            self.hear(signal).await;
                        }
                    }
                    Ok(None) => tracing::warn!("lost the live signals' connection: signals sent meanwhile are missed"),
                    Err(err) => {
                        tracing::warn!(error = %err, "live signals' connection failed; listening again");
                        self.listening.send_replace(false);
                        break;
                    }
                }
            }
        }
    }

    async fn poll_sqlite(&self) {
        let table = Alias::new("live_signals");
        let (id, text) = (Alias::new("id"), Alias::new("signal"));
        // Only what is signalled from now on.
        let newest = Query::select().expr(Func::max(Expr::col(id.clone()))).from(table.clone()).to_owned();
        let mut seen: i64 = match self.db.query_one(&newest).await {
            Ok(row) => row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten()).unwrap_or(0),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read live signals: subscriptions hear nothing");
                return;
            }
        };
        self.listening.send_replace(true);
        let mut every = tokio::time::interval(SQLITE_POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for tick in 0u64.. {
            every.tick().await;
            let select = Query::select()
                .columns([id.clone(), text.clone()])
                .from(table.clone())
                .and_where(Expr::col(id.clone()).gt(seen))
                .order_by(id.clone(), sea_orm::Order::Asc)
                .limit(1000)
                .to_owned();
            match self.db.query_all(&select).await {
                Ok(rows) => {
                    let mut batch = Vec::with_capacity(rows.len());
                    for row in rows {
                        let (Ok(n), Ok(payload)) = (row.try_get_by_index::<i64>(0), row.try_get_by_index::<String>(1))
                        else {
                            continue;
                        };
                        seen = n;
                        batch.extend(Signal::decode(&payload));
                    }
                    // SQLite keeps every copy a transaction wrote; each event reads the rows as they are now, so
                    // copies in one read would say the same thing again.
                    for signal in coalesce(batch) {
                        self.hear(signal).await;
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot read live signals"),
            }
            // Once a minute, what no one will read again.
            if tick % 600 == 599 {
                let old = Query::delete()
                    .from_table(table.clone())
                    .and_where(Expr::col(Alias::new("created_at")).lt(crate::now() - SQLITE_KEEP))
                    .to_owned();
                if let Err(err) = self.db.execute(&old).await {
                    tracing::warn!(error = %err, "cannot forget old live signals");
                }
            }
        }
    }

    /// Reads what `signal` names and tells this process's subscribers (nothing if no one listens).
    async fn hear(&self, signal: Signal) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        match self.read(signal).await {
            Ok(Some(event)) => {
                let _ = self.sender.send(Arc::new(event));
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = ?err, ?signal, "cannot read what a live signal names: not sent"),
        }
    }

    async fn read(&self, signal: Signal) -> AppResult<Option<Event>> {
        let db = &self.db;
        Ok(match signal {
            Signal::NeedPublished(id) | Signal::NeedUpdated(id) => {
                let Some(need) = need::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
                let published = matches!(signal, Signal::NeedPublished(_));
                let listening: Vec<Uuid> = if published {
                    self.match_listeners
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .keys()
                        .copied()
                        .collect()
                } else {
                    Vec::new()
                };
                let matches = if listening.is_empty() {
                    None
                } else {
                    let today = crate::matching::service::today();
                    let (facts, mut scores) =
                        crate::matching::service::scores_for_need(db, &self.index, &need, today).await?;
                    // Kept for the volunteers listening only: the event stays small however many are eligible.
                    scores.retain(|volunteer, _| listening.contains(volunteer));
                    Some(Matches { facts, scores, today })
                };
                Some(Event::Need { published, need, matches })
            }
            Signal::Application(id) => {
                let Some(application) = application::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
                let organisation_id = need::Entity::find_by_id(application.need_id)
                    .one(db)
                    .await?
                    .ok_or_else(|| AppError::not_found("need"))?
                    .organisation_id;
                // Read at each event, so that someone who left the organisation hears no more of it.
                let members = membership::Entity::find()
                    .filter(membership::Column::OrganisationId.eq(organisation_id))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| m.user_id)
                    .collect();
                let volunteer_user_id = volunteer_profile::Entity::find_by_id(application.volunteer_id)
                    .one(db)
                    .await?
                    .ok_or_else(|| AppError::not_found("volunteer"))?
                    .user_id;
                Some(Event::Application { application, members, volunteer_user_id })
            }
            Signal::SignedOut(user, before) => {
                let before = chrono::DateTime::from_timestamp_millis(before).unwrap_or_else(chrono::Utc::now);
                Some(Event::SignedOut { user, before })
            }
        })
    }
}

/// A listing's filter, checked against one need in memory: the same rules as `needs::service::list`'s SQL, so a
/// subscription with a filter hears of exactly the needs the listing with that filter would show.
#[derive(Clone, Debug)]
pub struct NeedWatch {
    categories: Option<Vec<String>>,
    status: Option<NeedStatus>,
    organisation_id: Option<Uuid>,
    skills: Option<Vec<String>>,
    words: Vec<String>,
    near: Option<(Coordinates, RadiusKm)>,
    remote: Option<bool>,
    /// SQLite's `lower()` folds ASCII letters only; PostgreSQL's (with a UTF-8 ctype) every letter.
    ascii_only: bool,
}

impl NeedWatch {
    /// Checks `filter` as a listing would (the same errors for the same input), on `backend`.
    pub fn new(filter: NeedFilter, backend: DatabaseBackend) -> AppResult<Self> {
        let skills = match &filter.skills {
            Some(skills) => Some(crate::values::tags("filter.skills", skills, 20)?).filter(|s| !s.is_empty()),
            None => None,
        };
        let words = match &filter.text {
            Some(text) => {
                let text = text.trim().to_lowercase();
                if text.chars().count() > 100 {
                    return Err(AppError::bad_input("filter.text", "must be at most 100 characters"));
                }
                text.split_whitespace().take(8).map(str::to_owned).collect()
            }
            None => Vec::new(),
        };
        Ok(Self {
            categories: filter.categories.map(|cs| cs.iter().map(|c| c.as_db().to_owned()).collect()),
            status: filter.status,
            organisation_id: filter.organisation_id.map(|o| o.0),
            skills,
            words,
            near: filter.near,
            remote: filter.remote,
            ascii_only: backend == DatabaseBackend::Sqlite,
        })
    }

    /// Whether the listing with this filter would show `need` (visibility aside: the caller checks who may see it).
    pub fn admits(&self, need: &need::Model) -> bool {
        if self.status.is_some_and(|s| s.as_db() != need.status) {
            return false;
        }
        if self.categories.as_ref().is_some_and(|cs| !cs.contains(&need.category)) {
            return false;
        }
        if self.organisation_id.is_some_and(|o| o != need.organisation_id) {
            return false;
        }
        if let Some(skills) = &self.skills {
            let has = crate::values::text::json_strings(&need.required_skills);
            if !skills.iter().any(|s| has.contains(s)) {
                return false;
            }
        }
        if !self.words.is_empty() {
            let lower = |text: &str| if self.ascii_only { text.to_ascii_lowercase() } else { text.to_lowercase() };
            let (title, description) = (lower(&need.title), lower(&need.description));
            if !self.words.iter().all(|w| title.contains(w.as_str()) || description.contains(w.as_str())) {
                return false;
            }
        }
        if self.remote.is_some_and(|r| r != need.remote) {
            return false;
        }
        if let Some((center, radius)) = &self.near {
            let (Some(lat), Some(lng)) = (need.lat, need.lng) else { return false };
            // As `values::geo::sql::near_condition`: the box, then the equirectangular distance.
            let r = radius.km();
            let (dlat, dlng) = (r / KM_PER_DEGREE, r / center.km_per_degree_lng().max(1.0));
            if (lat - center.lat()).abs() > dlat || (lng - center.lng()).abs() > dlng {
                return false;
            }
            let dy = (lat - center.lat()) * KM_PER_DEGREE;
            let dx = (lng - center.lng()) * center.km_per_degree_lng();
            if dx * dx + dy * dy > r * r {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_read_back_as_written() {
        let id = Uuid::now_v7();
        for signal in [
            Signal::NeedPublished(id),
            Signal::NeedUpdated(id),
            Signal::Application(id),
            Signal::SignedOut(id, 1_700_000),
        ] {
            assert_eq!(Signal::decode(&signal.encode()), Some(signal));
        }
        assert_eq!(Signal::decode("xx:00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(Signal::decode("np:not-an-id"), None);
        assert_eq!(Signal::decode("so:00000000-0000-0000-0000-000000000000"), None);
    }

    #[test]
    fn a_transactions_signals_are_told_once_and_a_publication_covers_its_first_places() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let batch = vec![
            Signal::NeedUpdated(a),
            Signal::NeedPublished(a),
            Signal::NeedUpdated(a),
            Signal::Application(b),
            Signal::NeedUpdated(b),
            Signal::Application(b),
        ];
        assert_eq!(coalesce(batch), vec![Signal::NeedPublished(a), Signal::Application(b), Signal::NeedUpdated(b)]);
    }
}

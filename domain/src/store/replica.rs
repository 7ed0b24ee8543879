//! A PostgreSQL streaming replica for the public reads (`DATABASE_READ_URL`), and what keeps them coherent with
//! writes.
//!
//! Positions are PostgreSQL's WAL positions (LSNs), in bytes. Two rules decide whether the replica may answer:
//! - **Read your writes.** A caller's read goes to the replica only once the replica has replayed the primary's
//!   position as it stood after that caller's last write (`has_replayed`); the caller's position is noted by
//!   whoever knows the caller (the HTTP layer). The matching index asks for the primary's position when it starts a
//!   refresh and reads the replica only if it has replayed it, so the index sees every write committed before the
//!   refresh, as it does on the primary.
//! - **A bound on lag.** Every half second the primary's position is sampled beside the replica's: a replica that
//!   has not replayed what the primary had `max_lag` ago (or cannot be reached) serves nobody until it has.
//!   The open data feeds stop 20 s short of now by default (`PITCHIN_FEED_SETTLE_MS`), so with the default bound
//!   of 5 s no feed page can pass a change the replica has not yet seen.
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::{AppError, AppResult};
use crate::store::Reads;

/// How often the replica's lag is measured.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// The longest a question to the replica about its position may take before the primary answers instead: a
/// replica that slow would serve the read slower than the primary.
const ASK_TIMEOUT: Duration = Duration::from_millis(100);

/// The primary's position now: where its WAL is being inserted, which is past every commit returned so far, even
/// one made with `synchronous_commit = off` and not yet written out.
const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS position";
/// A replica's replayed position; a server that is not one (a read URL naming a primary) is as far as itself.
const REPLAYED_POSITION: &str = "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
     ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint AS position";

/// The replica's connections and what is known of how far it has got.
pub struct Replica {
    db: DatabaseConnection,
    reads: Reads,
    /// The newest replayed position read from the replica.
    replayed: AtomicU64,
    /// Whether it is within `max_lag` of the primary (and reachable), as last measured.
    fresh: AtomicBool,
    max_lag: Duration,
}

impl Replica {
    /// A replica on `db` (its pool, connecting lazily) with read connections `reads`; it serves nothing until the
    /// first measurement finds it fresh (`watch`).
    pub fn new(db: DatabaseConnection, reads: Reads, max_lag: Duration) -> Arc<Self> {
        Arc::new(Self { db, reads, replayed: AtomicU64::new(0), fresh: AtomicBool::new(false), max_lag })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn reads(&self) -> &Reads {
        &self.reads
    }

    /// Whether the replica is within its lag bound, as last measured.
    pub fn fresh(&self) -> bool {
        self.fresh.load(Ordering::Relaxed)
    }

    /// The newest position the replica was seen to have replayed.
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Relaxed)
    }

    /// Whether the replica may answer a caller whose last write left the primary at `position` (none: any fresh
    /// replica may): fresh, and replayed that far, asking it once if what is known falls short.
    pub async fn has_replayed(&self, position: Option<u64>) -> bool {
        if !self.fresh() {
            return false;
        }
        let Some(position) = position else { return true };
        // What could not be known is never replayed: no need to ask.
        if position == u64::MAX {
            return false;
        }
        if self.replayed() >= position {
            return true;
        }
        match tokio::time::timeout(ASK_TIMEOUT, self.ask()).await {
            Ok(Ok(replayed)) => replayed >= position,
            _ => false,
        }
    }

    /// Reads the replica's replayed position, and keeps it.
    async fn ask(&self) -> AppResult<u64> {
        let replayed = position_of(&self.db, REPLAYED_POSITION).await?;
        self.replayed.fetch_max(replayed, Ordering::Relaxed);
        Ok(replayed)
    }

    /// Measures the lag every half second against `primary`, for as long as the process runs.
    pub fn watch(self: &Arc<Self>, primary: DatabaseConnection) {
        let replica = self.clone();
        tokio::spawn(async move {
            let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned = false;
            loop {
                every.tick().await;
                // Bounded as a whole: a primary or replica that hangs leaves the replica stale, not `fresh` as
                // it last was.
                let measured =
                    match tokio::time::timeout(SAMPLE_EVERY * 2, replica.measure(&primary, &mut samples)).await {
                        Ok(measured) => measured,
                        Err(_) => Err(AppError::Unavailable("measuring the replica's lag took over a second".into())),
                    };
                let fresh = matches!(measured, Ok(true));
                replica.fresh.store(fresh, Ordering::Relaxed);
                match measured {
                    Ok(true) => warned = false,
                    _ if warned => {}
                    Ok(false) => {
                        warned = true;
                        tracing::warn!(
                            max_lag_ms = replica.max_lag.as_millis() as u64,
                            "the read replica is behind: reads go to the primary"
                        );
                    }
                    Err(err) => {
                        warned = true;
                        tracing::warn!(error = ?err, "the read replica cannot be reached: reads go to the primary");
                    }
                }
            }
        });
    }

    /// One measurement: whether the replica has replayed what the primary had `max_lag` ago (before the first
    /// sample that old, what it had at the first sample).
    async fn measure(&self, primary: &DatabaseConnection, samples: &mut VecDeque<(Instant, u64)>) -> AppResult<bool> {
        let now = Instant::now();
        samples.push_back((now, position_of(primary, PRIMARY_POSITION).await?));
        let mut due = samples.front().map_or(0, |(_, position)| *position);
        while let Some(&(at, position)) = samples.front() {
            if now.duration_since(at) < self.max_lag {
                break;
            }
            due = position;
            samples.pop_front();
        }
        Ok(self.ask().await? >= due)
    }
}

/// The primary's position now, for a caller about to note a write or to read the replica for the index.
pub async fn primary_position(primary: &impl ConnectionTrait) -> AppResult<u64> {
    position_of(primary, PRIMARY_POSITION).await
}

async fn position_of(db: &impl ConnectionTrait, sql: &str) -> AppResult<u64> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| AppError::internal("no WAL position"))?;
    let position: Option<i64> = row.try_get("", "position")?;
    Ok(position.map_or(0, |p| u64::try_from(p).unwrap_or(0)))
}

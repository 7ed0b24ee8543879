//! Which database answers a request when there is a read replica (`DATABASE_READ_URL`, `domain::store::replica`).
//!
//! The public reads go to the replica: queries by anonymous callers and API keys, the pages, the widget and the
//! open data feeds. Signed-in people's queries stay on the primary (their dashboards show what others did a moment
//! ago: an application accepted, a place taken), as do all writes.
//!
//! Read your writes: after a caller's mutation, the server notes the primary's position under the caller (the
//! user, the API key, or for anyone else the address), here and, with `PITCHIN_REDIS_URL`, in Redis, so that every
//! server knows it. The caller's public reads then go to the replica only once it has replayed that far.
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use domain::store::replica::{self, Replica};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::AppState;
use crate::kit::rates::Shared;

/// A write is remembered this long at least: a replica further behind than that serves nobody anyway (its lag
/// bound is 5 s by default).
const REMEMBER: Duration = Duration::from_secs(60);

/// Whoever a write is remembered for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Caller {
    User(Uuid),
    ApiKey(Uuid),
    Address(IpAddr),
}

impl Caller {
    /// The caller at `peer` (tests' requests have none: one caller for them all).
    pub fn at(peer: Option<SocketAddr>) -> Self {
        Self::Address(peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip()))
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::ApiKey(id) => write!(f, "key:{id}"),
            Self::Address(ip) => write!(f, "ip:{ip}"),
        }
    }
}

/// The replica, and the primary's position after each caller's last write.
pub struct Routing {
    replica: Arc<Replica>,
    written: Mutex<HashMap<Caller, (u64, Instant)>>,
    shared: Option<Arc<Shared>>,
    remember: Duration,
}

impl Routing {
    pub fn new(replica: Arc<Replica>, shared: Option<Arc<Shared>>, max_lag: Duration) -> Self {
        Self { replica, written: Mutex::default(), shared, remember: REMEMBER.max(max_lag.saturating_mul(2)) }
    }

    pub fn replica(&self) -> &Arc<Replica> {
        &self.replica
    }

    /// Notes that `callers` (one caller, as each of its names) may just have written on `primary`. Should the position not be read, the caller reads
    /// from the primary until the note is forgotten.
    pub async fn wrote(&self, primary: &DatabaseConnection, callers: &[Caller]) {
        let position = match replica::primary_position(primary).await {
            Ok(position) => position,
            Err(err) => {
                tracing::warn!(error = ?err, "could not read the primary's position: the caller reads from it");
                u64::MAX
            }
        };
        {
            let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            for caller in callers {
                written.insert(*caller, (position, Instant::now()));
            }
        }
        if let Some(shared) = &self.shared {
            for caller in callers {
                if let Err(err) = shared.remember("written", caller, position, self.remember).await {
                    shared.failed(&err);
                    break;
                }
            }
        }
    }

    /// Whether the replica may answer `caller` now.
    pub async fn serves(&self, caller: Caller) -> bool {
        if !self.replica.fresh() {
            return false;
        }
        let here = {
            let written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            written.get(&caller).filter(|(_, at)| at.elapsed() < self.remember).map(|(position, _)| *position)
        };
        // Another server may have taken the caller's write; without an answer from Redis, assume it did.
        let elsewhere = match &self.shared {
            Some(shared) => match shared.recall("written", &caller).await {
                Ok(position) => position,
                Err(err) => {
                    shared.failed(&err);
                    Some(u64::MAX)
                }
            },
            None => None,
        };
        self.replica.has_replayed(here.max(elsewhere)).await
    }

    /// Forgets writes the replica no longer needs to be told of.
    pub fn forget_idle(&self) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        written.retain(|_, (_, at)| at.elapsed() < self.remember);
    }
}

impl AppState {
    /// This state, reading from the replica where it may answer `caller`.
    pub async fn reading_for(&self, caller: Caller) -> AppState {
        match &self.routing {
            Some(routing) if routing.serves(caller).await => {
                let mut state = self.clone();
                state.db = routing.replica().db().clone();
                state.reads = routing.replica().reads().clone();
                state
            }
            _ => self.clone(),
        }
    }
}

/// The state a public page, feed or widget reads through: the replica's where it may answer the caller.
pub struct Public(pub AppState);

impl FromRequestParts<AppState> for Public {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Self(state.reading_for(Caller::at(peer)).await))
    }
}

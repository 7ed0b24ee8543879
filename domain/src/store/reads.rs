//! The connections the hottest reads run on: listings, pages of children, records by id, and the account behind a
//! token.
//!
//! sqlx's pool pings every connection handed back to it (a round trip to PostgreSQL, in a task spawned for it), so
//! each statement cost two round trips: for a listing, a tenth of the server's CPU and of PostgreSQL's. On
//! PostgreSQL these statements take their connections from a pool of their own (deadpool) that hands them back as
//! they are. A connection whose statement was given up on half-way (the request timed out, the client went away)
//! goes back only once a task of its own has read the rest of the old answer, as sqlx's pool does; one whose
//! statement failed for any reason but PostgreSQL refusing the statement is closed; and, as in the main pool, one
//! not handed out for a second is pinged before it is used again. Writes, and everything
//! that runs in a transaction, stay on sea-orm's pool. SQLite has nothing to gain: there the reads go through
//! sea-orm too.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleError, RecycleResult};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult, RuntimeErr, Statement,
};

/// A connection not handed out for this long is pinged before it is (the server may have restarted, or a proxy
/// dropped it).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// The housekeeping (`forget_idle`) closes connections not handed out for this long, and those older than
/// `MAX_AGE`, as sqlx's pool does by default.
const CLOSE_AFTER_IDLE: Duration = Duration::from_secs(600);
const MAX_AGE: Duration = Duration::from_secs(1800);
/// The longest a ping may take, before a connection is handed out or after a statement was given up on.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Something told of every statement run on the read connections (tests count statements with it).
type Observer = Box<dyn Fn(&Statement) + Send + Sync>;

/// The database for reads: sea-orm's connection, and on PostgreSQL the read connections beside it.
#[derive(Clone)]
pub struct Reads {
    db: DatabaseConnection,
    pool: Option<managed::Pool<ReadConnections>>,
    /// How long a read waits for a connection in all (a free one, pinging it, or opening one).
    wait: Duration,
    observer: Arc<OnceLock<Observer>>,
}

impl Reads {
    /// On PostgreSQL, up to `size` read connections (the reads' share of the one connection budget), opened as
    /// needed, each read waiting up to `wait` for one, as long as the main pool would.
    pub fn new(db: &DatabaseConnection, size: usize, wait: Duration) -> Self {
        let pool = (db.get_database_backend() == DatabaseBackend::Postgres && size > 0)
            .then(|| {
                // The main pool's options: the same server, TLS and session settings (the generic plans).
                let options = (*db.get_postgres_connection_pool().connect_options()).clone();
                let built = managed::Pool::builder(ReadConnections { options })
                    .max_size(size)
                    // The most recently used first: handing out all ten in turn spread a dashboard's statements
                    // over every PostgreSQL backend, each with cold caches (Q2 about 8% slower).
                    .queue_mode(managed::QueueMode::Lifo)
                    .runtime(deadpool::Runtime::Tokio1)
                    .wait_timeout(Some(wait))
                    .create_timeout(Some(wait))
                    .recycle_timeout(Some(wait.min(PING_TIMEOUT)))
                    .build();
                built.map_err(|err| tracing::warn!(error = %err, "no read connections: reads use the main pool")).ok()
            })
            .flatten();
        Self { db: db.clone(), pool, wait, observer: Arc::new(OnceLock::new()) }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Calls `observer` with every statement run on the read connections (once; later calls are ignored).
    pub fn observe(&self, observer: impl Fn(&Statement) + Send + Sync + 'static) {
        let _ = self.observer.set(Box::new(observer));
    }

    /// Runs one statement and returns its rows, with errors as sea-orm reports them (so `AppError` maps them alike).
    pub async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(pool) = &self.pool else { return self.db.query_all_raw(statement).await };
        // Bounded in all: deadpool's own timeouts bound each step (waiting, each ping, opening), not their sum.
        let connection = match tokio::time::timeout(self.wait, pool.get()).await {
            Ok(got) => got.map_err(acquire_error)?,
            Err(_) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        };
        if let Some(observer) = self.observer.get() {
            observer(&statement);
        }
        let mut in_use = InUse(Some(connection));
        // The statement is ours: its values move into the query rather than being copied (a dashboard's page of
        // applications binds the array of its needs' keys).
        let Statement { sql, values, .. } = statement;
        let values = values.unwrap_or(sea_orm::sea_query::Values(Vec::new()));
        let query = sqlx::query_with(sqlx::AssertSqlSafe(sql.as_str()), sea_query_sqlx::SqlxValues(values));
        let fetched = match in_use.0.as_mut() {
            Some(connection) => query.fetch_all(&mut **connection).await,
            None => Err(sqlx::Error::PoolClosed),
        };
        let connection = in_use.finished();
        match fetched {
            Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
            Err(err) => {
                // PostgreSQL refusing the statement leaves the connection as it was; anything else (the connection
                // lost, the server shutting down, which says so first as an error of its own) may not.
                let refused = matches!(&err, sqlx::Error::Database(e)
                    if !e.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57")));
                if !refused && let Some(connection) = connection {
                    drop(Object::take(connection));
                }
                Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
            }
        }
    }

    /// The read connections open and those free now (none on SQLite).
    pub fn status(&self) -> Option<(usize, usize)> {
        self.pool.as_ref().map(|pool| {
            let status = pool.status();
            (status.size, status.available)
        })
    }

    /// Closes read connections not handed out for ten minutes, and those half an hour old.
    pub fn forget_idle(&self) {
        if let Some(pool) = &self.pool {
            pool.retain(|_, metrics| metrics.last_used() < CLOSE_AFTER_IDLE && metrics.age() < MAX_AGE);
        }
    }
}

/// A connection running a statement. Dropped before the statement finished (the request timed out, the client
/// went away), the connection is not handed straight to the next read, which would wait out the rest of the old
/// statement: a task of its own pings it (reading what is left of the old answer first) and only then gives it
/// back, or closes it if that fails.
struct InUse(Option<Object<ReadConnections>>);

impl InUse {
    /// The statement finished: the connection, to give back or close as its outcome says.
    fn finished(mut self) -> Option<Object<ReadConnections>> {
        self.0.take()
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        let Some(mut connection) = self.0.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let drained = tokio::time::timeout(PING_TIMEOUT * 30, connection.ping()).await;
                    if !matches!(drained, Ok(Ok(()))) {
                        drop(Object::take(connection));
                    }
                });
            }
            Err(_) => drop(Object::take(connection)),
        }
    }
}

/// As sea-orm reports sqlx's pool failing to hand out a connection.
fn acquire_error(err: PoolError<sqlx::Error>) -> DbErr {
    match err {
        PoolError::Timeout(_) => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        PoolError::Closed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        PoolError::Backend(err) => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))),
        other => DbErr::Conn(RuntimeErr::Internal(format!("{other:?}"))),
    }
}

/// Opens PostgreSQL connections as the main pool does, and vouches for one idle a while by pinging it.
struct ReadConnections {
    options: PgConnectOptions,
}

impl managed::Manager for ReadConnections {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    async fn recycle(&self, connection: &mut PgConnection, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if metrics.last_used() >= PING_AFTER_IDLE {
            connection.ping().await.map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

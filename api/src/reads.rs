//! The connections the hottest reads run on: listings, pages of children, records by id, and the account behind a
//! token.
//!
//! sqlx's pool pings every connection handed back to it (a round trip to PostgreSQL, in a task spawned for it), so
//! each statement cost two round trips: for a listing, a tenth of the server's CPU and of PostgreSQL's. On
//! PostgreSQL these statements take their connections from a pool of their own (deadpool) that hands them back as
//! they are. That is safe for reads: a connection whose statement was cancelled half-way reads what is left of the
//! answer before its next statement (sqlx does), one whose statement failed is closed, and, as in the main pool,
//! one idle for a second is pinged before it is used again. Writes, and everything
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

use crate::Settings;

/// A connection idle this long is pinged before it is used (the server may have restarted, or a proxy dropped it).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Connections unused this long are closed by the housekeeping (`forget_idle`), as sqlx's pool does by default.
const CLOSE_AFTER_IDLE: Duration = Duration::from_secs(600);

/// Something told of every statement run on the read connections (tests count statements with it).
type Observer = Box<dyn Fn(&Statement) + Send + Sync>;

/// The database for reads: sea-orm's connection, and on PostgreSQL the read connections beside it.
#[derive(Clone)]
pub struct Reads {
    db: DatabaseConnection,
    pool: Option<managed::Pool<ReadConnections>>,
    observer: Arc<OnceLock<Observer>>,
}

impl Reads {
    /// Up to `PITCHIN_DB_MAX_CONNECTIONS` read connections on PostgreSQL, opened as needed, waiting for one as long
    /// as the main pool would.
    pub fn new(db: &DatabaseConnection, settings: &Settings) -> Self {
        let pool = (db.get_database_backend() == DatabaseBackend::Postgres)
            .then(|| {
                // The main pool's options: the same server, TLS and session settings (the generic plans).
                let options = (*db.get_postgres_connection_pool().connect_options()).clone();
                let wait = Duration::from_millis(settings.db_acquire_timeout_ms);
                managed::Pool::builder(ReadConnections { options })
                    .max_size(settings.db_max_connections.max(1) as usize)
                    .queue_mode(managed::QueueMode::Lifo)
                    .runtime(deadpool::Runtime::Tokio1)
                    .wait_timeout(Some(wait))
                    .create_timeout(Some(wait))
                    .recycle_timeout(Some(wait))
                    .build()
                    .ok()
            })
            .flatten();
        Self { db: db.clone(), pool, observer: Arc::new(OnceLock::new()) }
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
        if let Some(observer) = self.observer.get() {
            observer(&statement);
        }
        let mut connection = pool.get().await.map_err(acquire_error)?;
        let values = statement.values.clone().unwrap_or(sea_orm::sea_query::Values(Vec::new()));
        let fetched = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql.as_str()), sea_query_sqlx::SqlxValues(values))
            .fetch_all(&mut *connection)
            .await;
        match fetched {
            Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
            Err(err) => {
                // Not handed out again: the connection may be lost (a server shutting down says so first, as an
                // error of its own), and reads seldom fail otherwise.
                drop(Object::take(connection));
                Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
            }
        }
    }

    /// Closes read connections nobody has used for ten minutes.
    pub fn forget_idle(&self) {
        if let Some(pool) = &self.pool {
            pool.retain(|_, metrics| metrics.last_used() < CLOSE_AFTER_IDLE);
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

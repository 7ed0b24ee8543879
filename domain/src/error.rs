//! The one error type, whatever the transport: each kind has a stable, machine-readable code (`code`) and a text a
//! client may see (`public_message`); internal causes stay in the value, for the log.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display` error into a
//! client error carrying its text and no code, so without `Display` the only way out to GraphQL is `api`'s
//! mapping (`api/src/error.rs`), which always sets the code and never sends internal causes to clients.
use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppError {
    /// The input is wrong; `field` names the offending input field (camelCase path, e.g. `input.location.lat`).
    BadInput {
        field: String,
        message: String,
    },
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// The need is full and so is its waitlist; `similar` are open needs for the applicant instead (filled in by the
    /// caller that has the matching index).
    Full {
        message: String,
        similar: Vec<uuid::Uuid>,
    },
    /// Too many attempts: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The database cannot be reached, or every connection is busy past the wait allowed: try again shortly.
    Unavailable(String),
    /// Something broke on our side. The text is logged, never sent.
    Internal(String),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated("you must be signed in".into())
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
    pub fn internal(cause: impl std::fmt::Debug) -> Self {
        Self::Internal(format!("{cause:?}"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::Full { .. } => "NEED_FULL",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The text a client may see.
    pub fn public_message(&self) -> String {
        match self {
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) => m.clone(),
            Self::Full { message, .. } => message.clone(),
            Self::Unavailable(_) => "the service is unavailable for a moment; try again shortly".into(),
            Self::RateLimited { retry_after_secs } => format!("too many attempts: try again in {retry_after_secs} s"),
            Self::Internal(_) => "internal error".into(),
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if unavailable(&err) {
            return Self::Unavailable(format!("{err:?}"));
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict("that already exists"),
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::conflict("that refers to something that no longer exists")
            }
            _ => Self::internal(err),
        }
    }
}

/// Whether a database error means "not now" rather than "wrong": no connection to be had in time, the
/// connection lost, or the server shutting down (SQLSTATE classes 08 and 57P); or the write lost to another one
/// and was rolled back whole, so the same request may simply be sent again (PostgreSQL's serialization failures and
/// deadlocks; SQLite's "busy" and "locked", when another writer holds the file).
fn unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else { return false };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Tls(_) => true,
        Sqlx::Database(db) => {
            let code = db.code().unwrap_or_default();
            let sqlite = db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some();
            code.starts_with("08")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
                // SQLite's extended result codes: the primary code is the low byte (5 busy, 6 locked).
                || (sqlite && code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)))
        }
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;

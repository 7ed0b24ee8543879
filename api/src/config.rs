//! Configuration from the environment, in one struct. Defaults make `cargo run` work with nothing installed.
use std::net::SocketAddr;

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Every setting the server reads. Parsed by clap from flags or the environment (see `.env.example`).
#[derive(Clone, Args)]
pub struct Settings {
    /// Database to use: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://pitchin.db?mode=rwc")]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "PITCHIN_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// `development` (default) or `production`. Production refuses to start without a real JWT_SECRET.
    #[arg(long, env = "PITCHIN_ENV", value_enum, default_value = "development")]
    pub environment: Environment,

    /// Secret for signing access tokens (HS256), at least 32 bytes. Generated per process in development.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "PITCHIN_TOKEN_TTL_SECS", default_value_t = 900)]
    pub token_ttl_secs: u64,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "PITCHIN_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// Log output: `pretty` (default) or `json`.
    #[arg(long, env = "PITCHIN_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Settings {
    // Hand-written so the JWT secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("environment", &self.environment)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("db_max_connections", &self.db_max_connections)
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Settings {
    /// Settings for tests and tools: development mode, the given database, a fixed secret.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            environment: Environment::Development,
            jwt_secret: Some("test-secret-that-is-at-least-32-bytes-long".to_owned()),
            token_ttl_secs: 900,
            db_max_connections: 10,
            log_format: LogFormat::Pretty,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Hides a password in `postgres://user:password@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_database_urls() {
        assert_eq!(redact_url("postgres://u:secret@localhost/db"), "postgres://u:***@localhost/db");
        assert_eq!(redact_url("sqlite://pitchin.db?mode=rwc"), "sqlite://pitchin.db?mode=rwc");
    }
}

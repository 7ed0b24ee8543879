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

    /// Earlier signing secrets, comma-separated, still accepted for tokens they signed (each token names its key
    /// with `kid`): rotate by moving the old JWT_SECRET here, then drop it once its tokens have expired.
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", hide_env_values = true, value_delimiter = ',')]
    pub jwt_previous_secrets: Vec<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "PITCHIN_TOKEN_TTL_SECS", default_value_t = 900)]
    pub token_ttl_secs: u64,

    /// The most connections the server opens to its database, whatever pools serve it (`connection_budget`).
    #[arg(long, env = "PITCHIN_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// How long a request waits for a free database connection, in milliseconds, before it is answered with
    /// SERVICE_UNAVAILABLE (also how long it keeps trying to reach a database that is down).
    #[arg(long, env = "PITCHIN_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2_000)]
    pub db_acquire_timeout_ms: u64,

    /// PostgreSQL only: plan each prepared statement once per connection (`plan_cache_mode=force_generic_plan`).
    /// PostgreSQL's own rule kept re-planning the listing for every request, at a worse plan than the generic one.
    #[arg(long, env = "PITCHIN_DB_GENERIC_PLANS", default_value_t = true, action = clap::ArgAction::Set)]
    pub db_generic_plans: bool,

    /// Log output: `pretty` or `json`; `json` by default in production, `pretty` otherwise.
    #[arg(long, env = "PITCHIN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Largest request body accepted, in bytes; larger ones are refused with 413 before they are read.
    #[arg(long, env = "PITCHIN_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Longest a GraphQL request may run, in milliseconds, before it is stopped with a TIMEOUT error.
    #[arg(long, env = "PITCHIN_REQUEST_TIMEOUT_MS", default_value_t = 15_000)]
    pub request_timeout_ms: u64,

    /// Whether the schema answers introspection queries (on: a public API documents itself).
    #[arg(long, env = "PITCHIN_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Whether errors suggest field names ("did you mean …?"); on in development, off in production by default.
    #[arg(long, env = "PITCHIN_FIELD_SUGGESTIONS", action = clap::ArgAction::Set)]
    pub field_suggestions: Option<bool>,

    /// Origins that browsers may call the API from (CORS), comma-separated, or `*` for any. None by default.
    #[arg(long, env = "PITCHIN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// GraphQL requests a minute from one IP address, with bursts up to the same number (0: no limit).
    #[arg(long, env = "PITCHIN_RATE_LIMIT_PER_IP", default_value_t = 1200)]
    pub rate_limit_per_ip: u32,

    /// Sign-in attempts an hour for one email address, whether or not it has an account (0: no limit).
    #[arg(long, env = "PITCHIN_LOGIN_ATTEMPTS_PER_HOUR", default_value_t = 10)]
    pub login_attempts_per_hour: u32,

    /// GraphQL requests a minute from one signed-in user, with bursts up to the same number (0: no limit).
    #[arg(long, env = "PITCHIN_RATE_LIMIT_PER_USER", default_value_t = 600)]
    pub rate_limit_per_user: u32,

    /// Days an account may stay with its email unverified before it is erased (0: never).
    #[arg(long, env = "PITCHIN_UNVERIFIED_ACCOUNT_DAYS", default_value_t = 30)]
    pub unverified_account_days: u32,

    /// The address the public reaches this API at (scheme, host, any path prefix): the start of every absolute
    /// link in pages, widgets, feeds and calendars.
    #[arg(long, env = "PITCHIN_PUBLIC_URL", default_value = "http://localhost:8000")]
    pub public_url: String,
    /// How far behind now the open data feeds stop, in milliseconds: longer than any transaction stays open between
    /// taking its timestamp and committing, so that no consumer pages past a change still to commit (see
    /// `domain::store::changes`). Default: the request timeout and 5 s more.
    #[arg(long, env = "PITCHIN_FEED_SETTLE_MS")]
    pub feed_settle_ms: Option<u64>,
    /// The frontend page that confirms an email address; verification mails link to it with `?token=`.
    #[arg(long, env = "PITCHIN_VERIFY_EMAIL_URL", default_value = "http://localhost:3000/verify-email")]
    pub verify_email_url: String,
    /// The wait before a failed webhook delivery's first retry, in milliseconds; each later wait is four times
    /// the last, up to 5,760 times this (ten attempts over about a day with the default).
    #[arg(long, env = "PITCHIN_WEBHOOK_RETRY_MS", default_value_t = 5_000)]
    pub webhook_retry_ms: u64,
    /// How long one webhook delivery attempt may take, in milliseconds, before it counts as failed.
    #[arg(long, env = "PITCHIN_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// The secret the payment provider signs its webhooks with (`whsec_` and base64, as Standard Webhooks has it).
    /// Unset, `/payments/webhook` answers 503 and no pledge is ever marked paid.
    #[arg(long, env = "PITCHIN_PAYMENT_WEBHOOK_SECRET")]
    pub payment_webhook_secret: Option<String>,
    /// Hours an offer of a freed place to the first on a need's waitlist stays open before it passes to the next.
    #[arg(
        long,
        env = "PITCHIN_WAITLIST_OFFER_HOURS",
        default_value_t = domain::applications::waitlist::DEFAULT_OFFER_HOURS,
        value_parser = clap::value_parser!(u32).range(1..=720)
    )]
    pub waitlist_offer_hours: u32,
    /// Minutes before a session starts that its volunteers may check in (until it ends).
    #[arg(
        long,
        env = "PITCHIN_CHECK_IN_EARLY_MINUTES",
        default_value_t = domain::hours::attendance::DEFAULT_EARLY_MINUTES,
        value_parser = clap::value_parser!(u32).range(0..=720)
    )]
    pub check_in_early_minutes: u32,
    /// Where email goes: `smtps://user:password@host:465` (implicit TLS), `smtp://user:password@host:587?tls=required`
    /// (STARTTLS), or `smtp://host:port` (plain, for a relay on this machine). Unset: in development messages are
    /// logged, not sent; production refuses to start without it.
    #[arg(long, env = "PITCHIN_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of every message, as `Name <address>`.
    #[arg(long, env = "PITCHIN_MAIL_FROM", default_value = "Pitch In <no-reply@pitchin.localhost>")]
    pub mail_from: String,
    /// How long one SMTP delivery may take, in milliseconds, before it counts as failed and is retried later.
    #[arg(long, env = "PITCHIN_SMTP_TIMEOUT_MS", default_value_t = 10_000)]
    pub smtp_timeout_ms: u64,
    /// Hours before a session that its volunteers are reminded of it.
    #[arg(long, env = "PITCHIN_REMINDER_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=168))]
    pub reminder_hours: u32,
    /// Subscriptions one WebSocket connection may hold at once; one more is refused on its own (an `error`
    /// message for it, code RATE_LIMITED), and the connection stays.
    #[arg(long, env = "PITCHIN_WS_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 20)]
    pub ws_subscriptions_per_connection: usize,
    /// WebSocket connections open at once from one IP address, per server; one more is refused before the
    /// upgrade (HTTP 429, code RATE_LIMITED).
    #[arg(long, env = "PITCHIN_WS_CONNECTIONS_PER_IP", default_value_t = 50)]
    pub ws_connections_per_ip: usize,
    /// WebSocket connections signed in as one user at once, per server; one more is closed with 4429.
    #[arg(long, env = "PITCHIN_WS_CONNECTIONS_PER_USER", default_value_t = 10)]
    pub ws_connections_per_user: usize,
    /// How long a new WebSocket connection may take to send `connection_init`, in milliseconds (then 4408).
    #[arg(long, env = "PITCHIN_WS_INIT_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_init_timeout_ms: u64,
    /// How often the server pings each WebSocket connection, in milliseconds; one silent for two pings is closed.
    #[arg(long, env = "PITCHIN_WS_PING_MS", default_value_t = 30_000)]
    pub ws_ping_ms: u64,
    /// Largest WebSocket message accepted from a client, in bytes; a larger one closes the connection (1009).
    #[arg(long, env = "PITCHIN_WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024)]
    pub ws_max_message_bytes: usize,
    /// Redis, where every server counts rate limits and sign-in attempts together (`redis://host:6379/0`). Unset:
    /// each server counts its own, which is right for one server.
    #[arg(long, env = "PITCHIN_REDIS_URL", hide_env_values = true, value_parser = redis_url)]
    pub redis_url: Option<String>,
    /// The start of every key Pitch In writes in Redis: deployments sharing one Redis give each its own.
    #[arg(long, env = "PITCHIN_REDIS_PREFIX", default_value = "pitchin")]
    pub redis_prefix: String,
    /// PostgreSQL only: where the server listens for live signals. `LISTEN` holds a session, which a pooler in
    /// transaction mode cannot give: behind one, the database's own address. Default: `DATABASE_URL`.
    #[arg(long, env = "DATABASE_LISTEN_URL", hide_env_values = true)]
    pub database_listen_url: Option<String>,
    /// Seconds an HTTP cache or CDN may keep an anonymous query's answer over GET (`Cache-Control: public`).
    #[arg(long, env = "PITCHIN_PUBLIC_MAX_AGE_SECS", default_value_t = 60)]
    pub public_max_age_secs: u64,
    /// PostgreSQL only: a streaming replica for the public reads (anonymous and API-key queries, pages, feeds, the
    /// matching index's loads). Each caller still reads its own writes (`domain::store::replica`).
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,
    /// How far behind the primary the replica may fall, in milliseconds, before every read goes to the primary
    /// until it catches up. Keep it well under `PITCHIN_FEED_SETTLE_MS`.
    #[arg(long, env = "PITCHIN_REPLICA_MAX_LAG_MS", default_value_t = 5_000)]
    pub replica_max_lag_ms: u64,
    /// Where Prometheus metrics are served (`GET /metrics`), e.g. `127.0.0.1:9100`: an address of their own, never
    /// the public one. Unset: no metrics.
    #[arg(long, env = "PITCHIN_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,
}

/// A Redis URL the client accepts, checked when the server starts rather than at the first request.
fn redis_url(raw: &str) -> Result<String, String> {
    redis::Client::open(raw).map(|_| raw.to_owned()).map_err(|e| e.to_string())
}

impl std::fmt::Debug for Settings {
    // Hand-written so the JWT secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("environment", &self.environment)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("jwt_previous_secrets", &format!("<{} set>", self.jwt_previous_secrets.len()))
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout_ms", &self.db_acquire_timeout_ms)
            .field("db_generic_plans", &self.db_generic_plans)
            .field("log_format", &self.log_format())
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("introspection", &self.introspection)
            .field("field_suggestions", &self.field_suggestions())
            .field("cors_origins", &self.cors_origins)
            .field("rate_limit_per_ip", &self.rate_limit_per_ip)
            .field("rate_limit_per_user", &self.rate_limit_per_user)
            .field("login_attempts_per_hour", &self.login_attempts_per_hour)
            .field("unverified_account_days", &self.unverified_account_days)
            .field("verify_email_url", &self.verify_email_url)
            .field("public_url", &self.public_url)
            .field("feed_settle_ms", &self.feed_settle_ms)
            .field("webhook_retry_ms", &self.webhook_retry_ms)
            .field("webhook_timeout_ms", &self.webhook_timeout_ms)
            .field("payment_webhook_secret", &self.payment_webhook_secret.as_ref().map(|_| "<set>"))
            .field("waitlist_offer_hours", &self.waitlist_offer_hours)
            .field("check_in_early_minutes", &self.check_in_early_minutes)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("smtp_timeout_ms", &self.smtp_timeout_ms)
            .field("reminder_hours", &self.reminder_hours)
            .field("ws_subscriptions_per_connection", &self.ws_subscriptions_per_connection)
            .field("ws_connections_per_ip", &self.ws_connections_per_ip)
            .field("ws_connections_per_user", &self.ws_connections_per_user)
            .field("ws_init_timeout_ms", &self.ws_init_timeout_ms)
            .field("ws_ping_ms", &self.ws_ping_ms)
            .field("ws_max_message_bytes", &self.ws_max_message_bytes)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("database_listen_url", &self.database_listen_url.as_deref().map(redact_url))
            .field("database_read_url", &self.database_read_url.as_deref().map(redact_url))
            .field("replica_max_lag_ms", &self.replica_max_lag_ms)
            .field("metrics_bind", &self.metrics_bind)
            .field("public_max_age_secs", &self.public_max_age_secs)
            .finish()
    }
}

impl Settings {
    /// Settings for tests and tools: development mode, the given database, a fixed secret, no rate limits.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            environment: Environment::Development,
            jwt_secret: Some("test-secret-that-is-at-least-32-bytes-long".to_owned()),
            jwt_previous_secrets: Vec::new(),
            token_ttl_secs: 900,
            db_max_connections: 10,
            db_acquire_timeout_ms: 2_000,
            db_generic_plans: true,
            log_format: None,
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 15_000,
            introspection: true,
            field_suggestions: None,
            cors_origins: Vec::new(),
            rate_limit_per_ip: 0,
            rate_limit_per_user: 0,
            login_attempts_per_hour: 0,
            unverified_account_days: 30,
            verify_email_url: "http://localhost:3000/verify-email".to_owned(),
            public_url: "http://localhost:8000".to_owned(),
            feed_settle_ms: None,
            webhook_retry_ms: 5_000,
            webhook_timeout_ms: 10_000,
            payment_webhook_secret: None,
            waitlist_offer_hours: domain::applications::waitlist::DEFAULT_OFFER_HOURS,
            check_in_early_minutes: domain::hours::attendance::DEFAULT_EARLY_MINUTES,
            smtp_url: None,
            mail_from: "Pitch In <no-reply@pitchin.localhost>".to_owned(),
            smtp_timeout_ms: 10_000,
            reminder_hours: 24,
            ws_subscriptions_per_connection: 20,
            ws_connections_per_ip: 50,
            ws_connections_per_user: 10,
            ws_init_timeout_ms: 10_000,
            ws_ping_ms: 30_000,
            ws_max_message_bytes: 64 * 1024,
            redis_url: None,
            redis_prefix: "pitchin".to_owned(),
            database_listen_url: None,
            database_read_url: None,
            replica_max_lag_ms: 5_000,
            metrics_bind: None,
            public_max_age_secs: 60,
        }
    }

    /// Where webhooks may be sent: in production only HTTPS and public addresses; development allows loopback
    /// (and plain HTTP) so that a receiver on this machine can be tried.
    pub fn webhook_targets(&self) -> domain::webhooks::targets::TargetPolicy {
        use domain::webhooks::targets::TargetPolicy;
        if self.production() { TargetPolicy::PRODUCTION } else { TargetPolicy::DEVELOPMENT }
    }

    /// `waitlist_offer_hours` as a span.
    pub fn waitlist_offer(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::hours(i64::from(self.waitlist_offer_hours))
    }

    /// `reminder_hours` as a span.
    pub fn reminder_lead(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::hours(i64::from(self.reminder_hours))
    }

    /// `check_in_early_minutes` as a span.
    pub fn check_in_early(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::minutes(i64::from(self.check_in_early_minutes))
    }

    /// `feed_settle_ms`, or its default.
    pub fn feed_settle(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.feed_settle_ms.unwrap_or(self.request_timeout_ms.saturating_add(5_000)))
    }

    /// `public_url` without a trailing slash, so that links join it with one.
    pub fn public_url(&self) -> &str {
        self.public_url.trim().trim_end_matches('/')
    }

    pub fn production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// What `PITCHIN_ENV=production` changes unless set otherwise: JSON logs and no field suggestions
    /// (suggestions let a stranger map the schema with introspection off). A real JWT secret is required too.
    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(if self.production() { LogFormat::Json } else { LogFormat::Pretty })
    }

    pub fn field_suggestions(&self) -> bool {
        self.field_suggestions.unwrap_or(!self.production())
    }

    /// Where live signals are listened for (PostgreSQL only).
    pub fn listen_url(&self) -> Option<String> {
        (!self.is_sqlite()).then(|| self.database_listen_url.clone().unwrap_or_else(|| self.database_url.clone()))
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// How `db_max_connections` is shared between sea-orm's pool and, on PostgreSQL, the read connections
    /// (`reads.rs`): half each, the odd one to sea-orm's, so that the two never open more than the setting says. The
    /// read benchmark could not tell 4, 6 or 10 read connections apart at 32 concurrent clients, so half loses
    /// nothing. With a single connection there are no read connections: the reads share sea-orm's.
    pub fn connection_budget(&self) -> ConnectionBudget {
        let total = self.db_max_connections.max(1);
        if self.is_sqlite() || total < 2 {
            return ConnectionBudget { main: total, reads: 0 };
        }
        let reads = total / 2;
        ConnectionBudget { main: total - reads, reads }
    }
}

/// The connections each pool may open; together at most `PITCHIN_DB_MAX_CONNECTIONS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// sea-orm's pool: writes, transactions, and the reads not on the read connections.
    pub main: u32,
    /// The read connections (`reads.rs`); none on SQLite.
    pub reads: u32,
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

    #[test]
    fn the_pools_together_never_exceed_the_connection_setting() {
        for total in 0..=64 {
            let mut settings = Settings::for_database("postgres://localhost/pitchin");
            settings.db_max_connections = total;
            let budget = settings.connection_budget();
            assert_eq!(budget.main + budget.reads, total.max(1), "{total}");
            assert!(budget.main >= 1 && budget.main >= budget.reads, "{total}: {budget:?}");
            assert_eq!(budget.reads == 0, total < 2, "{total}: read connections from two on");
            settings.database_url = "sqlite://pitchin.db?mode=rwc".into();
            assert_eq!(settings.connection_budget(), ConnectionBudget { main: total.max(1), reads: 0 });
        }
    }
}

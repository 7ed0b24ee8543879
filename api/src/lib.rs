//! Pitch In: a GraphQL API matching local needs with the people and organisations who can meet them.
// The merged Query root (15 areas, each a MergedObject member) nests types deeper than rustc's default of 128
// queries when built without incremental compilation (as CI builds): the root stops compiling at that depth.
#![recursion_limit = "256"]
pub mod admin;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod funding;
pub mod hours;
pub mod http;
pub mod idempotency;
pub mod kit;
pub mod mail;
pub mod matching;
pub mod needs;
pub mod notifications;
pub mod offers;
pub mod organisations;
pub mod partnerships;
pub mod privacy;
pub mod projects;
pub mod schema;
pub mod telemetry;
pub mod users;
pub mod volunteers;
pub mod wards;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use config::Settings;
pub use http::{AppState, build_router};

pub use domain::{now, values};

/// Connects to the configured database. SQLite in memory must stay on one connection (each
/// connection would otherwise see its own empty database).
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, sea_orm::DbErr> {
    Database::connect(connect_options(settings)).await
}

fn connect_options(settings: &Settings) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.database_url.clone());
    let in_memory = settings.database_url.contains(":memory:") || settings.database_url.contains("mode=memory");
    let max = if in_memory { 1 } else { settings.connection_budget().main };
    options
        .max_connections(max)
        .min_connections(if in_memory { 1 } else { 0 })
        .connect_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
        .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
        // A connection that has waited a second is pinged before use (the server may have restarted, or a proxy
        // dropped it); a busy one is not: a ping on every checkout was a round trip more per statement.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false);
    if settings.db_generic_plans {
        // Prepared statements are reused per connection; with PostgreSQL's default rule, the listing (a LIMIT
        // over an index that both the category and the status narrow) was planned afresh on every execution, 0.1 ms
        // each, to a plan that ran slower than the generic one. Q1 went from about 2,200 to 3,100 requests a second.
        options.map_sqlx_postgres_opts(|pg| pg.options([("plan_cache_mode", "force_generic_plan")]));
    }
    if in_memory {
        // The only connection holds the database: never let the pool retire it.
        options.idle_timeout(Duration::from_secs(u64::MAX / 4)).max_lifetime(Duration::from_secs(u64::MAX / 4));
    }
    options
}

/// Connects to the read replica (`DATABASE_READ_URL`), if there is one, as it is first used: PostgreSQL only, with
/// the primary's pool sizes and session settings. `replica` makes the `Replica` of it.
pub async fn connect_replica(settings: &Settings) -> Result<Option<DatabaseConnection>, String> {
    let Some(url) = settings.database_read_url.clone().filter(|url| !url.is_empty()) else { return Ok(None) };
    if settings.is_sqlite() || !url.starts_with("postgres") {
        return Err("DATABASE_READ_URL needs PostgreSQL for both DATABASE_URL and itself".into());
    }
    let mut replica_settings = settings.clone();
    replica_settings.database_url = url;
    let mut options = connect_options(&replica_settings);
    options.connect_lazy(true);
    Database::connect(options).await.map(Some).map_err(|e| format!("DATABASE_READ_URL: {e}"))
}

/// The replica on `db` (`connect_replica`), with read connections of its own.
pub fn replica(settings: &Settings, db: DatabaseConnection) -> Arc<domain::store::replica::Replica> {
    let wait = Duration::from_millis(settings.db_acquire_timeout_ms);
    let reads = domain::store::Reads::new(&db, settings.connection_budget().reads as usize, wait);
    domain::store::replica::Replica::new(db, reads, Duration::from_millis(settings.replica_max_lag_ms))
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    migration::Migrator::up(db, None).await
}

/// Runs the server on `db` (connected and migrated: see `connect` and `migrate`) with the keys made from `settings`
/// (checked before the database is touched) until SIGTERM or Ctrl-C, finishing in-flight requests first.
pub async fn serve(
    settings: Settings,
    keys: Arc<auth::token::TokenKeys>,
    db: DatabaseConnection,
) -> Result<(), String> {
    tracing::info!(settings = ?settings, "starting Pitch In");
    let mailer = mail::from_settings(&settings).map_err(|e| format!("{e:?}"))?;
    if settings.smtp_url.is_none() {
        tracing::warn!("no PITCHIN_SMTP_URL: mail is logged, not sent (development only)");
    }
    let mut state = AppState::new(db, keys, &settings, mailer);
    if let Some(replica_db) = connect_replica(&settings).await? {
        state = state.with_replica(replica(&settings, replica_db), &settings);
    }
    if let Some(address) = settings.metrics_bind {
        let listener =
            tokio::net::TcpListener::bind(address).await.map_err(|e| format!("PITCHIN_METRICS_BIND {address}: {e}"))?;
        tracing::info!(%address, "metrics at /metrics");
        let metrics = http::metrics::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, metrics).await });
    }
    // Housekeeping once a minute: rate limiters' idle keys, idempotency keys past their day, campaigns past their
    // deadline; once an hour (and at start), the retention rule for accounts never verified.
    let (limits, reads, housekeeping_db) = (state.limits.clone(), state.reads.clone(), state.db.clone());
    let routing = state.routing.clone();
    let dispatch_index = state.matching.clone();
    let waitlist_offer = settings.waitlist_offer();
    let retention = (settings.unverified_account_days > 0)
        .then(|| chrono::TimeDelta::days(i64::from(settings.unverified_account_days)));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        for minute in 0u64.. {
            every.tick().await;
            limits.forget_idle();
            reads.forget_idle();
            if let Some(routing) = &routing {
                routing.forget_idle();
                routing.replica().reads().forget_idle();
            }
            if let Err(err) = idempotency::forget_old(&housekeeping_db).await {
                tracing::warn!(error = ?err, "could not forget old idempotency keys");
            }
            // Campaigns close within a minute of their deadline; each once, however many servers sweep.
            match domain::funding::campaigns::close_due(&housekeeping_db, domain::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(campaigns = n, "closed campaigns at their deadline"),
                Err(err) => tracing::warn!(error = ?err, "could not close campaigns past their deadline"),
            }
            // Offers from waitlists lapse within a minute of their deadline, each passing to the next in line once.
            match domain::applications::waitlist::expire_offers(&housekeeping_db, domain::now(), waitlist_offer).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(offers = n, "offers from waitlists lapsed"),
                Err(err) => tracing::warn!(error = ?err, "could not lapse offers from waitlists"),
            }
            // A free place whose next in line was at their weekly cap (or not yet verified) is offered once they
            // no longer are.
            match domain::applications::waitlist::offer_waiting(&housekeeping_db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(offers = n, "offered free places to waitlists"),
                Err(err) => tracing::warn!(error = ?err, "could not offer free places to waitlists"),
            }
            // Notifications done with are kept 90 days (past the longest gap between a check's recheck notices).
            if minute % 60 == 40
                && let Err(err) =
                    domain::notifications::outbox::forget_old(&housekeeping_db, chrono::TimeDelta::days(90)).await
            {
                tracing::warn!(error = ?err, "could not forget old notifications");
            }
            // Urgent dispatches move on within a minute: lapsed invitations, the next wave, the end.
            match domain::matching::dispatch::advance(&housekeeping_db, &dispatch_index, domain::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(waves = n, "urgent dispatches sent their next waves"),
                Err(err) => tracing::warn!(error = ?err, "could not move urgent dispatches on"),
            }
            // Webhook deliveries done with are kept 30 days, for partners to look back on; swept hourly.
            if minute % 60 == 30
                && let Err(err) =
                    domain::webhooks::outbox::forget_old(&housekeeping_db, chrono::TimeDelta::days(30)).await
            {
                tracing::warn!(error = ?err, "could not forget old webhook deliveries");
            }
            if let Some(after) = retention
                && minute % 60 == 0
            {
                match privacy::erase_stale_unverified(&housekeeping_db, after).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(accounts = n, "erased accounts never verified"),
                    Err(err) => tracing::warn!(error = ?err, "could not apply the retention rule"),
                }
            }
        }
    });
    // Partners' counts reach the table every 10 s: at most that much is lost if the process dies.
    let (partners, db) = (state.partners.clone(), state.db.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            if let Err(err) = partners.flush(&db).await {
                tracing::warn!(error = ?err, "could not write partners' counts; kept for the next try");
            }
        }
    });
    let (last_partners, last_db) = (state.partners.clone(), state.db.clone());
    // Webhook deliveries, sent from every server: claims keep two servers from sending the same attempt.
    let dispatcher = webhooks::sender::Dispatcher::new(state.db.clone(), &settings).map_err(|e| format!("{e:?}"))?;
    let delivering = tokio::spawn(dispatcher.run());
    // Notifications by email, and the scheduled sweeps that write reminders and digests, from every server: claims
    // keep two servers from sending the same message or running the same sweep.
    let mailing = tokio::spawn(state.notifications.clone().run());
    let scheduling =
        tokio::spawn(notifications::sender::Scheduler::new(state.db.clone(), state.matching.clone(), &settings).run());
    // Load the matching index now rather than in the first match request (about a second at city scale).
    let (matching, db) = (state.matching.clone(), state.db.clone());
    tokio::spawn(async move {
        if let Err(err) = matching.refresh(&db).await {
            tracing::warn!(error = ?err, "the matching index will load on first use");
        }
    });
    // Listen for live signals now rather than at the first subscription.
    state.live.start();
    if let Some(shared) = &state.limits.shared {
        match shared.connect().await {
            Ok(_) => tracing::info!("rate limits are counted in Redis, with every server's"),
            Err(err) => shared.failed(&err),
        }
    }
    let (sockets, last_sockets) = (state.sockets.clone(), state.sockets.clone());
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    tracing::info!("GraphiQL on http://{}/graphql", settings.bind);
    // With the peer's address, for the rate limit per IP.
    let served =
        axum::serve(listener, build_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                // Live connections are told at once (1001), whether or not the HTTP server waits for them.
                let closing = sockets.clone();
                tokio::spawn(async move { closing.close_all(Duration::from_secs(5)).await });
            })
            .await
            .map_err(|e| format!("server error: {e}"));
    // Upgraded connections are no longer the HTTP server's: a few seconds for them to close cleanly.
    last_sockets.close_all(Duration::from_secs(5)).await;
    // An attempt cut short here is sent again when its claim lapses (at least once).
    delivering.abort();
    mailing.abort();
    scheduling.abort();
    // What was counted since the last write, on a clean stop.
    if let Err(err) = last_partners.flush(&last_db).await {
        tracing::warn!(error = ?err, "could not write partners' last counts");
    }
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod layers {
    //! The walls inside this crate, which Cargo cannot see: the kit names no area and nothing above it; areas name
    //! neither the schema root nor the HTTP server; only the schema root names every area.
    use std::path::Path;

    const AREAS: [&str; 17] = [
        "users",
        "organisations",
        "needs",
        "volunteers",
        "offers",
        "applications",
        "matching",
        "api_keys",
        "audit",
        "privacy",
        "webhooks",
        "wards",
        "partnerships",
        "projects",
        "funding",
        "hours",
        "notifications",
    ];

    fn sources(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).expect("a source file")));
            }
        }
        out
    }

    fn names(source: &str, module: &str) -> bool {
        source.contains(&format!("crate::{module}::")) || source.contains(&format!("crate::{module};"))
    }

    #[test]
    fn the_kit_names_no_area_and_areas_name_nothing_above_them() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for (file, source) in sources(&src.join("kit")) {
            for module in AREAS.iter().chain(&["schema", "http"]) {
                assert!(!names(&source, module), "{file} (the kit) names {module}");
            }
        }
        for area in AREAS {
            for (file, source) in sources(&src.join(area)) {
                for above in ["schema", "http"] {
                    assert!(!names(&source, above), "{file} (an area) names {above}");
                }
            }
        }
        let everywhere: Vec<String> = sources(&src)
            .into_iter()
            .filter(|(_, source)| AREAS.iter().all(|area| names(source, area)))
            .map(|(file, _)| file)
            .collect();
        assert_eq!(everywhere.len(), 1, "only the schema root names every area: {everywhere:?}");
        assert!(everywhere[0].ends_with("schema/mod.rs"), "{everywhere:?}");
    }
}

//! End-to-end tests through the real axum router, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
mod access;
mod api_keys;
mod audit;
mod erasure;
mod faults;
mod helpers;
mod idempotency;
mod journey;
mod limits;
mod listing;
mod matching;
mod places;
mod privacy;
mod schema;
mod sessions;
mod statements;
mod validation;

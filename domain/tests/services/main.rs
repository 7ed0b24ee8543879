//! The domain's services called directly, with no HTTP and no GraphQL: the rules of each command, each denial and
//! each state change, on a fresh database per test (SQLite, or PostgreSQL when `TEST_DATABASE_URL` is set).
mod api_keys;
mod applications;
mod calendars;
mod dispatch;
mod fairness;
mod funding;
mod helpers;
mod hours;
mod live;
mod matching;
mod needs;
mod notifications;
mod offers;
mod organisations;
mod partnerships;
mod privacy;
mod projects;
mod store;
mod users;
mod wards;
mod webhooks;

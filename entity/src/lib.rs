//! Storage models, one file per table. No GraphQL here: the API builds its own views from these.
pub mod application;
pub mod idempotency_key;
pub mod membership;
pub mod need;
pub mod need_skill;
pub mod offer;
pub mod organisation;
pub mod refresh_token;
pub mod user;
pub mod volunteer_profile;

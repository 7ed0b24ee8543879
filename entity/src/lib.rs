//! Storage models, one file per table. No GraphQL here: the API builds its own views from these.
pub mod api_key;
pub mod application;
pub mod audit_event;
pub mod calendar_feed;
pub mod email_verification;
pub mod idempotency_key;
pub mod membership;
pub mod need;
pub mod need_skill;
pub mod offer;
pub mod organisation;
pub mod partner_day;
pub mod refresh_token;
pub mod user;
pub mod volunteer_profile;
pub mod webhook_delivery;
pub mod webhook_endpoint;

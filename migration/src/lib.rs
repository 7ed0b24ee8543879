//! Schema migrations. Never edit a landed migration: add a new one.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users;
mod m20261122_000002_create_organisations;
mod m20261122_000003_create_memberships;
mod m20261122_000004_create_needs;
mod m20261122_000005_create_volunteer_profiles;
mod m20261122_000006_create_offers;
mod m20261122_000007_create_applications;
mod m20261122_000008_index_volunteer_places;
mod m20261122_000009_add_week_masks;
mod m20261129_000010_index_updated_at;
mod m20261130_000011_create_idempotency_keys;
mod m20261130_000012_create_refresh_tokens;
mod m20261130_000013_account_lifecycle;
mod m20261130_000014_create_api_keys;
mod m20261130_000015_create_audit_events;
mod m20261203_000016_partner_settings;
mod m20261204_000017_create_calendar_feeds;
mod m20261204_000018_index_change_feeds;
mod m20261204_000019_create_partner_days;
mod m20261206_000020_create_webhooks;
mod m20261206_000021_add_organisation_numbers;
mod m20261206_000022_create_wards;
mod m20261206_000023_create_partnerships;
mod m20261206_000024_create_priorities;
mod m20261206_000025_create_projects;
mod m20261206_000026_create_funds;
mod m20261206_000027_add_local_authority_codes;
mod m20261206_000028_create_bid_contributions;
mod m20261206_000029_create_campaigns;
mod m20261207_000030_create_session_cancellations;
mod m20261207_000031_add_waitlists;
mod m20261207_000032_create_session_signups;
mod m20261207_000033_create_dbs_verifications;
mod m20261207_000034_create_attendance_and_hours;
mod m20261207_000035_create_volunteering_statements;
mod m20261208_000036_create_notifications;
mod m20261208_000037_create_urgent_dispatches;
mod m20261209_000038_create_invitations;
mod m20261210_000039_create_live_signals;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_organisations::Migration),
            Box::new(m20261122_000003_create_memberships::Migration),
            Box::new(m20261122_000004_create_needs::Migration),
            Box::new(m20261122_000005_create_volunteer_profiles::Migration),
            Box::new(m20261122_000006_create_offers::Migration),
            Box::new(m20261122_000007_create_applications::Migration),
            Box::new(m20261122_000008_index_volunteer_places::Migration),
            Box::new(m20261122_000009_add_week_masks::Migration),
            Box::new(m20261129_000010_index_updated_at::Migration),
            Box::new(m20261130_000011_create_idempotency_keys::Migration),
            Box::new(m20261130_000012_create_refresh_tokens::Migration),
            Box::new(m20261130_000013_account_lifecycle::Migration),
            Box::new(m20261130_000014_create_api_keys::Migration),
            Box::new(m20261130_000015_create_audit_events::Migration),
            Box::new(m20261203_000016_partner_settings::Migration),
            Box::new(m20261204_000017_create_calendar_feeds::Migration),
            Box::new(m20261204_000018_index_change_feeds::Migration),
            Box::new(m20261204_000019_create_partner_days::Migration),
            Box::new(m20261206_000020_create_webhooks::Migration),
            Box::new(m20261206_000021_add_organisation_numbers::Migration),
            Box::new(m20261206_000022_create_wards::Migration),
            Box::new(m20261206_000023_create_partnerships::Migration),
            Box::new(m20261206_000024_create_priorities::Migration),
            Box::new(m20261206_000025_create_projects::Migration),
            Box::new(m20261206_000026_create_funds::Migration),
            Box::new(m20261206_000027_add_local_authority_codes::Migration),
            Box::new(m20261206_000028_create_bid_contributions::Migration),
            Box::new(m20261206_000029_create_campaigns::Migration),
            Box::new(m20261207_000030_create_session_cancellations::Migration),
            Box::new(m20261207_000031_add_waitlists::Migration),
            Box::new(m20261207_000032_create_session_signups::Migration),
            Box::new(m20261207_000033_create_dbs_verifications::Migration),
            Box::new(m20261207_000034_create_attendance_and_hours::Migration),
            Box::new(m20261207_000035_create_volunteering_statements::Migration),
            Box::new(m20261208_000036_create_notifications::Migration),
            Box::new(m20261208_000037_create_urgent_dispatches::Migration),
            Box::new(m20261209_000038_create_invitations::Migration),
            Box::new(m20261210_000039_create_live_signals::Migration),
        ]
    }
}

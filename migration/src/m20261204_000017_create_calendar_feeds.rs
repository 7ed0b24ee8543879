use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// Each volunteer's private calendar feed: the random id its URL is made from (the URL's secret part is an HMAC of
/// the id under the server's key and is stored nowhere). Rotating the feed replaces the id; erasure deletes the row.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .if_not_exists()
                    .col(pk_uuid(CalendarFeeds::VolunteerId))
                    .col(string_uniq(CalendarFeeds::TokenId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CalendarFeeds::Table, CalendarFeeds::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Profiles made before feeds existed get one each: 128 random bits as 32 hex digits, as the server makes them.
        let random = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "replace(gen_random_uuid()::text, '-', '')",
            _ => "lower(hex(randomblob(16)))",
        };
        let backfill = format!(
            "INSERT INTO calendar_feeds (volunteer_id, token_id) SELECT id, {random} FROM volunteer_profiles \
             WHERE deleted_at IS NULL"
        );
        manager.get_connection().execute_unprepared(&backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CalendarFeeds::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum CalendarFeeds {
    Table,
    VolunteerId,
    TokenId,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

/// Partner API keys: only a SHA-256 of each key is stored, with its scopes, the organisation a matches scope is for,
/// its own rate limit, and when it was last used and revoked.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(pk_uuid(ApiKeys::Id))
                    .col(string(ApiKeys::Name))
                    .col(string(ApiKeys::KeyPrefix))
                    .col(string_uniq(ApiKeys::KeyHash))
                    .col(string(ApiKeys::Scopes))
                    .col(uuid_null(ApiKeys::OrganisationId))
                    .col(integer(ApiKeys::RateLimitPerMinute))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    Id,
    Name,
    KeyPrefix,
    KeyHash,
    Scopes,
    OrganisationId,
    RateLimitPerMinute,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261130_000014_create_api_keys::ApiKeys;

/// What a partner's API key says about its site: the origins that may frame its widget (comma-separated, empty for
/// any) and its own page for applying, if it has one.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Partner {
    AllowedOrigins,
    ApplyUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter().table(ApiKeys::Table).add_column(string(Partner::AllowedOrigins).default("")).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(ApiKeys::Table).add_column(string_null(Partner::ApplyUrl)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Partner::AllowedOrigins, Partner::ApplyUrl] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

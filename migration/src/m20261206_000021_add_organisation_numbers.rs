use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

/// The numbers an organisation is registered under (a charity number, a company number), which open data uses to
/// name it (`GB-CHC-…`, `GB-COH-…`).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registered {
    CharityNumber,
    CompanyNumber,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [Registered::CharityNumber, Registered::CompanyNumber] {
            manager
                .alter_table(Table::alter().table(Organisations::Table).add_column(string_null(column)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Registered::CharityNumber, Registered::CompanyNumber] {
            manager.alter_table(Table::alter().table(Organisations::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

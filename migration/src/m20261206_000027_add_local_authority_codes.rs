use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

/// A council's code in the Local Authorities in England register, which open data names its grants' funder by
/// (`GB-LAE-…`).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registered {
    LocalAuthorityCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organisations::Table)
                    .add_column(string_null(Registered::LocalAuthorityCode))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Organisations::Table).drop_column(Registered::LocalAuthorityCode).to_owned(),
            )
            .await
    }
}

use sea_orm_migration::prelude::*;

use super::m20261122_000002_create_organisations::Organisations;
use super::m20261122_000004_create_needs::Needs;

/// The change feeds read needs and organisations in `(updated_at, id)` order after a cursor: one index range each.
/// The needs' index replaces the one on `updated_at` alone, which the matching index's catch-up read also uses.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_needs_updated_at_id")
                    .table(Needs::Table)
                    .col(Needs::UpdatedAt)
                    .col(Needs::Id)
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name("idx_needs_updated_at").table(Needs::Table).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organisations_updated_at_id")
                    .table(Organisations::Table)
                    .col(Organisations::UpdatedAt)
                    .col(Organisations::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name("idx_needs_updated_at").table(Needs::Table).col(Needs::UpdatedAt).to_owned(),
            )
            .await?;
        for (name, table) in [
            ("idx_needs_updated_at_id", Needs::Table.into_iden()),
            ("idx_organisations_updated_at_id", Organisations::Table.into_iden()),
        ] {
            manager.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        Ok(())
    }
}

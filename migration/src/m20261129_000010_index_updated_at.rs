use sea_orm_migration::prelude::*;

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;
use super::m20261122_000007_create_applications::Applications;

/// The matching index keeps itself current by reading the rows whose `updated_at` is newer than the newest it
/// has seen, before every match query: these indexes make that read a short range scan that usually finds nothing.
#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [&str; 3] = ["idx_volunteer_profiles_updated_at", "idx_needs_updated_at", "idx_applications_updated_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [(DynIden, DynIden); 3] = [
            (VolunteerProfiles::Table.into_iden(), VolunteerProfiles::UpdatedAt.into_iden()),
            (Needs::Table.into_iden(), Needs::UpdatedAt.into_iden()),
            (Applications::Table.into_iden(), Applications::UpdatedAt.into_iden()),
        ];
        for (name, (table, column)) in INDEXES.iter().zip(tables) {
            manager.create_index(Index::create().name(*name).table(table).col(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in INDEXES {
            manager.drop_index(Index::drop().name(name).to_owned()).await?;
        }
        Ok(())
    }
}

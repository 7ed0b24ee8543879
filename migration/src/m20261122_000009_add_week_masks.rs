use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// Week masks (7 days × eight 3-hour blocks) of needs' schedules and volunteers' availability, so matching can
/// drop pairs whose times cannot overlap in SQL. 0 means "no windows, or not computed yet": matching keeps such
/// rows as candidates, so rows written before this migration stay correct without a backfill.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Needs::Table)
                    .add_column(big_integer(Alias::new("schedule_mask")).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(VolunteerProfiles::Table)
                    .add_column(big_integer(Alias::new("availability_mask")).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Needs::Table).drop_column(Alias::new("schedule_mask")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(VolunteerProfiles::Table).drop_column(Alias::new("availability_mask")).to_owned(),
            )
            .await
    }
}

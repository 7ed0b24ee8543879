use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// Statements of volunteering: what a volunteer chose to show of their approved hours, fixed when made, reachable by
/// a long random code until they revoke it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VolunteeringStatements::Table)
                    .if_not_exists()
                    .col(uuid(VolunteeringStatements::Id).primary_key())
                    .col(string_uniq(VolunteeringStatements::Code))
                    .col(uuid(VolunteeringStatements::VolunteerId))
                    .col(string(VolunteeringStatements::Name))
                    .col(date(VolunteeringStatements::FromDate))
                    .col(date(VolunteeringStatements::ToDate))
                    .col(json(VolunteeringStatements::Lines))
                    .col(big_integer(VolunteeringStatements::TotalMinutes))
                    .col(timestamp_with_time_zone(VolunteeringStatements::CreatedAt))
                    .col(timestamp_with_time_zone_null(VolunteeringStatements::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VolunteeringStatements::Table, VolunteeringStatements::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteering_statements_volunteer")
                    .table(VolunteeringStatements::Table)
                    .col(VolunteeringStatements::VolunteerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(VolunteeringStatements::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum VolunteeringStatements {
    Table,
    Id,
    Code,
    VolunteerId,
    Name,
    FromDate,
    ToDate,
    Lines,
    TotalMinutes,
    CreatedAt,
    RevokedAt,
}

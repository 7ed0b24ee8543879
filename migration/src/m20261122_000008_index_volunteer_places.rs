use sea_orm_migration::prelude::*;

use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// Matching looks for volunteers in a box around a need, and needs the largest travel radius to size it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteer_profiles_lat_lng")
                    .table(VolunteerProfiles::Table)
                    .col(VolunteerProfiles::Lat)
                    .col(VolunteerProfiles::Lng)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteer_profiles_radius")
                    .table(VolunteerProfiles::Table)
                    .col(VolunteerProfiles::TravelRadiusKm)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_volunteer_profiles_radius").to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_volunteer_profiles_lat_lng").to_owned()).await
    }
}

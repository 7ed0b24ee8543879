use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VolunteerProfiles::Table)
                    .if_not_exists()
                    .col(pk_uuid(VolunteerProfiles::Id))
                    .col(uuid(VolunteerProfiles::UserId).unique_key())
                    .col(string(VolunteerProfiles::DisplayName))
                    .col(text(VolunteerProfiles::Bio))
                    .col(json(VolunteerProfiles::Skills))
                    .col(json(VolunteerProfiles::Interests))
                    .col(json(VolunteerProfiles::Languages))
                    .col(string_null(VolunteerProfiles::Postcode))
                    .col(double_null(VolunteerProfiles::Lat))
                    .col(double_null(VolunteerProfiles::Lng))
                    .col(double(VolunteerProfiles::TravelRadiusKm))
                    .col(json(VolunteerProfiles::Availability))
                    .col(string(VolunteerProfiles::DbsLevel))
                    .col(date_null(VolunteerProfiles::DbsIssuedOn))
                    .col(date_null(VolunteerProfiles::DbsRecheckBy))
                    .col(boolean(VolunteerProfiles::DbsUpdateService))
                    .col(timestamp_with_time_zone(VolunteerProfiles::CreatedAt))
                    .col(timestamp_with_time_zone(VolunteerProfiles::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VolunteerProfiles::Table, VolunteerProfiles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(VolunteerProfiles::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum VolunteerProfiles {
    Table,
    Id,
    UserId,
    DisplayName,
    Bio,
    Skills,
    Interests,
    Languages,
    Postcode,
    Lat,
    Lng,
    TravelRadiusKm,
    Availability,
    DbsLevel,
    DbsIssuedOn,
    DbsRecheckBy,
    DbsUpdateService,
    CreatedAt,
    UpdatedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Offers::Table)
                    .if_not_exists()
                    .col(pk_uuid(Offers::Id))
                    .col(uuid_null(Offers::VolunteerId))
                    .col(uuid_null(Offers::OrganisationId))
                    .col(string(Offers::Kind))
                    .col(string(Offers::Title))
                    .col(text(Offers::Description))
                    .col(string_null(Offers::Category))
                    .col(string_null(Offers::Postcode))
                    .col(double_null(Offers::Lat))
                    .col(double_null(Offers::Lng))
                    .col(boolean(Offers::Remote))
                    .col(json(Offers::Availability))
                    .col(string(Offers::Status))
                    .col(timestamp_with_time_zone(Offers::CreatedAt))
                    .col(timestamp_with_time_zone(Offers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Offers::Table, Offers::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Offers::Table, Offers::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offers_status_created")
                    .table(Offers::Table)
                    .col(Offers::Status)
                    .col(Offers::CreatedAt)
                    .col(Offers::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_offers_org").table(Offers::Table).col(Offers::OrganisationId).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_offers_volunteer").table(Offers::Table).col(Offers::VolunteerId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Offers::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Offers {
    Table,
    Id,
    VolunteerId,
    OrganisationId,
    Kind,
    Title,
    Description,
    Category,
    Postcode,
    Lat,
    Lng,
    Remote,
    Availability,
    Status,
    CreatedAt,
    UpdatedAt,
}

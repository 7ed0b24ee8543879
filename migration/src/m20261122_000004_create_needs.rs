use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Needs::Table)
                    .if_not_exists()
                    .col(pk_uuid(Needs::Id))
                    .col(uuid(Needs::OrganisationId))
                    .col(string(Needs::Title))
                    .col(text(Needs::Description))
                    .col(string(Needs::Category))
                    .col(json(Needs::RequiredSkills))
                    .col(json(Needs::Languages))
                    .col(string(Needs::Safeguarding))
                    .col(json(Needs::WeeklySchedule))
                    .col(date_null(Needs::StartDate))
                    .col(date_null(Needs::EndDate))
                    .col(string_null(Needs::Postcode))
                    .col(double_null(Needs::Lat))
                    .col(double_null(Needs::Lng))
                    .col(boolean(Needs::Remote))
                    .col(integer(Needs::VolunteersNeeded))
                    .col(integer(Needs::PlacesTaken))
                    .col(string(Needs::Status))
                    .col(timestamp_with_time_zone_null(Needs::PublishedAt))
                    .col(timestamp_with_time_zone(Needs::CreatedAt))
                    .col(timestamp_with_time_zone(Needs::UpdatedAt))
                    .check(Expr::col(Needs::PlacesTaken).lte(Expr::col(Needs::VolunteersNeeded)))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Needs::Table, Needs::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing orders: newest first, filtered by status and optionally category or organisation.
        for (name, cols) in [
            ("idx_needs_status_created", vec![Needs::Status, Needs::CreatedAt, Needs::Id]),
            ("idx_needs_category_status_created", vec![Needs::Category, Needs::Status, Needs::CreatedAt, Needs::Id]),
            ("idx_needs_org_created", vec![Needs::OrganisationId, Needs::CreatedAt, Needs::Id]),
            ("idx_needs_lat_lng", vec![Needs::Lat, Needs::Lng]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Needs::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(NeedSkills::Table)
                    .if_not_exists()
                    .col(uuid(NeedSkills::NeedId))
                    .col(string(NeedSkills::Skill))
                    .primary_key(Index::create().col(NeedSkills::NeedId).col(NeedSkills::Skill))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NeedSkills::Table, NeedSkills::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_need_skills_skill")
                    .table(NeedSkills::Table)
                    .col(NeedSkills::Skill)
                    .col(NeedSkills::NeedId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(NeedSkills::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Needs::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Needs {
    Table,
    Id,
    OrganisationId,
    Title,
    Description,
    Category,
    RequiredSkills,
    Languages,
    Safeguarding,
    WeeklySchedule,
    StartDate,
    EndDate,
    Postcode,
    Lat,
    Lng,
    Remote,
    VolunteersNeeded,
    PlacesTaken,
    Status,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum NeedSkills {
    Table,
    NeedId,
    Skill,
}

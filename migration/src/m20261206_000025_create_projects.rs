use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;
use super::m20261122_000004_create_needs::Needs;
use super::m20261206_000022_create_wards::Wards;
use super::m20261206_000024_create_priorities::Priorities;

/// Projects: what an organisation runs (a class, a club, a defibrillator), where, for whom, and the partnership
/// priorities it addresses; needs may belong to one and be tagged with priorities too.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NeedProject {
    ProjectId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .if_not_exists()
                    .col(pk_uuid(Projects::Id))
                    .col(uuid(Projects::OrganisationId))
                    .col(string(Projects::Title))
                    .col(string(Projects::Summary))
                    .col(text(Projects::Description))
                    .col(string(Projects::Category))
                    .col(string_null(Projects::Postcode))
                    .col(double_null(Projects::Lat))
                    .col(double_null(Projects::Lng))
                    .col(uuid_null(Projects::WardId))
                    .col(boolean(Projects::AreaWide))
                    .col(text(Projects::Beneficiaries))
                    .col(small_integer_null(Projects::MinAge))
                    .col(small_integer_null(Projects::MaxAge))
                    .col(json(Projects::Languages))
                    .col(json(Projects::WeeklySchedule))
                    .col(date_null(Projects::StartDate))
                    .col(date_null(Projects::EndDate))
                    .col(string(Projects::Status))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::WardId)
                            .to(Wards::Table, Wards::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // An organisation's projects newest first (Organisation.projects), a ward's, and the listing's order.
        for (name, column) in
            [("idx_projects_organisation", Projects::OrganisationId), ("idx_projects_ward", Projects::WardId)]
        {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Projects::Table)
                        .col(column)
                        .col(Projects::CreatedAt)
                        .col(Projects::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_created")
                    .table(Projects::Table)
                    .col(Projects::CreatedAt)
                    .col(Projects::Id)
                    .to_owned(),
            )
            .await?;
        for (table, owner, owner_table) in [
            (Ties::ProjectPriorities, Ties::ProjectId, Projects::Table.into_iden()),
            (Ties::NeedPriorities, Ties::NeedId, Needs::Table.into_iden()),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .if_not_exists()
                        .col(uuid(owner))
                        .col(uuid(Ties::PriorityId))
                        .col(timestamp_with_time_zone(Ties::CreatedAt))
                        .primary_key(Index::create().col(owner).col(Ties::PriorityId))
                        .foreign_key(
                            ForeignKey::create()
                                .from(table, owner)
                                .to(owner_table, Alias::new("id"))
                                .on_delete(ForeignKeyAction::Cascade),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from(table, Ties::PriorityId)
                                .to(Priorities::Table, Priorities::Id)
                                .on_delete(ForeignKeyAction::Cascade),
                        )
                        .to_owned(),
                )
                .await?;
            // A priority's projects or needs (Priority.projects, Priority.needs, the listing's priorityIds filter).
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{}_priority", table.to_string()))
                        .table(table)
                        .col(Ties::PriorityId)
                        .col(owner)
                        .to_owned(),
                )
                .await?;
        }
        // A need's project. No foreign key: SQLite cannot add one to a table that exists. Projects are never
        // deleted alone (only with their organisation, which takes its needs with it), so none can dangle.
        manager
            .alter_table(Table::alter().table(Needs::Table).add_column(uuid_null(NeedProject::ProjectId)).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_needs_project")
                    .table(Needs::Table)
                    .col(NeedProject::ProjectId)
                    .col(Needs::CreatedAt)
                    .col(Needs::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_needs_project").table(Needs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Needs::Table).drop_column(NeedProject::ProjectId).to_owned()).await?;
        manager.drop_table(Table::drop().table(Ties::NeedPriorities).to_owned()).await?;
        manager.drop_table(Table::drop().table(Ties::ProjectPriorities).to_owned()).await?;
        manager.drop_table(Table::drop().table(Projects::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Projects {
    Table,
    Id,
    OrganisationId,
    Title,
    Summary,
    Description,
    Category,
    Postcode,
    Lat,
    Lng,
    WardId,
    AreaWide,
    Beneficiaries,
    MinAge,
    MaxAge,
    Languages,
    WeeklySchedule,
    StartDate,
    EndDate,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ties {
    ProjectPriorities,
    NeedPriorities,
    ProjectId,
    NeedId,
    PriorityId,
    CreatedAt,
}

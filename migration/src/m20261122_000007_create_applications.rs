use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .if_not_exists()
                    .col(pk_uuid(Applications::Id))
                    .col(uuid(Applications::NeedId))
                    .col(uuid(Applications::VolunteerId))
                    .col(text(Applications::Message))
                    .col(string(Applications::Status))
                    .col(timestamp_with_time_zone_null(Applications::AppliedAt))
                    .col(timestamp_with_time_zone_null(Applications::InvitedAt))
                    .col(timestamp_with_time_zone_null(Applications::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Applications::DeclinedAt))
                    .col(timestamp_with_time_zone_null(Applications::WithdrawnAt))
                    .col(timestamp_with_time_zone_null(Applications::CompletedAt))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .col(timestamp_with_time_zone(Applications::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Applications::Table, Applications::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Applications::Table, Applications::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One application per (need, volunteer); also serves "applications of a need, newest first".
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_need_volunteer")
                    .table(Applications::Table)
                    .col(Applications::NeedId)
                    .col(Applications::VolunteerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_need_created")
                    .table(Applications::Table)
                    .col(Applications::NeedId)
                    .col(Applications::CreatedAt)
                    .col(Applications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_volunteer_created")
                    .table(Applications::Table)
                    .col(Applications::VolunteerId)
                    .col(Applications::CreatedAt)
                    .col(Applications::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Applications::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Applications {
    Table,
    Id,
    NeedId,
    VolunteerId,
    Message,
    Status,
    AppliedAt,
    InvitedAt,
    AcceptedAt,
    DeclinedAt,
    WithdrawnAt,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

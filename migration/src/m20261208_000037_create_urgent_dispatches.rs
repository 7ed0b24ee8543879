use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000007_create_applications::Applications;

/// Urgent dispatches: a need's volunteers asked in waves (`dispatchUrgentNeed`), and which invitations each wave
/// made. A dispatch's invitations hold no place: the first to accept take the places, the rest lapse. Also each
/// volunteer's own lower cap on invitations a week (`notificationPreferences.invitationsPerWeek`).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationPreferences::Table)
                    .add_column(integer_null(NotificationPreferences::InvitationsPerWeek))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UrgentDispatches::Table)
                    .if_not_exists()
                    .col(uuid(UrgentDispatches::Id).primary_key())
                    .col(uuid(UrgentDispatches::NeedId))
                    .col(uuid_null(UrgentDispatches::StartedBy))
                    .col(integer(UrgentDispatches::WaveSize))
                    .col(integer(UrgentDispatches::OfferMinutes))
                    .col(integer(UrgentDispatches::Waves))
                    .col(string(UrgentDispatches::Status))
                    .col(timestamp_with_time_zone(UrgentDispatches::CreatedAt))
                    .col(timestamp_with_time_zone(UrgentDispatches::UpdatedAt))
                    .col(timestamp_with_time_zone_null(UrgentDispatches::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UrgentDispatches::Table, UrgentDispatches::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_urgent_dispatches_need")
                    .table(UrgentDispatches::Table)
                    .col(UrgentDispatches::NeedId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_urgent_dispatches_status")
                    .table(UrgentDispatches::Table)
                    .col(UrgentDispatches::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DispatchInvitations::Table)
                    .if_not_exists()
                    .col(uuid(DispatchInvitations::DispatchId))
                    .col(uuid(DispatchInvitations::ApplicationId))
                    .col(integer(DispatchInvitations::Wave))
                    .col(timestamp_with_time_zone(DispatchInvitations::InvitedAt))
                    // A (need, volunteer) pair has one application row, reopened for each new invitation: a later
                    // dispatch may invite through the same row again.
                    .primary_key(
                        Index::create().col(DispatchInvitations::DispatchId).col(DispatchInvitations::ApplicationId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DispatchInvitations::Table, DispatchInvitations::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DispatchInvitations::Table, DispatchInvitations::DispatchId)
                            .to(UrgentDispatches::Table, UrgentDispatches::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dispatch_invitations_application")
                    .table(DispatchInvitations::Table)
                    .col(DispatchInvitations::ApplicationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DispatchInvitations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UrgentDispatches::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationPreferences::Table)
                    .drop_column(NotificationPreferences::InvitationsPerWeek)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum UrgentDispatches {
    Table,
    Id,
    NeedId,
    StartedBy,
    WaveSize,
    OfferMinutes,
    Waves,
    Status,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum DispatchInvitations {
    Table,
    ApplicationId,
    DispatchId,
    Wave,
    InvitedAt,
}

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    InvitationsPerWeek,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;

/// Notifications: an outbox of messages to people, written in the transaction of the change they tell of and sent
/// by email from every server; each person's preferences; and the scheduled jobs (reminders, digests, rechecks),
/// whose next run is kept here so that it survives restarts and is claimed by one server at a time.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(uuid(Notifications::Id).primary_key())
                    .col(uuid(Notifications::UserId))
                    .col(string(Notifications::Kind))
                    .col(text(Notifications::Payload))
                    // One reminder per person and session, one recheck notice per check and stage, however often
                    // a sweep runs or how many servers run it.
                    .col(string_null(Notifications::DedupeKey).unique_key())
                    .col(string(Notifications::Status))
                    .col(integer(Notifications::Attempts))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Notifications::ClaimedUntil))
                    .col(string_null(Notifications::LastError))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_due")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationPreferences::Table)
                    .if_not_exists()
                    .col(uuid(NotificationPreferences::UserId).primary_key())
                    .col(string(NotificationPreferences::DisabledKinds))
                    .col(integer_null(NotificationPreferences::WeeklyCap))
                    .col(timestamp_with_time_zone(NotificationPreferences::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationPreferences::Table, NotificationPreferences::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScheduledJobs::Table)
                    .if_not_exists()
                    .col(string(ScheduledJobs::Name).primary_key())
                    .col(timestamp_with_time_zone(ScheduledJobs::DueAt))
                    .col(timestamp_with_time_zone_null(ScheduledJobs::ClaimedUntil))
                    .col(timestamp_with_time_zone_null(ScheduledJobs::LastStartedAt))
                    .col(timestamp_with_time_zone_null(ScheduledJobs::LastFinishedAt))
                    .col(string_null(ScheduledJobs::LastError))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ScheduledJobs::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationPreferences::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Payload,
    DedupeKey,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    UserId,
    DisabledKinds,
    WeeklyCap,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScheduledJobs {
    Table,
    Name,
    DueAt,
    ClaimedUntil,
    LastStartedAt,
    LastFinishedAt,
    LastError,
}

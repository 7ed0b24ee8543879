use sea_orm_migration::{prelude::*, schema::*};

/// Who viewed or changed another person's personal data, and when. No foreign keys: the log outlives the accounts
/// and keys it names (an erased account's id stays, pointing at its anonymous tombstone).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(pk_uuid(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(uuid_null(AuditEvents::ActorApiKeyId))
                    .col(string(AuditEvents::Action))
                    .col(uuid_null(AuditEvents::SubjectUserId))
                    .col(string(AuditEvents::Fields))
                    .col(string(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_events_occurred", AuditEvents::OccurredAt),
            ("idx_audit_events_subject", AuditEvents::SubjectUserId),
            ("idx_audit_events_actor", AuditEvents::ActorUserId),
        ] {
            manager.create_index(Index::create().name(name).table(AuditEvents::Table).col(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    ActorUserId,
    ActorApiKeyId,
    Action,
    SubjectUserId,
    Fields,
    Detail,
}

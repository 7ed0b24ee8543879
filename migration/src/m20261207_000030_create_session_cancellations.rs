use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000004_create_needs::Needs;

/// A need's sessions are computed from its schedule; only their exceptions are stored: the sessions called off, by
/// their need and start, with why and by whom.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionCancellations::Table)
                    .if_not_exists()
                    .col(uuid(SessionCancellations::NeedId))
                    .col(timestamp_with_time_zone(SessionCancellations::StartsAt))
                    .col(text(SessionCancellations::Reason))
                    .col(uuid_null(SessionCancellations::CancelledBy))
                    .col(timestamp_with_time_zone(SessionCancellations::CancelledAt))
                    .primary_key(Index::create().col(SessionCancellations::NeedId).col(SessionCancellations::StartsAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionCancellations::Table, SessionCancellations::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionCancellations::Table, SessionCancellations::CancelledBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SessionCancellations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SessionCancellations {
    Table,
    NeedId,
    StartsAt,
    Reason,
    CancelledBy,
    CancelledAt,
}

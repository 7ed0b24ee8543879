use sea_orm_migration::{prelude::*, schema::*};

/// Live signals on the embedded SQLite: each change that subscriptions hear of, written in the change's own
/// transaction, read back in order by the one server process (`domain::live`). PostgreSQL carries them with
/// `NOTIFY` instead (delivered at commit, to every server), so there the table is not made.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(LiveSignals::Table)
                    .if_not_exists()
                    // SQLite runs one writer at a time, so ids become visible in the order they were given.
                    .col(big_integer(LiveSignals::Id).auto_increment().primary_key())
                    .col(string(LiveSignals::Signal))
                    .col(timestamp_with_time_zone(LiveSignals::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        manager.drop_table(Table::drop().table(LiveSignals::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum LiveSignals {
    Table,
    Id,
    Signal,
    CreatedAt,
}

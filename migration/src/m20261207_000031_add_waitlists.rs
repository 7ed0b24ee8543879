use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000007_create_applications::Applications;

/// Waitlists: when a need is full, applications wait in order of `waitlisted_at`; an offer from the waitlist that
/// lapses unanswered is stamped `expired_at`. A need may cap its waitlist (`waitlist_cap`; none: as many again as
/// its places).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Added {
    WaitlistedAt,
    ExpiredAt,
    WaitlistCap,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [Added::WaitlistedAt, Added::ExpiredAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Applications::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(Table::alter().table(Needs::Table).add_column(integer_null(Added::WaitlistCap)).to_owned())
            .await?;
        // The waitlist is read in order, first first: a need's waiting applications by their time.
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_waitlist")
                    .table(Applications::Table)
                    .col(Applications::NeedId)
                    .col(Applications::Status)
                    .col(Added::WaitlistedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_applications_waitlist").table(Applications::Table).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Needs::Table).drop_column(Added::WaitlistCap).to_owned()).await?;
        for column in [Added::ExpiredAt, Added::WaitlistedAt] {
            manager.alter_table(Table::alter().table(Applications::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

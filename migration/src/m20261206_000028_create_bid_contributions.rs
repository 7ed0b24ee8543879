use sea_orm_migration::{prelude::*, schema::*};

use super::m20261206_000026_create_funds::{Bids, Funds};

/// What each fund gives to an award: the bid's own fund, and the funds of others who pooled theirs (several ward
/// members funding one project). Each part is committed, paid and released on its own fund.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BidContributions::Table)
                    .if_not_exists()
                    .col(uuid(BidContributions::BidId))
                    .col(uuid(BidContributions::FundId))
                    .col(big_integer(BidContributions::AmountPence))
                    .col(big_integer(BidContributions::PaidPence))
                    .col(boolean(BidContributions::Committed))
                    .col(uuid_null(BidContributions::PledgedBy))
                    .col(timestamp_with_time_zone(BidContributions::CreatedAt))
                    .primary_key(Index::create().col(BidContributions::BidId).col(BidContributions::FundId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BidContributions::Table, BidContributions::BidId)
                            .to(Bids::Table, Bids::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BidContributions::Table, BidContributions::FundId)
                            .to(Funds::Table, Funds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bid_contributions_fund")
                    .table(BidContributions::Table)
                    .col(BidContributions::FundId)
                    .to_owned(),
            )
            .await?;
        // Awards made before pooling existed are their own fund's whole part.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO bid_contributions (bid_id, fund_id, amount_pence, paid_pence, committed, pledged_by, created_at) \
                 SELECT id, fund_id, amount_awarded, amount_paid, TRUE, decided_by, COALESCE(decided_at, created_at) \
                 FROM bids WHERE amount_awarded IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BidContributions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum BidContributions {
    Table,
    BidId,
    FundId,
    AmountPence,
    PaidPence,
    Committed,
    PledgedBy,
    CreatedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

/// A community partnership's priorities for a financial year, agreed on a date at a named workshop, with the
/// evidence behind them.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Priorities::Table)
                    .if_not_exists()
                    .col(pk_uuid(Priorities::Id))
                    .col(uuid(Priorities::PartnershipId))
                    .col(string(Priorities::FinancialYear))
                    .col(string(Priorities::Title))
                    .col(text(Priorities::Description))
                    .col(date(Priorities::AgreedOn))
                    .col(string(Priorities::Workshop))
                    .col(json(Priorities::Evidence))
                    .col(string(Priorities::Status))
                    .col(timestamp_with_time_zone(Priorities::CreatedAt))
                    .col(timestamp_with_time_zone(Priorities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Priorities::Table, Priorities::PartnershipId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A partnership's priorities, year by year, for the grouped loader.
        manager
            .create_index(
                Index::create()
                    .name("idx_priorities_partnership")
                    .table(Priorities::Table)
                    .col(Priorities::PartnershipId)
                    .col(Priorities::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Priorities::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Priorities {
    Table,
    Id,
    PartnershipId,
    FinancialYear,
    Title,
    Description,
    AgreedOn,
    Workshop,
    Evidence,
    Status,
    CreatedAt,
    UpdatedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000002_create_organisations::Organisations;
use super::m20261206_000025_create_projects::Projects;

/// Funds, the append-only ledger of their money, and the bids projects make to them, with a panel's deciders,
/// scores and declared interests.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Funds::Table)
                    .if_not_exists()
                    .col(pk_uuid(Funds::Id))
                    .col(uuid(Funds::OwnerId))
                    .col(string(Funds::Kind))
                    .col(string(Funds::Name))
                    .col(string(Funds::FinancialYear))
                    .col(uuid_null(Funds::HolderId))
                    .col(json(Funds::Rules))
                    .col(string(Funds::DecisionMode))
                    .col(integer(Funds::Quorum))
                    .col(boolean(Funds::RollsOver))
                    // The guard against overspending: changed only by conditional UPDATEs, in the same transaction
                    // as the ledger entry that explains the change (the ledger's sums must always agree with it).
                    .col(big_integer(Funds::AvailablePence))
                    .col(timestamp_with_time_zone(Funds::CreatedAt))
                    .col(timestamp_with_time_zone(Funds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Funds::Table, Funds::OwnerId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Funds::Table, Funds::HolderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_funds_owner_year")
                    .table(Funds::Table)
                    .col(Funds::OwnerId)
                    .col(Funds::FinancialYear)
                    .to_owned(),
            )
            .await?;
        // One ward budget per ward member per year.
        manager
            .create_index(
                Index::create()
                    .name("idx_funds_holder_year")
                    .table(Funds::Table)
                    .col(Funds::HolderId)
                    .col(Funds::Kind)
                    .col(Funds::FinancialYear)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FundDeciders::Table)
                    .if_not_exists()
                    .col(uuid(FundDeciders::FundId))
                    .col(uuid(FundDeciders::UserId))
                    .col(timestamp_with_time_zone(FundDeciders::CreatedAt))
                    .primary_key(Index::create().col(FundDeciders::FundId).col(FundDeciders::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FundDeciders::Table, FundDeciders::FundId)
                            .to(Funds::Table, Funds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FundDeciders::Table, FundDeciders::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Bids::Table)
                    .if_not_exists()
                    .col(pk_uuid(Bids::Id))
                    .col(uuid(Bids::FundId))
                    .col(uuid(Bids::ProjectId))
                    .col(uuid(Bids::OrganisationId))
                    .col(string(Bids::Title))
                    .col(text(Bids::Purpose))
                    .col(big_integer(Bids::AmountRequested))
                    .col(json(Bids::BudgetLines))
                    .col(json(Bids::PriorityIds))
                    .col(text(Bids::ExpectedOutcomes))
                    .col(json(Bids::MatchFunding))
                    .col(date_null(Bids::EventDate))
                    .col(string(Bids::Status))
                    .col(big_integer_null(Bids::AmountAwarded))
                    .col(big_integer(Bids::AmountPaid))
                    .col(text(Bids::Conditions))
                    .col(text(Bids::RejectionReason))
                    .col(uuid_null(Bids::DecidedBy))
                    .col(timestamp_with_time_zone_null(Bids::DecidedAt))
                    .col(timestamp_with_time_zone_null(Bids::SubmittedAt))
                    .col(json_null(Bids::Report))
                    .col(uuid_null(Bids::CreatedBy))
                    .col(timestamp_with_time_zone(Bids::CreatedAt))
                    .col(timestamp_with_time_zone(Bids::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bids::Table, Bids::FundId)
                            .to(Funds::Table, Funds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bids::Table, Bids::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bids::Table, Bids::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_bids_fund", Bids::FundId),
            ("idx_bids_project", Bids::ProjectId),
            ("idx_bids_organisation", Bids::OrganisationId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Bids::Table)
                        .col(column)
                        .col(Bids::CreatedAt)
                        .col(Bids::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(BidScores::Table)
                    .if_not_exists()
                    .col(uuid(BidScores::BidId))
                    .col(uuid(BidScores::UserId))
                    .col(json(BidScores::Scores))
                    .col(text(BidScores::Comment))
                    .col(timestamp_with_time_zone(BidScores::CreatedAt))
                    .primary_key(Index::create().col(BidScores::BidId).col(BidScores::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BidScores::Table, BidScores::BidId)
                            .to(Bids::Table, Bids::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BidInterests::Table)
                    .if_not_exists()
                    .col(uuid(BidInterests::BidId))
                    .col(uuid(BidInterests::UserId))
                    .col(text(BidInterests::Reason))
                    .col(timestamp_with_time_zone(BidInterests::CreatedAt))
                    .primary_key(Index::create().col(BidInterests::BidId).col(BidInterests::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BidInterests::Table, BidInterests::BidId)
                            .to(Bids::Table, Bids::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Append-only: no statement anywhere updates or deletes an entry. Actors are kept as ids (no foreign key),
        // so the ledger outlives an erased account, as the audit log does.
        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .if_not_exists()
                    .col(pk_uuid(LedgerEntries::Id))
                    .col(uuid(LedgerEntries::FundId))
                    .col(string(LedgerEntries::Kind))
                    .col(big_integer(LedgerEntries::AmountPence))
                    .col(uuid_null(LedgerEntries::BidId))
                    .col(uuid_null(LedgerEntries::ActorId))
                    .col(timestamp_with_time_zone(LedgerEntries::At))
                    .col(text(LedgerEntries::Memo))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LedgerEntries::Table, LedgerEntries::FundId)
                            .to(Funds::Table, Funds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_fund")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::FundId)
                    .col(LedgerEntries::At)
                    .col(LedgerEntries::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LedgerEntries::Table.into_iden(),
            BidInterests::Table.into_iden(),
            BidScores::Table.into_iden(),
            Bids::Table.into_iden(),
            FundDeciders::Table.into_iden(),
            Funds::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Funds {
    Table,
    Id,
    OwnerId,
    Kind,
    Name,
    FinancialYear,
    HolderId,
    Rules,
    DecisionMode,
    Quorum,
    RollsOver,
    AvailablePence,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FundDeciders {
    Table,
    FundId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Bids {
    Table,
    Id,
    FundId,
    ProjectId,
    OrganisationId,
    Title,
    Purpose,
    AmountRequested,
    BudgetLines,
    PriorityIds,
    ExpectedOutcomes,
    MatchFunding,
    EventDate,
    Status,
    AmountAwarded,
    AmountPaid,
    Conditions,
    RejectionReason,
    DecidedBy,
    DecidedAt,
    SubmittedAt,
    Report,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BidScores {
    Table,
    BidId,
    UserId,
    Scores,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BidInterests {
    Table,
    BidId,
    UserId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    FundId,
    Kind,
    AmountPence,
    BidId,
    ActorId,
    At,
    Memo,
}

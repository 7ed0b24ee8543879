use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000002_create_organisations::Organisations;
use super::m20261206_000025_create_projects::Projects;
use super::m20261206_000026_create_funds::Funds;

/// Crowdfunding: a project's campaigns, the pledges made to them (people's, and match funds' matching ones), the
/// match funds backing them, and the payment provider's events already applied (so a replay is refused).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .if_not_exists()
                    .col(pk_uuid(Campaigns::Id))
                    .col(uuid(Campaigns::ProjectId))
                    .col(uuid(Campaigns::OrganisationId))
                    .col(string(Campaigns::Title))
                    .col(text(Campaigns::Summary))
                    .col(big_integer(Campaigns::TargetPence))
                    .col(timestamp_with_time_zone(Campaigns::Deadline))
                    .col(string(Campaigns::Model))
                    .col(string(Campaigns::Status))
                    .col(uuid_null(Campaigns::CreatedBy))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Campaigns::LaunchedAt))
                    .col(timestamp_with_time_zone_null(Campaigns::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaigns::Table, Campaigns::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaigns::Table, Campaigns::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaigns::Table, Campaigns::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_campaigns_project")
                    .table(Campaigns::Table)
                    .col(Campaigns::ProjectId)
                    .to_owned(),
            )
            .await?;
        // The minute's sweep for live campaigns past their deadline.
        manager
            .create_index(
                Index::create()
                    .name("idx_campaigns_status_deadline")
                    .table(Campaigns::Table)
                    .col(Campaigns::Status)
                    .col(Campaigns::Deadline)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CampaignMatches::Table)
                    .if_not_exists()
                    .col(pk_uuid(CampaignMatches::Id))
                    .col(uuid(CampaignMatches::CampaignId))
                    .col(uuid(CampaignMatches::FundId))
                    // Hundredths: 100 is £1 matched for every £1 pledged.
                    .col(integer(CampaignMatches::RatioPercent))
                    .col(big_integer(CampaignMatches::CapPence))
                    // The guard against matching past the cap: changed only by conditional UPDATEs, in the same
                    // transaction as the matching pledge and its ledger entry.
                    .col(big_integer(CampaignMatches::MatchedPence))
                    .col(uuid_null(CampaignMatches::CreatedBy))
                    .col(timestamp_with_time_zone(CampaignMatches::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignMatches::Table, CampaignMatches::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignMatches::Table, CampaignMatches::FundId)
                            .to(Funds::Table, Funds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_campaign_matches_campaign_fund")
                    .table(CampaignMatches::Table)
                    .col(CampaignMatches::CampaignId)
                    .col(CampaignMatches::FundId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Pledges::Table)
                    .if_not_exists()
                    .col(pk_uuid(Pledges::Id))
                    .col(uuid(Pledges::CampaignId))
                    .col(uuid_null(Pledges::BackerId))
                    .col(uuid_null(Pledges::MatchId))
                    .col(uuid_null(Pledges::MatchesPledgeId))
                    .col(big_integer(Pledges::AmountPence))
                    .col(string(Pledges::DisplayName))
                    .col(boolean(Pledges::Anonymous))
                    .col(text(Pledges::Message))
                    .col(string(Pledges::Status))
                    .col(string(Pledges::Reference))
                    .col(string_null(Pledges::ProviderPaymentId))
                    .col(timestamp_with_time_zone(Pledges::CreatedAt))
                    .col(timestamp_with_time_zone(Pledges::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Pledges::PaidAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Pledges::Table, Pledges::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Pledges::Table, Pledges::BackerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Pledges::Table, Pledges::MatchId)
                            .to(CampaignMatches::Table, CampaignMatches::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pledges_campaign_created")
                    .table(Pledges::Table)
                    .col(Pledges::CampaignId)
                    .col(Pledges::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pledges_reference")
                    .table(Pledges::Table)
                    .col(Pledges::Reference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_pledges_backer").table(Pledges::Table).col(Pledges::BackerId).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pledges_matches")
                    .table(Pledges::Table)
                    .col(Pledges::MatchesPledgeId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PaymentEvents::Table)
                    .if_not_exists()
                    // The provider's message id (`webhook-id`): a second delivery of it is a replay.
                    .col(string(PaymentEvents::Id).primary_key())
                    .col(string(PaymentEvents::Kind))
                    .col(uuid_null(PaymentEvents::PledgeId))
                    .col(timestamp_with_time_zone(PaymentEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        // A match fund's commitments name the campaign they match, as awards name their bid.
        manager
            .alter_table(
                Table::alter().table(LedgerEntries::Table).add_column(uuid_null(LedgerEntries::CampaignId)).to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(LedgerEntries::Table).drop_column(LedgerEntries::CampaignId).to_owned())
            .await?;
        for table in [PaymentEvents::Table.into_iden(), Pledges::Table.into_iden(), CampaignMatches::Table.into_iden()]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Campaigns::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    ProjectId,
    OrganisationId,
    Title,
    Summary,
    TargetPence,
    Deadline,
    Model,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    LaunchedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum CampaignMatches {
    Table,
    Id,
    CampaignId,
    FundId,
    RatioPercent,
    CapPence,
    MatchedPence,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Pledges {
    Table,
    Id,
    CampaignId,
    BackerId,
    MatchId,
    MatchesPledgeId,
    AmountPence,
    DisplayName,
    Anonymous,
    Message,
    Status,
    Reference,
    ProviderPaymentId,
    CreatedAt,
    UpdatedAt,
    PaidAt,
}

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    Id,
    Kind,
    PledgeId,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    CampaignId,
}

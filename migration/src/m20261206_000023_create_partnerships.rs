use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000002_create_organisations::Organisations;
use super::m20261206_000022_create_wards::Wards;

/// Community partnerships: an organisation of kind COMMUNITY_PARTNERSHIP tied to its council, and the people who sit
/// on it, each representing someone (a ward, the police, youth, business…) with their votes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CommunityPartnerships::Table)
                    .if_not_exists()
                    .col(pk_uuid(CommunityPartnerships::OrganisationId))
                    .col(uuid(CommunityPartnerships::CouncilId))
                    .col(timestamp_with_time_zone(CommunityPartnerships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityPartnerships::Table, CommunityPartnerships::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityPartnerships::Table, CommunityPartnerships::CouncilId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_community_partnerships_council")
                    .table(CommunityPartnerships::Table)
                    .col(CommunityPartnerships::CouncilId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnershipMembers::Table)
                    .if_not_exists()
                    .col(pk_uuid(PartnershipMembers::Id))
                    .col(uuid(PartnershipMembers::PartnershipId))
                    .col(uuid(PartnershipMembers::UserId))
                    .col(string(PartnershipMembers::Role))
                    .col(uuid_null(PartnershipMembers::WardId))
                    .col(uuid_null(PartnershipMembers::OrganisationId))
                    .col(integer(PartnershipMembers::Votes))
                    .col(timestamp_with_time_zone(PartnershipMembers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnershipMembers::Table, PartnershipMembers::PartnershipId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnershipMembers::Table, PartnershipMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnershipMembers::Table, PartnershipMembers::WardId)
                            .to(Wards::Table, Wards::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnershipMembers::Table, PartnershipMembers::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // One seat a person on a partnership; the grouped loader reads a partnership's members by this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_partnership_members_person")
                    .table(PartnershipMembers::Table)
                    .col(PartnershipMembers::PartnershipId)
                    .col(PartnershipMembers::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PartnershipMembers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CommunityPartnerships::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum CommunityPartnerships {
    Table,
    OrganisationId,
    CouncilId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum PartnershipMembers {
    Table,
    Id,
    PartnershipId,
    UserId,
    Role,
    WardId,
    OrganisationId,
    Votes,
    CreatedAt,
}

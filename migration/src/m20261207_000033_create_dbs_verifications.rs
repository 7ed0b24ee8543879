use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000002_create_organisations::Organisations;
use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// DBS checks verified by an organisation: who saw the certificate (or checked the Update Service), when and how,
/// at what level; never the certificate's content. A need may require one (`safeguarding_verified`).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Added {
    SafeguardingVerified,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Needs::Table)
                    .add_column(boolean(Added::SafeguardingVerified).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DbsVerifications::Table)
                    .if_not_exists()
                    .col(uuid(DbsVerifications::Id).primary_key())
                    .col(uuid(DbsVerifications::VolunteerId))
                    .col(uuid(DbsVerifications::OrganisationId))
                    .col(uuid_null(DbsVerifications::VerifiedBy))
                    .col(string(DbsVerifications::Level))
                    .col(date(DbsVerifications::CheckedOn))
                    .col(string(DbsVerifications::Method))
                    .col(timestamp_with_time_zone(DbsVerifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DbsVerifications::Table, DbsVerifications::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DbsVerifications::Table, DbsVerifications::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DbsVerifications::Table, DbsVerifications::VerifiedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Read by organisation (who it has verified) and by volunteer (their verifications).
        manager
            .create_index(
                Index::create()
                    .name("idx_dbs_verifications_organisation")
                    .table(DbsVerifications::Table)
                    .col(DbsVerifications::OrganisationId)
                    .col(DbsVerifications::VolunteerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dbs_verifications_volunteer")
                    .table(DbsVerifications::Table)
                    .col(DbsVerifications::VolunteerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DbsVerifications::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Needs::Table).drop_column(Added::SafeguardingVerified).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DbsVerifications {
    Table,
    Id,
    VolunteerId,
    OrganisationId,
    VerifiedBy,
    Level,
    CheckedOn,
    Method,
    CreatedAt,
}

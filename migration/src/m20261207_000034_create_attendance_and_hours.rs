use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000002_create_organisations::Organisations;
use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;
use super::m20261122_000007_create_applications::Applications;

/// Attendance at sessions (a volunteer's check-in and check-out, or a coordinator's record) and hours: logged by the
/// volunteer or proposed by a check-out, approved or rejected by the organisation.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attendances::Table)
                    .if_not_exists()
                    .col(uuid(Attendances::NeedId))
                    .col(timestamp_with_time_zone(Attendances::StartsAt))
                    .col(uuid(Attendances::VolunteerId))
                    .col(string(Attendances::Status))
                    .col(timestamp_with_time_zone_null(Attendances::CheckedInAt))
                    .col(timestamp_with_time_zone_null(Attendances::CheckedOutAt))
                    .col(uuid_null(Attendances::RecordedBy))
                    .col(timestamp_with_time_zone(Attendances::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Attendances::NeedId)
                            .col(Attendances::StartsAt)
                            .col(Attendances::VolunteerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attendances::Table, Attendances::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attendances::Table, Attendances::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attendances::Table, Attendances::RecordedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoursEntries::Table)
                    .if_not_exists()
                    .col(uuid(HoursEntries::Id).primary_key())
                    .col(uuid(HoursEntries::ApplicationId))
                    .col(uuid(HoursEntries::VolunteerId))
                    .col(uuid(HoursEntries::NeedId))
                    .col(uuid(HoursEntries::OrganisationId))
                    .col(date(HoursEntries::WorkedOn))
                    .col(integer(HoursEntries::Minutes))
                    .col(text(HoursEntries::Note))
                    .col(string(HoursEntries::Status))
                    .col(string(HoursEntries::Source))
                    .col(timestamp_with_time_zone_null(HoursEntries::SessionStartsAt))
                    .col(text_null(HoursEntries::RejectionReason))
                    .col(uuid_null(HoursEntries::DecidedBy))
                    .col(timestamp_with_time_zone_null(HoursEntries::DecidedAt))
                    .col(timestamp_with_time_zone(HoursEntries::CreatedAt))
                    .col(timestamp_with_time_zone(HoursEntries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(HoursEntries::Table, HoursEntries::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(HoursEntries::Table, HoursEntries::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(HoursEntries::Table, HoursEntries::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(HoursEntries::Table, HoursEntries::DecidedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Totals are read by volunteer, and by organisation over a span of days; a session's proposal once.
        for (name, columns) in [
            ("idx_hours_entries_volunteer", vec![HoursEntries::VolunteerId, HoursEntries::WorkedOn]),
            ("idx_hours_entries_organisation", vec![HoursEntries::OrganisationId, HoursEntries::WorkedOn]),
        ] {
            let mut index = Index::create().name(name).table(HoursEntries::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_hours_entries_session")
                    .table(HoursEntries::Table)
                    .col(HoursEntries::ApplicationId)
                    .col(HoursEntries::SessionStartsAt)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(HoursEntries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Attendances::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Attendances {
    Table,
    NeedId,
    StartsAt,
    VolunteerId,
    Status,
    CheckedInAt,
    CheckedOutAt,
    RecordedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum HoursEntries {
    Table,
    Id,
    ApplicationId,
    VolunteerId,
    NeedId,
    OrganisationId,
    WorkedOn,
    Minutes,
    Note,
    Status,
    Source,
    SessionStartsAt,
    RejectionReason,
    DecidedBy,
    DecidedAt,
    CreatedAt,
    UpdatedAt,
}

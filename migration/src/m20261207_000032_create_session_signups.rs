use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// Sign-ups per session: a need may take its accepted volunteers session by session (`signup_mode` PER_SESSION, up
/// to `session_capacity` a session; none: its places) rather than for all its sessions (ONGOING, as before).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Added {
    SignupMode,
    SessionCapacity,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Needs::Table).add_column(string(Added::SignupMode).default("ONGOING")).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Needs::Table).add_column(integer_null(Added::SessionCapacity)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionSignups::Table)
                    .if_not_exists()
                    .col(uuid(SessionSignups::NeedId))
                    .col(timestamp_with_time_zone(SessionSignups::StartsAt))
                    .col(uuid(SessionSignups::VolunteerId))
                    .col(timestamp_with_time_zone(SessionSignups::SignedUpAt))
                    .primary_key(
                        Index::create()
                            .col(SessionSignups::NeedId)
                            .col(SessionSignups::StartsAt)
                            .col(SessionSignups::VolunteerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSignups::Table, SessionSignups::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSignups::Table, SessionSignups::VolunteerId)
                            .to(VolunteerProfiles::Table, VolunteerProfiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A volunteer's coming sessions are read by volunteer and start.
        manager
            .create_index(
                Index::create()
                    .name("idx_session_signups_volunteer")
                    .table(SessionSignups::Table)
                    .col(SessionSignups::VolunteerId)
                    .col(SessionSignups::StartsAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SessionSignups::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Needs::Table).drop_column(Added::SessionCapacity).to_owned()).await?;
        manager.alter_table(Table::alter().table(Needs::Table).drop_column(Added::SignupMode).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SessionSignups {
    Table,
    NeedId,
    StartsAt,
    VolunteerId,
    SignedUpAt,
}

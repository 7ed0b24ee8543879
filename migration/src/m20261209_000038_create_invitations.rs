use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000004_create_needs::Needs;
use super::m20261122_000007_create_applications::Applications;

/// Every invitation ever made, one row each. An application row is reopened for each new invitation of the same
/// (need, volunteer) pair, overwriting its `invited_at`, so counting applications under-counts: the weekly caps and
/// `Organisation.outreach` count here. Invitations made before this table existed are kept as far as they are known:
/// each application's latest, and every urgent dispatch's.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .if_not_exists()
                    .col(uuid(Invitations::ApplicationId))
                    .col(timestamp_with_time_zone(Invitations::InvitedAt))
                    .col(uuid(Invitations::VolunteerId))
                    .col(uuid(Invitations::NeedId))
                    // One application is invited at most once at one instant.
                    .primary_key(Index::create().col(Invitations::ApplicationId).col(Invitations::InvitedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::NeedId)
                            .to(Needs::Table, Needs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A volunteer's week of invitations (the caps), and an organisation's (outreach, through its needs).
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_volunteer_at")
                    .table(Invitations::Table)
                    .col(Invitations::VolunteerId)
                    .col(Invitations::InvitedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_need")
                    .table(Invitations::Table)
                    .col(Invitations::NeedId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO invitations (application_id, invited_at, volunteer_id, need_id) \
                 SELECT id, invited_at, volunteer_id, need_id FROM applications WHERE invited_at IS NOT NULL \
                 UNION SELECT d.application_id, d.invited_at, a.volunteer_id, a.need_id \
                 FROM dispatch_invitations d JOIN applications a ON a.id = d.application_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    ApplicationId,
    InvitedAt,
    VolunteerId,
    NeedId,
}

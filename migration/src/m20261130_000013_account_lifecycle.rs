use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000001_create_users::Users;
use super::m20261122_000005_create_volunteer_profiles::VolunteerProfiles;

/// What an account's life needs beyond sign-in: email verification (and its one-time tokens), erasure
/// (`deleted_at` on the account and its volunteer profile, which stay as anonymous tombstones so organisations'
/// histories keep their counts), and `sessions_valid_from`, before which no access token of the user is accepted
/// (so signing out everywhere, a password change or erasure also ends the access tokens already issued).
///
/// Accounts made before verification existed are counted as verified: they had no way to verify, and the
/// retention rule for stale unverified accounts must not erase them.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [Lifecycle::EmailVerifiedAt, Lifecycle::DeletedAt, Lifecycle::SessionsValidFrom] {
            manager
                .alter_table(
                    Table::alter().table(Users::Table).add_column(timestamp_with_time_zone_null(column)).to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(VolunteerProfiles::Table)
                    .add_column(timestamp_with_time_zone_null(Alias::new("deleted_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Users::Table)
                    .value(Lifecycle::EmailVerifiedAt, Expr::col(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_unverified")
                    .table(Users::Table)
                    .col(Lifecycle::EmailVerifiedAt)
                    .col(Users::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailVerifications::Table)
                    .if_not_exists()
                    .col(pk_uuid(EmailVerifications::Id))
                    .col(uuid(EmailVerifications::UserId))
                    .col(string_uniq(EmailVerifications::TokenHash))
                    .col(timestamp_with_time_zone(EmailVerifications::CreatedAt))
                    .col(timestamp_with_time_zone(EmailVerifications::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailVerifications::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailVerifications::Table, EmailVerifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_verifications_user")
                    .table(EmailVerifications::Table)
                    .col(EmailVerifications::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EmailVerifications::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_users_unverified").table(Users::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(VolunteerProfiles::Table).drop_column(Alias::new("deleted_at")).to_owned(),
            )
            .await?;
        for column in [Lifecycle::EmailVerifiedAt, Lifecycle::DeletedAt, Lifecycle::SessionsValidFrom] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

/// The users table's new columns.
#[derive(DeriveIden)]
enum Lifecycle {
    EmailVerifiedAt,
    DeletedAt,
    SessionsValidFrom,
}

#[derive(DeriveIden)]
pub enum EmailVerifications {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

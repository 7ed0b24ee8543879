use sea_orm_migration::{prelude::*, schema::*};

use super::m20261130_000014_create_api_keys::ApiKeys;

/// What partners get back: per API key and day, widget views, "I can help" clicks, and applications that came
/// through the partner's links. Counts only.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartnerDays::Table)
                    .if_not_exists()
                    .col(uuid(PartnerDays::ApiKeyId))
                    .col(date(PartnerDays::Day))
                    .col(big_integer(PartnerDays::WidgetViews).default(0))
                    .col(big_integer(PartnerDays::Clicks).default(0))
                    .col(big_integer(PartnerDays::Applications).default(0))
                    .primary_key(Index::create().col(PartnerDays::ApiKeyId).col(PartnerDays::Day))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerDays::Table, PartnerDays::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PartnerDays::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum PartnerDays {
    Table,
    ApiKeyId,
    Day,
    WidgetViews,
    Clicks,
    Applications,
}

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261122_000002_create_organisations::Organisations;

/// Council wards: their ONS GSS code, name, council and community partnership (both organisations), population and
/// Index of Multiple Deprivation decile (1 = most deprived), and whether those figures are illustrative.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Wards::Table)
                    .if_not_exists()
                    .col(pk_uuid(Wards::Id))
                    .col(string_uniq(Wards::GssCode))
                    .col(string(Wards::Name))
                    .col(uuid(Wards::CouncilId))
                    .col(uuid_null(Wards::PartnershipId))
                    .col(big_integer_null(Wards::Population))
                    .col(small_integer_null(Wards::ImdDecile))
                    .col(boolean(Wards::FiguresIllustrative).default(false))
                    .col(timestamp_with_time_zone(Wards::CreatedAt))
                    .col(timestamp_with_time_zone(Wards::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Wards::Table, Wards::CouncilId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Wards::Table, Wards::PartnershipId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // A council's wards and a partnership's, each in name order.
        for (name, column) in [("idx_wards_council", Wards::CouncilId), ("idx_wards_partnership", Wards::PartnershipId)]
        {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Wards::Table)
                        .col(column)
                        .col(Wards::Name)
                        .col(Wards::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Wards::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Wards {
    Table,
    Id,
    GssCode,
    Name,
    CouncilId,
    PartnershipId,
    Population,
    ImdDecile,
    FiguresIllustrative,
    CreatedAt,
    UpdatedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .if_not_exists()
                    .col(pk_uuid(Organisations::Id))
                    .col(string(Organisations::Slug).unique_key())
                    .col(string(Organisations::Name))
                    .col(string(Organisations::Kind))
                    .col(text(Organisations::Description))
                    .col(string_null(Organisations::Website))
                    .col(string_null(Organisations::ContactEmail))
                    .col(string_null(Organisations::Postcode))
                    .col(double_null(Organisations::Lat))
                    .col(double_null(Organisations::Lng))
                    .col(boolean(Organisations::Verified))
                    .col(timestamp_with_time_zone(Organisations::CreatedAt))
                    .col(timestamp_with_time_zone(Organisations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organisations_created")
                    .table(Organisations::Table)
                    .col(Organisations::CreatedAt)
                    .col(Organisations::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Organisations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Organisations {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    Description,
    Website,
    ContactEmail,
    Postcode,
    Lat,
    Lng,
    Verified,
    CreatedAt,
    UpdatedAt,
}

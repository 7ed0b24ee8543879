use sea_orm::entity::prelude::*;

/// A community partnership's priority for a financial year ("loneliness among older residents").
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "priorities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The partnership (an organisation of kind COMMUNITY_PARTNERSHIP).
    pub partnership_id: Uuid,
    /// The UK financial year it is for, "2026-27".
    pub financial_year: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// The day it was agreed.
    pub agreed_on: Date,
    /// The workshop that agreed it.
    pub workshop: String,
    /// `[{kind: DATA | LOCAL_INSIGHT | CONSULTATION, summary, url}]`
    pub evidence: Json,
    /// ACTIVE | MET | RETIRED
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A session of a need called off: the need and the session's start identify it (sessions themselves are computed
/// from the need's schedule, never stored).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_cancellations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub starts_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

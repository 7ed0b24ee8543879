use sea_orm::entity::prelude::*;

/// Whether a volunteer came to one session of a need: their own check-in (and check-out), or a coordinator's record.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub starts_at: DateTimeUtc,
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: Uuid,
    /// ATTENDED | ABSENT
    pub status: String,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checked_out_at: Option<DateTimeUtc>,
    /// The coordinator who recorded it; `None` when the volunteer checked in themselves.
    pub recorded_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

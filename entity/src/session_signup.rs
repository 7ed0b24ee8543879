use sea_orm::entity::prelude::*;

/// A volunteer signed up for one session of a need that takes sign-ups per session; a session is its need and its
/// start.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_signups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub starts_at: DateTimeUtc,
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: Uuid,
    pub signed_up_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A need's volunteers asked in waves (`dispatchUrgentNeed`): the next wave goes when the last one's invitations
/// have all lapsed or been declined, until the need's places are filled or nobody eligible is left.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "urgent_dispatches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub need_id: Uuid,
    pub started_by: Option<Uuid>,
    /// Invitations a wave (5 by default).
    pub wave_size: i32,
    /// How long each invitation stays open.
    pub offer_minutes: i32,
    /// Waves sent so far.
    pub waves: i32,
    /// ACTIVE, FILLED, EXHAUSTED (nobody eligible left) or STOPPED (the need closed).
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

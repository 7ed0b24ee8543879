use sea_orm::entity::prelude::*;

/// Time a volunteer gave on one day, on one need: logged by them (or proposed by their check-out), approved or
/// rejected by the need's organisation.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hours_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub volunteer_id: Uuid,
    pub need_id: Uuid,
    /// The need's organisation, kept here for its totals.
    pub organisation_id: Uuid,
    pub worked_on: Date,
    pub minutes: i32,
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// PENDING | APPROVED | REJECTED
    pub status: String,
    /// LOGGED (by the volunteer) | CHECK_OUT (proposed by a check-out) | RECORDED (by a coordinator's attendance)
    pub source: String,
    /// The session it is for, when it came from one.
    pub session_starts_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rejection_reason: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

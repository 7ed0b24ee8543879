use sea_orm::entity::prelude::*;

/// A volunteer's application to a need; one per (need, volunteer).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub need_id: Uuid,
    pub volunteer_id: Uuid,
    pub message: String,
    /// APPLIED | WAITLISTED | INVITED | ACCEPTED | DECLINED | WITHDRAWN | EXPIRED | COMPLETED
    pub status: String,
    pub applied_at: Option<DateTimeUtc>,
    pub invited_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub declined_at: Option<DateTimeUtc>,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When it joined its need's waitlist: the waitlist's order (then `id`). Kept while an offer from the waitlist
    /// is open, which is how such an offer is told from an organisation's invitation.
    pub waitlisted_at: Option<DateTimeUtc>,
    /// When an offer from the waitlist lapsed unanswered.
    pub expired_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

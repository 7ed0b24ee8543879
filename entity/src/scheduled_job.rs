use sea_orm::entity::prelude::*;

/// A recurring job (reminders, digests, rechecks) and when it next runs. A server runs it only after claiming it
/// (one conditional update), so it runs once however many servers there are; a run that dies is taken up again
/// when its claim lapses.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduled_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub due_at: DateTimeUtc,
    pub claimed_until: Option<DateTimeUtc>,
    /// When the last run that succeeded started (a failed run leaves it, so its span is swept again).
    pub last_started_at: Option<DateTimeUtc>,
    pub last_finished_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}

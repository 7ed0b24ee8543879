use sea_orm::entity::prelude::*;

/// What a person chose to hear: the kinds turned off and at most how many messages a week. No row: everything on,
/// no cap.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The kinds turned off, as `,KIND,KIND,` (so one is found with LIKE '%,KIND,%').
    pub disabled_kinds: String,
    pub weekly_cap: Option<i32>,
    /// At most this many invitations in any seven days, below the platform's cap; `None`: the platform's cap.
    pub invitations_per_week: Option<i32>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

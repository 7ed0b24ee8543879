use sea_orm::entity::prelude::*;

/// An invitation a dispatch's wave made. It holds no place: the first to accept take the places. Its application
/// row may later be reopened by another route (a waitlist offer, a plan): the invitation is the dispatch's only while
/// the application's `invited_at` is still this one's.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispatch_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dispatch_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: Uuid,
    pub wave: i32,
    pub invited_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

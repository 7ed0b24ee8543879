use sea_orm::entity::prelude::*;

/// A person who can sign in. `email` is stored lower-cased so uniqueness is case-insensitive.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    /// MEMBER | ADMIN
    pub role: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the owner proved they receive mail at `email`; null until then.
    pub email_verified_at: Option<DateTimeUtc>,
    /// Set when the account was erased: the row stays as an anonymous tombstone with no personal data.
    pub deleted_at: Option<DateTimeUtc>,
    /// Access tokens issued before this are refused (signing out everywhere, a new password, erasure).
    pub sessions_valid_from: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

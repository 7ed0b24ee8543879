use sea_orm::entity::prelude::*;

/// A partner's API key. Only its SHA-256 is stored; `key_prefix` (the key's first characters) lets people tell
/// keys apart without holding the key.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub key_prefix: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    /// Comma-separated scope names (see the API's `ApiKeyScope`).
    pub scopes: String,
    /// The organisation whose matches the key may read (with that scope).
    pub organisation_id: Option<Uuid>,
    pub rate_limit_per_minute: i32,
    /// The platform admin who issued it; null when issued from the command line.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// Comma-separated origins that may frame the partner's widget; empty: any site.
    pub allowed_origins: String,
    /// The partner's own page for applying to a need (`{needId}` stands for the need's id).
    pub apply_url: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}

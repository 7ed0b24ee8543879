use sea_orm::entity::prelude::*;

/// A mutation request sent with an `Idempotency-Key` header, and its response once it has one; one row per
/// (principal, key). Rows older than a day are forgotten.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who sent it: `user:<id>`, or `anonymous` (then the request hash, which covers the whole request, binds it).
    pub principal: String,
    pub key: String,
    /// SHA-256 of the principal, operation name, query and variables, hex.
    pub request_hash: String,
    /// The response JSON, once the request has finished without errors; null while it runs.
    pub response: Option<String>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

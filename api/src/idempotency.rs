//! Idempotency keys: a mutation sent again with the same `Idempotency-Key` header (a mobile app retrying after a
//! lost response) gets the first response back instead of running twice.
//!
//! The first request claims the key with an insert that a unique index guards, so of two racing retries one runs
//! and the other is told to retry shortly. A request that ends with errors gives its key back, so a retry after a
//! failure (the database away, say) runs again. A claimed request runs to its end even if its client goes away,
//! and a claim left without an answer by a server that died is taken over once the request's time is long past. Keys
//! are kept for a day, per signed-in user (or, for anonymous callers such as `register`, bound by the request's hash,
//! which covers the whole request).
//!
//! Neither the key nor the response is stored as sent: the row holds a SHA-256 of the key, and the response sealed
//! (AES-256-GCM) under a second hash of the key. A stored `register` or `login` response holds live tokens; whoever
//! reads the database without the client's key (a random UUID, say) cannot read them.
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::TimeDelta;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use entity::idempotency_key;

pub const HEADER: &str = "idempotency-key";
/// How long a key and its response are kept.
pub const KEEP: TimeDelta = TimeDelta::hours(24);
const MAX_KEY_LEN: usize = 255;

/// A mutation request that carries a key.
pub struct Keyed {
    principal: String,
    /// What is stored of the key: its hash.
    key: String,
    hash: String,
    pub seal: Seal,
}

/// Seals and opens one key's stored response.
#[derive(Clone, Copy)]
pub struct Seal([u8; 32]);

impl Seal {
    fn of(key: &str) -> Self {
        Self(
            Sha256::new().chain_update(b"pitchin idempotent response\0").chain_update(key.as_bytes()).finalize().into(),
        )
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }

    fn close(&self, response: &str) -> AppResult<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self.cipher().encrypt(&nonce, response.as_bytes()).map_err(|_| AppError::internal("sealing"))?;
        Ok(STANDARD.encode([&nonce[..], &sealed].concat()))
    }

    fn open(&self, stored: &str) -> AppResult<String> {
        let bytes = STANDARD.decode(stored).map_err(AppError::internal)?;
        let (nonce, sealed) = bytes.split_at_checked(12).ok_or_else(|| AppError::internal("too short to be sealed"))?;
        let nonce: [u8; 12] = nonce.try_into().map_err(AppError::internal)?;
        let plain = self
            .cipher()
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| AppError::internal("a stored response that does not open with its key"))?;
        String::from_utf8(plain).map_err(AppError::internal)
    }
}

/// What is stored of an `Idempotency-Key`: a hash of it.
pub fn stored_key(key: &str) -> String {
    hex(Sha256::new().chain_update(b"pitchin idempotency key\0").chain_update(key.as_bytes()).finalize())
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

pub enum Claim {
    /// The first time: run it, then `finish` or `abandon` the claim (this row).
    Run(Uuid),
    /// Done before: the response it gave, as JSON.
    Replay(String),
}

/// The key of a mutation request, if it has one; `None` for requests without the header and for queries (which
/// are safe to repeat and are not stored).
pub fn keyed(raw: Option<&str>, viewer: &Viewer, request: &mut async_graphql::Request) -> AppResult<Option<Keyed>> {
    let Some(raw) = raw else { return Ok(None) };
    let key = raw.trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::bad_input("Idempotency-Key", "must be 1 to 255 visible ASCII characters, e.g. a UUID"));
    }
    if !is_mutation(request)? {
        return Ok(None);
    }
    let principal = viewer.user_id().map_or_else(|| "anonymous".to_owned(), |id| format!("user:{id}"));
    let seal = Seal::of(key);
    // Keyed by the client's key: the request (a password, for `login` or `register`) cannot be guessed offline
    // against the stored hash without it.
    let mut digest = Sha256::new();
    digest.update(seal.0);
    for part in [
        principal.as_str(),
        request.operation_name.as_deref().unwrap_or(""),
        request.query.as_str(),
        &serde_json::to_string(&request.variables).unwrap_or_default(),
    ] {
        digest.update(part.as_bytes());
        digest.update([0u8]);
    }
    let hash = hex(digest.finalize());
    Ok(Some(Keyed { principal, key: stored_key(key), hash, seal }))
}

/// Whether the request runs a mutation. A keyed one may hold one mutation field only: with two, the first could
/// commit and the second fail, and a retry (the claim given back, as for any answer with errors) would run the
/// first again.
fn is_mutation(request: &mut async_graphql::Request) -> AppResult<bool> {
    use async_graphql::parser::types::OperationType;
    let operation_name = request.operation_name.clone();
    // A document that does not parse is refused when it runs; nothing to store.
    let Ok(document) = request.parsed_query() else { return Ok(false) };
    let chosen = document.operations.iter().find(|(name, operation)| {
        operation.node.ty == OperationType::Mutation
            && (operation_name.is_none() || name.map(|n| n.as_str()) == operation_name.as_deref())
    });
    let Some((_, operation)) = chosen else { return Ok(false) };
    // Fragments nested too deeply to count the fields are refused as well (the schema would refuse them anyway).
    let mutations = crate::kit::root_fields(document, &operation.node.selection_set.node)
        .map_or(usize::MAX, |fields| fields.iter().filter(|f| **f != "__typename").count());
    if mutations > 1 {
        return Err(AppError::bad_input(
            "Idempotency-Key",
            "a request with an Idempotency-Key runs one mutation: send each in a request of its own",
        ));
    }
    Ok(true)
}

/// Claims the key for this request, or finds what an earlier request with it did. A claim still without a
/// response after `request_timeout` (and a minute's grace) belonged to a server that died mid-request: it is
/// taken over.
pub async fn claim(db: &impl ConnectionTrait, keyed: &Keyed, request_timeout: std::time::Duration) -> AppResult<Claim> {
    let grace = TimeDelta::from_std(request_timeout).ok().and_then(|t| t.checked_add(&TimeDelta::minutes(1)));
    let abandoned_before = grace.and_then(|g| crate::now().checked_sub_signed(g));
    use idempotency_key::Column as C;
    // Twice at most: once more after clearing an expired claim of the same key.
    for _ in 0..2 {
        let id = Uuid::now_v7();
        let row = idempotency_key::ActiveModel {
            id: Set(id),
            principal: Set(keyed.principal.clone()),
            key: Set(keyed.key.clone()),
            request_hash: Set(keyed.hash.clone()),
            response: Set(None),
            created_at: Set(crate::now()),
        };
        match row.insert(db).await {
            Ok(_) => return Ok(Claim::Run(id)),
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(err) => return Err(err.into()),
        }
        let Some(earlier) = idempotency_key::Entity::find()
            .filter(C::Principal.eq(keyed.principal.as_str()))
            .filter(C::Key.eq(keyed.key.as_str()))
            .one(db)
            .await?
        else {
            continue; // given back in between: claim it again
        };
        let expired = earlier.created_at < crate::now() - KEEP;
        let abandoned =
            earlier.response.is_none() && abandoned_before.is_some_and(|before| earlier.created_at < before);
        if expired || abandoned {
            idempotency_key::Entity::delete_by_id(earlier.id).exec(db).await?;
            continue;
        }
        if earlier.request_hash != keyed.hash {
            return Err(AppError::bad_input("Idempotency-Key", "was already used for a different request"));
        }
        return match earlier.response {
            Some(response) => Ok(Claim::Replay(keyed.seal.open(&response)?)),
            None => Err(AppError::conflict("a request with this Idempotency-Key is still running; retry shortly")),
        };
    }
    Err(AppError::conflict("a request with this Idempotency-Key is still running; retry shortly"))
}

/// Keeps the response of a request that succeeded, sealed, for its retries.
pub async fn finish(db: &impl ConnectionTrait, id: Uuid, seal: Seal, response: &str) -> AppResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::Response, sea_orm::sea_query::Expr::value(seal.close(response)?))
        .filter(idempotency_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives the key back after a request that ended with errors, so that a retry runs again.
pub async fn abandon(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    idempotency_key::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Forgets keys older than `KEEP`.
pub async fn forget_old(db: &impl ConnectionTrait) -> AppResult<u64> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(crate::now() - KEEP))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

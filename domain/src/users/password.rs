//! Password hashing with argon2id. Hashing is deliberately slow (~75 ms), so it runs on the blocking pool
//! and at most a few at once, so a burst of logins cannot starve the async workers or exhaust memory.
use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

static HASHING_SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    Arc::new(Semaphore::new(cores * 2))
});

/// A hash of a password nobody has, verified against when an email is unknown so that a failed
/// login takes the same time whether or not the account exists.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default().hash_password(b"no such account; timing equaliser").map(|h| h.to_string()).unwrap_or_default()
});

pub async fn hash(password: String) -> AppResult<String> {
    run_limited(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(AppError::internal)
    })
    .await
}

/// Checks a password against a stored hash; `None` checks against a dummy hash and always fails.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    run_limited(move || {
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(real && ok)
    })
    .await
}

async fn run_limited<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    let _slot = HASHING_SLOTS.clone().acquire_owned().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(AppError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await.expect("verify"));
        assert!(!verify("wrong horse battery".into(), Some(stored)).await.expect("verify"));
        assert!(!verify("anything at all".into(), None).await.expect("verify"));
    }
}

//! Signing per the Standard Webhooks specification: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the endpoint's secret (`whsec_` and base64 of its bytes).
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::{AppError, AppResult};

const SECRET_PREFIX: &str = "whsec_";
/// The specification asks for 24 to 64 bytes of secret.
const SECRET_BYTES: usize = 32;

/// A new endpoint secret, as shown to whoever made the endpoint: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// Whether a configured secret (one a provider gave us) is as the specification asks: `whsec_` (optional) and
/// base64 of 24 to 64 bytes. Checked at start, so a mistyped secret stops the server rather than refusing every
/// message.
pub fn check_secret(secret: &str) -> Result<(), String> {
    let bytes = STANDARD
        .decode(secret.trim().strip_prefix(SECRET_PREFIX).unwrap_or(secret.trim()))
        .map_err(|_| "must be base64 (after an optional whsec_)".to_owned())?;
    if !(24..=64).contains(&bytes.len()) {
        return Err(format!("must hold 24 to 64 bytes; it holds {}", bytes.len()));
    }
    Ok(())
}

/// The `webhook-id` header of a delivery: its id, stable across its attempts, so receivers can drop repeats.
pub fn message_id(delivery_id: uuid::Uuid) -> String {
    format!("msg_{}", delivery_id.simple())
}

/// The `webhook-signature` header's value for one attempt.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> AppResult<String> {
    let mac = keyed(secret, message_id, &timestamp.to_string(), body.as_bytes())?;
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Whether one of the `v1,` signatures in a received `webhook-signature` header (space-separated, as senders
/// rotating secrets send several) is the HMAC of this message under `secret`, compared in constant time.
pub fn verify(secret: &str, message_id: &str, timestamp: &str, body: &[u8], signatures: &str) -> AppResult<bool> {
    let mac = keyed(secret, message_id, timestamp, body)?;
    Ok(signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|signature| STANDARD.decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())))
}

fn keyed(secret: &str, message_id: &str, timestamp: &str, body: &[u8]) -> AppResult<Hmac<Sha256>> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| AppError::internal("a webhook secret is not base64"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| AppError::internal("a webhook secret cannot key an HMAC"))?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks/spec, "Signature scheme"), so this is the scheme
    /// receivers' libraries check, not one of our own.
    #[test]
    fn signs_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_the_specifications_example_and_nothing_else() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let check = |id: &str, ts: &str, body: &[u8], sigs: &str| verify(secret, id, ts, body, sigs).unwrap();
        assert!(check("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, good));
        assert!(check("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, &format!("v1,bm90IGl0 {good}")));
        assert!(!check("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331", body, good), "another timestamp");
        assert!(!check("msg_other", "1614265330", body, good), "another message");
        assert!(!check("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", br#"{"test": 1}"#, good), "another body");
        assert!(!check("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, "v2,g0hM9SsE"), "no v1 signature");
    }

    #[test]
    fn configured_secrets_are_checked() {
        assert_eq!(check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Ok(()));
        assert_eq!(check_secret(&new_secret()), Ok(()));
        assert!(check_secret("whsec_not base64!").is_err());
        assert!(check_secret("whsec_c2hvcnQ=").is_err(), "5 bytes");
    }

    #[test]
    fn secrets_are_random_and_long_enough() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let bytes = STANDARD.decode(a.strip_prefix(SECRET_PREFIX).unwrap()).unwrap();
        assert_eq!(bytes.len(), SECRET_BYTES);
    }
}

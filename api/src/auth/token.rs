//! Access tokens: short-lived HS256 JWTs. The algorithm is pinned and iss, aud, exp and nbf are all
//! checked with no leeway (jsonwebtoken skips nbf and allows 60 s past exp unless told otherwise).
//!
//! Each token names its signing key with `kid` (a hash prefix of the secret, which reveals nothing of it). Tokens
//! signed with a previous secret (`JWT_PREVIOUS_SECRETS`) still verify, so keys rotate without signing anyone out.
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AuthUser;
use crate::config::{Environment, Settings};
use crate::error::{AppError, AppResult};
use domain::users::PlatformRole;

const ISSUER: &str = "pitchin";
const AUDIENCE: &str = "pitchin-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: String,
    iss: String,
    aud: String,
    iat: i64,
    /// `iat` in milliseconds, so a token issued just after "sign out everywhere" is told from one issued just before
    /// (see `auth::account_of`). Absent from tokens of older versions: `iat` stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_ms: Option<i64>,
    nbf: i64,
    exp: i64,
}

pub struct TokenKeys {
    /// Calendar feed URLs' keys, derived from the same secrets.
    pub calendar: CalendarKeys,
    /// Unsubscribe links' keys (`notifications::unsubscribe`), derived from the same secrets.
    pub unsubscribe: LinkKeys,
    kid: String,
    encoding: EncodingKey,
    /// Every key a token may name: the current one and the previous ones.
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    ttl: chrono::Duration,
}

/// A key's id: the first 16 hex digits of the secret's SHA-256.
fn key_id(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenKeys {
    /// Builds the keys from settings. Outside development a real secret of at least 32 bytes is required;
    /// in development a random one is made for this process (tokens then die with it).
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let secret = match (&settings.jwt_secret, settings.environment) {
            (Some(s), _) if s.len() >= 32 => s.clone(),
            (Some(_), Environment::Production) | (None, Environment::Production) => {
                return Err("JWT_SECRET must be set to at least 32 bytes in production".into());
            }
            (Some(_), Environment::Development) => {
                return Err("JWT_SECRET must be at least 32 bytes".into());
            }
            (None, Environment::Development) => {
                tracing::warn!("JWT_SECRET is not set: using a random secret for this process (development only)");
                random_secret()
            }
        };
        if settings.jwt_previous_secrets.iter().any(|s| s.len() < 32) {
            return Err("each of JWT_PREVIOUS_SECRETS must be at least 32 bytes".into());
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let decoding = std::iter::once(&secret)
            .chain(&settings.jwt_previous_secrets)
            .map(|s| (key_id(s), DecodingKey::from_secret(s.as_bytes())))
            .collect();
        Ok(Self {
            calendar: LinkKeys::new(
                std::iter::once(&secret).chain(&settings.jwt_previous_secrets),
                b"pitchin calendar feed keys v1",
            ),
            unsubscribe: LinkKeys::new(
                std::iter::once(&secret).chain(&settings.jwt_previous_secrets),
                b"pitchin unsubscribe keys v1",
            ),
            kid: key_id(&secret),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding,
            validation,
            ttl: chrono::Duration::seconds(i64::try_from(settings.token_ttl_secs).unwrap_or(900)),
        })
    }

    pub fn issue(&self, user: &AuthUser) -> AppResult<IssuedToken> {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user.id,
            role: user.role.as_db().to_owned(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            iat_ms: Some(now.timestamp_millis()),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let token = encode(&header, &claims, &self.encoding).map_err(AppError::internal)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Checks a token's signature and claims. The account behind it is checked by `auth::account_of`.
    pub fn verify(&self, token: &str) -> AppResult<AuthUser> {
        self.verify_claims(token).map(|(user, _)| user)
    }

    /// The token's user and when it was issued (to the millisecond).
    pub fn verify_claims(&self, token: &str) -> AppResult<(AuthUser, DateTime<Utc>)> {
        self.verify_lifetime(token).map(|(user, issued_at, _)| (user, issued_at))
    }

    /// The token's user, when it was issued, and when it expires (a live connection closes then).
    pub fn verify_lifetime(&self, token: &str) -> AppResult<(AuthUser, DateTime<Utc>, DateTime<Utc>)> {
        let invalid = || AppError::Unauthenticated("the access token is invalid or has expired".into());
        let kid = decode_header(token).map_err(|_| invalid())?.kid.ok_or_else(invalid)?;
        let key = self.decoding.get(&kid).ok_or_else(invalid)?;
        let data = decode::<Claims>(token, key, &self.validation).map_err(|_| invalid())?;
        let role = PlatformRole::from_db(&data.claims.role)
            .ok_or_else(|| AppError::Unauthenticated("the access token is invalid".into()))?;
        let issued_ms = data.claims.iat_ms.unwrap_or(data.claims.iat.saturating_mul(1000));
        let issued_at = DateTime::from_timestamp_millis(issued_ms).ok_or_else(invalid)?;
        let expires_at = DateTime::from_timestamp(data.claims.exp, 0).ok_or_else(invalid)?;
        Ok((AuthUser { id: data.claims.sub, role }, issued_at, expires_at))
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// Links that open something without a sign-in: private calendar feed URLs and unsubscribe links. A link's token
/// is an id (for a calendar, the feed's token id, stored; for an unsubscribe link, the account and the kind of
/// message) followed by an HMAC-SHA256 of the id (stored nowhere) under a key derived from the signing secret and
/// the link's purpose, so one purpose's token never opens another's. A token made under a previous secret still
/// works; rotating a calendar feed's id ends every URL made from the old one.
pub struct LinkKeys {
    /// The current key first.
    keys: Vec<[u8; 32]>,
}

/// Calendar feed URLs' keys.
pub type CalendarKeys = LinkKeys;

impl LinkKeys {
    /// 192 bits of the MAC: past guessing; 32 characters of base64.
    const MAC_LEN: usize = 24;
    const TAG_CHARS: usize = 32;
    /// A calendar feed's id: 32 hex digits (`domain::volunteers::calendar::new_token_id`).
    const CALENDAR_ID_LEN: usize = 32;

    fn new<'a>(secrets: impl Iterator<Item = &'a String>, purpose: &[u8]) -> Self {
        use hmac::Mac;
        let keys = secrets
            .filter_map(|secret| {
                let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
                mac.update(purpose);
                Some(mac.finalize().into_bytes().into())
            })
            .collect();
        Self { keys }
    }

    fn mac(key: &[u8; 32], id: &str) -> Option<HmacSha256> {
        use hmac::Mac;
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        mac.update(id.as_bytes());
        Some(mac)
    }

    /// The token for `id` (URL-safe characters only), under the current key.
    pub fn token(&self, id: &str) -> AppResult<String> {
        use base64::Engine;
        use hmac::Mac;
        let key = self.keys.first().ok_or_else(|| AppError::internal("no link key"))?;
        let tag = Self::mac(key, id).ok_or_else(|| AppError::internal("link key"))?.finalize().into_bytes();
        Ok(format!("{id}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..Self::MAC_LEN])))
    }

    /// The id a token was made for, if one of the keys made it (compared in constant time).
    pub fn id_of<'t>(&self, token: &'t str) -> Option<&'t str> {
        use base64::Engine;
        use hmac::Mac;
        let (id, tag) = token.split_at_checked(token.len().checked_sub(Self::TAG_CHARS)?)?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != Self::MAC_LEN {
            return None;
        }
        self.keys
            .iter()
            .any(|key| Self::mac(key, id).is_some_and(|mac| mac.verify_truncated_left(&tag).is_ok()))
            .then_some(id)
    }

    /// The calendar feed id a URL token was made for: `id_of`, and 32 hex digits.
    pub fn token_id<'t>(&self, token: &'t str) -> Option<&'t str> {
        self.id_of(token).filter(|id| {
            id.len() == Self::CALENDAR_ID_LEN && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    }
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::from_settings(&Settings::for_database("sqlite::memory:")).expect("keys")
    }

    #[test]
    fn calendar_tokens_open_their_feed_only_under_our_keys() {
        let keys = keys();
        let id = "0123456789abcdef0123456789abcdef";
        let token = keys.calendar.token(id).expect("a token");
        assert_eq!(token.len(), 64);
        assert_eq!(keys.calendar.token_id(&token), Some(id));
        // Another feed's id with this MAC, a changed MAC, a cut-off token, and another server's token all fail.
        let other = format!("f{}", &token[1..]);
        assert_eq!(keys.calendar.token_id(&other), None);
        let last = if token.ends_with('A') { 'B' } else { 'A' };
        assert_eq!(keys.calendar.token_id(&format!("{}{last}", &token[..63])), None);
        assert_eq!(keys.calendar.token_id(&token[..60]), None);
        assert_eq!(keys.calendar.token_id("not a token at all"), None);
        let mut settings = Settings::for_database("sqlite::memory:");
        let old_secret = settings.jwt_secret.replace("a-brand-new-secret-of-at-least-32-bytes!".into());
        let elsewhere = TokenKeys::from_settings(&settings).expect("keys");
        assert_eq!(elsewhere.calendar.token_id(&token), None);
        // After a key rotation that keeps the old secret, the old URL still opens the feed; new URLs differ.
        settings.jwt_previous_secrets = old_secret.into_iter().collect();
        let rotated = TokenKeys::from_settings(&settings).expect("keys");
        assert_eq!(rotated.calendar.token_id(&token), Some(id));
        assert_ne!(rotated.calendar.token(id).expect("a token"), token);
    }

    #[test]
    fn issued_tokens_verify() {
        let user = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Member };
        let keys = keys();
        let issued = keys.issue(&user).expect("issue");
        assert_eq!(keys.verify(&issued.token), Ok(user));
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let keys = keys();
        let user = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Member };
        let token = keys.issue(&user).expect("issue").token;
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys.verify(&tampered).is_err());

        let now = Utc::now().timestamp();
        let make = |iss: &str, aud: &str, nbf: i64, exp: i64, alg: Algorithm| {
            let claims = Claims {
                sub: user.id,
                role: "MEMBER".into(),
                iss: iss.into(),
                aud: aud.into(),
                iat: now,
                iat_ms: None,
                nbf,
                exp,
            };
            // Signed with the right key and naming it, so each refusal below is for the reason it names.
            let mut header = Header::new(alg);
            header.kid = Some(keys.kid.clone());
            encode(&header, &claims, &EncodingKey::from_secret(b"test-secret-that-is-at-least-32-bytes-long"))
                .expect("encode")
        };
        assert!(keys.verify(&make(ISSUER, AUDIENCE, now - 120, now - 1, Algorithm::HS256)).is_err(), "expired");
        assert!(keys.verify(&make(ISSUER, AUDIENCE, now + 60, now + 900, Algorithm::HS256)).is_err(), "not yet valid");
        assert!(keys.verify(&make("someone-else", AUDIENCE, now, now + 900, Algorithm::HS256)).is_err(), "issuer");
        assert!(keys.verify(&make(ISSUER, "other-api", now, now + 900, Algorithm::HS256)).is_err(), "audience");
        assert!(keys.verify(&make(ISSUER, AUDIENCE, now, now + 900, Algorithm::HS512)).is_err(), "algorithm");
        assert!(keys.verify(&make(ISSUER, AUDIENCE, now, now + 900, Algorithm::HS256)).is_ok(), "the control case");
        let claims = Claims {
            sub: user.id,
            role: "MEMBER".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            iat_ms: None,
            nbf: now,
            exp: now + 900,
        };
        let secret = EncodingKey::from_secret(b"test-secret-that-is-at-least-32-bytes-long");
        let no_kid = encode(&Header::new(Algorithm::HS256), &claims, &secret).expect("encode");
        assert!(keys.verify(&no_kid).is_err(), "a token must name its key");
    }

    #[test]
    fn keys_rotate_without_signing_anyone_out() {
        let user = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Member };
        let old = keys();
        let token = old.issue(&user).expect("issue").token;
        let mut settings = Settings::for_database("sqlite::memory:");
        let old_secret = settings.jwt_secret.replace("a-brand-new-secret-of-at-least-32-bytes!".into());
        settings.jwt_previous_secrets = old_secret.into_iter().collect();
        let rotated = TokenKeys::from_settings(&settings).expect("keys");
        assert_eq!(rotated.verify(&token), Ok(user), "old tokens still verify");
        let fresh = rotated.issue(&user).expect("issue").token;
        assert_eq!(rotated.verify(&fresh), Ok(user));
        assert!(old.verify(&fresh).is_err(), "a server without the new key refuses its tokens");
        settings.jwt_previous_secrets.clear();
        let retired = TokenKeys::from_settings(&settings).expect("keys");
        assert!(retired.verify(&token).is_err(), "once the old secret is dropped, its tokens are refused");
        settings.jwt_previous_secrets = vec!["short".into()];
        assert!(TokenKeys::from_settings(&settings).is_err());
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let mut settings = Settings::for_database("sqlite::memory:");
        settings.environment = Environment::Production;
        settings.jwt_secret = None;
        assert!(TokenKeys::from_settings(&settings).is_err());
        settings.jwt_secret = Some("short".into());
        assert!(TokenKeys::from_settings(&settings).is_err());
    }
}

//! Email addresses and passwords.
use crate::error::{AppError, AppResult};

/// A syntactically valid email address, lower-cased so comparisons are case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let email = raw.trim().to_lowercase();
        let bad = |why: &str| Err(AppError::bad_input(field, why));
        if email.len() > 254 {
            return bad("must be at most 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return bad("must be an email address such as name@example.org");
        };
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if local.is_empty()
            || local.len() > 64
            || !valid_domain
            || local.chars().any(|c| c.is_whitespace() || c == '@' || c.is_control())
        {
            return bad("must be an email address such as name@example.org");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password strong enough to accept. Kept only long enough to hash.
pub struct Password(String);

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "passw0rd12",
    "abcdefghij",
    "0987654321",
    "qwerty1234",
    "football12",
];

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(field: &str, raw: &str, email: &Email) -> AppResult<Self> {
        let chars = raw.chars().count();
        let bad = |why: &str| Err(AppError::bad_input(field, why));
        if chars < Self::MIN_LEN {
            return bad("must be at least 10 characters");
        }
        if chars > Self::MAX_LEN {
            return bad("must be at most 128 characters");
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return bad("is too common; choose a less guessable password");
        }
        let distinct: std::collections::HashSet<char> = raw.chars().collect();
        if distinct.len() < 4 {
            return bad("needs more variety: use at least 4 different characters");
        }
        let local = email.as_str().split('@').next().unwrap_or_default();
        if lower == email.as_str() || (local.len() >= 4 && lower.contains(local)) {
            return bad("must not contain your email address");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("email", " Amira@Example.ORG ").map(|e| e.into_inner()),
            Ok("amira@example.org".into())
        );
        for bad in ["", "no-at-sign", "a@b", "a@.org", "a b@example.org", "@example.org", "a@example..org"] {
            assert!(Email::parse("email", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn weak_passwords_are_refused() {
        let email = Email::parse("email", "sam.jones@example.org").expect("valid email");
        for weak in ["short", "password123", "aaaaaaaaaaaa", "ababababab", "my-sam.jones-pw"] {
            assert!(Password::parse("password", weak, &email).is_err(), "{weak} should be refused");
        }
        assert!(Password::parse("password", "correct horse battery", &email).is_ok());
    }
}

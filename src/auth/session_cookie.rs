//! The session cookie carries two secrets: a random token (whose digest names the session
//! row) and the session's age key (which unwraps the user's identity held in that row).
//! The request-forgery token is derived from the session token, so it needs no storage
//! and changes with every sign-in.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::crypto::{RandomToken, SessionKey, sha256_hex};

pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub struct SessionCookie {
    token: String,
    key_secret: SecretString,
}

impl SessionCookie {
    pub fn generate() -> (Self, SessionKey) {
        let key = SessionKey::generate();
        let cookie = Self {
            token: RandomToken::generate().into_string(),
            key_secret: key.secret(),
        };
        (cookie, key)
    }

    pub fn parse(value: &str) -> Option<Self> {
        let (token, key_secret) = value.split_once('.')?;
        if token.len() != 43 || !key_secret.starts_with("AGE-SECRET-KEY-1") {
            return None;
        }
        Some(Self {
            token: token.to_string(),
            key_secret: SecretString::from(key_secret.to_string()),
        })
    }

    /// The name of the session row: a digest, so the database never holds the token.
    pub fn token_hash(&self) -> String {
        sha256_hex(self.token.as_bytes())
    }

    pub fn key(&self) -> Option<SessionKey> {
        SessionKey::parse(self.key_secret.expose_secret()).ok()
    }

    pub fn csrf_token(&self) -> String {
        csrf_token_for_session(&self.token)
    }

    pub fn value(&self) -> String {
        format!("{}.{}", self.token, self.key_secret.expose_secret())
    }
}

pub fn csrf_token_for_session(session_token: &str) -> String {
    sha256_hex(format!("casemail csrf v1\0{session_token}").as_bytes())
}

pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The value of cookie `name` in a Cookie request header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trips() {
        let (cookie, key) = SessionCookie::generate();
        let parsed = SessionCookie::parse(&cookie.value());
        assert!(parsed.is_some());
        if let Some(parsed) = parsed {
            assert_eq!(parsed.token_hash(), cookie.token_hash());
            assert_eq!(parsed.csrf_token(), cookie.csrf_token());
            assert_eq!(
                parsed.key().map(|k| k.secret().expose_secret().to_string()),
                Some(key.secret().expose_secret().to_string())
            );
        }
    }

    #[test]
    fn refuses_garbage() {
        assert!(SessionCookie::parse("").is_none());
        assert!(SessionCookie::parse("abc.def").is_none());
        assert!(SessionCookie::parse(&format!("{}.nope", "a".repeat(43))).is_none());
    }

    #[test]
    fn finds_cookies_by_exact_name() {
        let header = "a=1; casemail_csrf=xyz; casemail_csrf_old=no";
        assert_eq!(cookie_value(header, "casemail_csrf"), Some("xyz"));
        assert_eq!(cookie_value(header, "casemail"), None);
    }

    #[test]
    fn token_comparison_needs_equal_non_empty_values() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("", ""));
    }
}

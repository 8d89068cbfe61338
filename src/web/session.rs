//! Reading and writing the session cookie.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::auth::{SessionCookie, cookie_value};
use crate::config::Config;

/// `__Host-` binds the cookie to this exact origin, but browsers accept it only over TLS.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-casemail_session"
    } else {
        "casemail_session"
    }
}

pub fn read(headers: &HeaderMap, config: &Config) -> Option<SessionCookie> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookie_value(cookies, session_cookie_name(config)).and_then(SessionCookie::parse)
}

/// A session cookie lives as long as the browser session; the server enforces the idle
/// and absolute limits. HttpOnly keeps it from scripts; SameSite=Lax keeps it off
/// cross-site form posts while links from notification emails still work.
pub fn set(config: &Config, cookie: &SessionCookie) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax{}",
        session_cookie_name(config),
        cookie.value(),
        secure(config)
    ))
    .ok()
}

pub fn clear(config: &Config) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        session_cookie_name(config),
        secure(config)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn secure(config: &Config) -> &'static str {
    if config.is_https() { "; Secure" } else { "" }
}

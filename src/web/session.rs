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

/// The anonymous forms' double-submit cookie, under the same prefix rule.
pub fn csrf_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-casemail_csrf"
    } else {
        "casemail_csrf"
    }
}

/// Marks a browser that has signed in to an account before: its owner keeps passing
/// when strangers' wrong guesses have paused the account for everyone else.
pub fn device_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-casemail_device"
    } else {
        "casemail_device"
    }
}

/// The device token this browser holds, if any (only the shape of one is accepted).
pub fn read_device(headers: &HeaderMap, config: &Config) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookie_value(cookies, device_cookie_name(config))
        .filter(|token| {
            token.len() == 43
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
}

/// Kept for half a year, sent only with this site's own requests, never to scripts.
pub fn set_device(config: &Config, token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        device_cookie_name(config),
        crate::accounts::DEVICE_REMEMBERED_SECONDS,
        secure(config)
    ))
    .ok()
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

//! Request-forgery protection for every state-changing request. Signed-in requests must
//! carry the token derived from their session cookie; anonymous forms (sign-in, setup) use
//! a double-submit cookie. The token comes in the `X-CSRF-Token` header (htmx) or the
//! `csrf_token` form field; multipart forms carry that field first. A state-changing
//! request whose `Origin` is another site is refused whatever it carries.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use super::session;
use crate::auth::{CSRF_FIELD, CSRF_HEADER, cookie_value, tokens_match};
use crate::crypto::RandomToken;
use crate::state::AppState;
use crate::web::error::AppError;

/// The token that forms on this request's page must carry.
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// Form bodies larger than this are refused; attachments travel as multipart.
const FORM_LIMIT: usize = 4 * 1024 * 1024;
/// How much of a multipart body is read to find the token in its first field.
const FIRST_PART_LIMIT: usize = 16 * 1024;

pub async fn protect(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let session_token =
        session::read(&parts.headers, &app.config).map(|cookie| cookie.csrf_token());
    let anonymous = parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| cookie_value(cookies, session::csrf_cookie_name(&app.config)))
        .filter(|v| v.len() == 43)
        .map(str::to_string);
    let (expected, new_anonymous) = match (session_token, anonymous) {
        (Some(token), _) => (token, None),
        (None, Some(token)) => (token, None),
        (None, None) => {
            let token = RandomToken::generate().into_string();
            (token.clone(), Some(token))
        }
    };

    let body = if is_state_changing(&parts.method) {
        if cross_site(&parts.headers) || !same_origin(&parts.headers, &app.config.public_url()) {
            return AppError::Csrf.into_response();
        }
        let header_token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (given, body) = match header_token {
            Some(token) => (Some(token), body),
            None if is_form(&parts.headers) => {
                let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
                    return AppError::BadRequest("The form was too large to send.").into_response();
                };
                if let Some(field) = field_not_text(&bytes) {
                    return AppError::InvalidText { field }.into_response();
                }
                (form_field(&bytes, CSRF_FIELD), Body::from(bytes))
            }
            None => match multipart_boundary(&parts.headers) {
                Some(boundary) => first_part_token(body, boundary).await,
                None => (None, body),
            },
        };
        if !given.is_some_and(|given| tokens_match(&expected, &given)) {
            return AppError::Csrf.into_response();
        }
        body
    } else {
        body
    };

    parts.extensions.insert(CsrfToken(expected));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(token) = new_anonymous
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict{}",
            session::csrf_cookie_name(&app.config),
            session::secure(&app.config)
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Browsers say when a request comes from another site; such requests never change state.
fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site")
}

/// A browser names the page a request comes from in `Origin`; a state-changing request
/// from a page of another origin (or from an opaque one, "null") is refused even with a
/// valid token. The origin must be the configured public address or the host the request
/// was sent to. Clients that send no `Origin` (not browsers) rely on the token alone.
fn same_origin(headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    // An opaque origin is another site's sandbox, unless the browser itself says the
    // request comes from this origin (older pages cached under a no-referrer policy).
    if origin == "null" {
        return headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"same-origin");
    }
    if origin.eq_ignore_ascii_case(public_url) {
        return true;
    }
    // The same host, by the same scheme as the service: on https, an `http://` page of
    // this host is another origin.
    let scheme = if public_url.starts_with("https://") {
        "https://"
    } else {
        "http://"
    };
    let authority = origin.strip_prefix(scheme);
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// The first field of a form body whose name or value does not decode to UTF-8. Form
/// parsing would replace such bytes with U+FFFD and lose what was sent without a word.
fn field_not_text(body: &[u8]) -> Option<String> {
    let is_text = |bytes: &[u8]| std::str::from_utf8(bytes).is_ok();
    body.split(|b| *b == b'&').find_map(|pair| {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_decode(name);
        (!is_text(&name) || !is_text(&form_decode(value)))
            .then(|| String::from_utf8_lossy(&name).into_owned())
    })
}

/// One name or value of `application/x-www-form-urlencoded`, as bytes.
fn form_decode(encoded: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = encoded
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Multipart forms carry the token as their first field, so that it never appears in a
/// URL (where logs and history would keep it). Only the start of the body is read here, up
/// to the end of that field; the rest streams on to the handler untouched.
async fn first_part_token(body: Body, boundary: String) -> (Option<String>, Body) {
    let mut rest = body.into_data_stream();
    let delimiter = format!("--{boundary}");
    let mut start = Vec::new();
    let mut delimiters = 0;
    while start.len() < FIRST_PART_LIMIT && delimiters < 2 {
        match rest.next().await {
            Some(Ok(chunk)) => {
                // Only the new bytes (and the delimiter's length before them) are searched,
                // so many small chunks cost no more than one large one.
                let from = start.len().saturating_sub(delimiter.len() - 1);
                start.extend_from_slice(&chunk);
                delimiters += occurrences(&start[from..], delimiter.as_bytes());
            }
            Some(Err(_)) => return (None, Body::empty()),
            None => break,
        }
    }
    let start = Bytes::from(start);
    let mut parts = multer::Multipart::new(
        futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(start.clone()))),
        boundary,
    );
    let token = match parts.next_field().await {
        Ok(Some(field)) if field.name() == Some(CSRF_FIELD) => field.text().await.ok(),
        _ => None,
    };
    let whole = futures_util::stream::once(std::future::ready(Ok(start))).chain(rest);
    (token, Body::from_stream(whole))
}

fn multipart_boundary(headers: &axum::http::HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    multer::parse_boundary(content_type).ok()
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn finds_fields_that_are_not_text() {
        assert_eq!(
            super::field_not_text(b"subject=caf%C3%A9+au+lait&body=ok"),
            None
        );
        assert_eq!(
            super::field_not_text(b"subject=ok&body=%FF%FE"),
            Some("body".to_string())
        );
        assert_eq!(
            super::field_not_text(b"%C3=1"),
            Some("\u{fffd}".to_string())
        );
        assert_eq!(super::field_not_text(b""), None);
    }

    #[test]
    fn accepts_only_this_origin() {
        let public = "https://mail.example";
        assert!(same_origin(
            &headers(Some("https://mail.example"), "mail.example"),
            public
        ));
        assert!(same_origin(
            &headers(Some("https://localhost:8080"), "localhost:8080"),
            public
        ));
        assert!(!same_origin(
            &headers(Some("http://mail.example"), "mail.example"),
            public
        ));
        assert!(same_origin(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        ));
        assert!(same_origin(&headers(None, "mail.example"), public));
        assert!(!same_origin(
            &headers(Some("https://evil.example"), "mail.example"),
            public
        ));
        assert!(!same_origin(&headers(Some("null"), "mail.example"), public));
        assert!(!same_origin(
            &headers(Some("https://mail.example.evil"), "mail.example"),
            public
        ));
    }
}

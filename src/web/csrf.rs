//! Request-forgery protection for every state-changing request. Signed-in requests must
//! carry the token derived from their session cookie; anonymous forms (sign-in, setup) use
//! a double-submit cookie. The token comes in the `X-CSRF-Token` header (htmx) or the
//! `csrf_token` form field. Multipart uploads carry it as a header or query field.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::session;
use crate::auth::{CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, cookie_value, tokens_match};
use crate::crypto::RandomToken;
use crate::state::AppState;
use crate::web::error::AppError;

/// The token that forms on this request's page must carry.
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// Form bodies larger than this are refused; attachments travel as multipart.
const FORM_LIMIT: usize = 4 * 1024 * 1024;

pub async fn protect(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let session_token =
        session::read(&parts.headers, &app.config).map(|cookie| cookie.csrf_token());
    let anonymous = parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| cookie_value(cookies, CSRF_COOKIE))
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
        if cross_site(&parts.headers) {
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
                (form_field(&bytes, CSRF_FIELD), Body::from(bytes))
            }
            None => (query_field(parts.uri.query(), CSRF_FIELD), body),
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
            "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
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

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

fn query_field(query: Option<&str>, name: &str) -> Option<String> {
    form_field(query?.as_bytes(), name)
}

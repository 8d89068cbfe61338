//! Signing in and out.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use secrecy::SecretString;
use serde::Deserialize;

use crate::accounts::{SignInAttempt, SignInError};
use crate::domain::FieldErrors;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::ClientInfo;
use crate::web::page::Page;
use crate::web::session;

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/sign_in.html")]
struct SignInPage {
    page: Page,
    errors: FieldErrors,
    email: String,
    next: String,
    notice: Option<&'static str>,
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<SignInQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    if let Some(cookie) = session::read(&headers, &app.config)
        && query.expired.is_none()
        && app.accounts.is_signed_in(&cookie.token_hash()).await?
    {
        return Ok(Redirect::to("/").into_response());
    }
    let notice = if query.expired.is_some() {
        Some("Your session ended, so you have been signed out. Sign in again to continue.")
    } else if query.signed_out.is_some() {
        Some("You have signed out.")
    } else if query.created.is_some() {
        Some("Your account has been created. Sign in with it now.")
    } else {
        None
    };
    Ok(SignInPage {
        page: Page::anonymous(&csrf),
        errors: FieldErrors::default(),
        email: String::new(),
        next: safe_next(query.next.as_deref()).to_string(),
        notice,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Form(input): Form<SignInForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    if input.email.trim().is_empty() {
        errors.add("email", "Enter your email address");
    }
    if input.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if errors.is_empty() {
        let attempt = SignInAttempt {
            email: &input.email,
            password: SecretString::from(input.password.clone()),
            client_address: &client.address,
            user_agent: &client.user_agent,
            // A new session at every sign-in: any session named by an older cookie in this
            // browser ends with it.
            previous_session: session::read(&headers, &app.config).map(|c| c.token_hash()),
            device: session::read_device(&headers, &app.config),
        };
        match app.accounts.sign_in(attempt).await {
            Ok(signed_in) => {
                let target = if signed_in.second_factor {
                    "/sign-in/code"
                } else {
                    safe_next(Some(&input.next))
                };
                let mut response = Redirect::to(target).into_response();
                if let Some(cookie) = session::set(&app.config, &signed_in.cookie) {
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
                if let Some(device) = signed_in
                    .device
                    .and_then(|token| session::set_device(&app.config, &token))
                {
                    response.headers_mut().append(header::SET_COOKIE, device);
                }
                tracing::info!(user_id = signed_in.user_id, "signed in");
                return Ok(response);
            }
            Err(SignInError::WrongCredentials) => errors.add(
                "email",
                "Enter a correct email address and password. Both are case-sensitive \
                 except the email address. If you have registered, you can sign in once an \
                 administrator has approved your registration: you will be told by email.",
            ),
            Err(SignInError::Paused { minutes }) => errors.add(
                "email",
                format!(
                    "There have been too many failed attempts to sign in. Wait {minutes} \
                     minutes, then try again. If you have forgotten your password, ask an \
                     administrator of your organisation."
                ),
            ),
            Err(SignInError::Refused(reason)) => errors.add("email", reason),
            Err(SignInError::Internal(error)) => return Err(AppError::Internal(error)),
        }
    }
    let mut response = SignInPage {
        page: Page::anonymous(&csrf),
        errors,
        email: input.email.trim().to_string(),
        next: safe_next(Some(&input.next)).to_string(),
        notice: None,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

pub async fn sign_out(
    State(app): State<AppState>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    if let Some(cookie) = session::read(&headers, &app.config) {
        app.accounts
            .sign_out(&cookie.token_hash(), &client.address)
            .await?;
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear(&app.config));
    // Ask the browser to drop anything it kept from the signed-in pages.
    response.headers_mut().insert(
        "clear-site-data",
        axum::http::HeaderValue::from_static("\"cache\", \"storage\""),
    );
    Ok(response)
}

/// Only local paths are followed after sign-in, so the form cannot be used to send people
/// to another site.
/// The page to go to after signing in: only a plain path on this site. Anything else
/// (another host, a scheme, a backslash, spaces or control characters that a browser
/// might strip or a header cannot carry) goes to the mailbox instead.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
                && !path.contains("://") =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn follows_only_local_paths() {
        assert_eq!(safe_next(Some("/account")), "/account");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\n x")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/caf\u{e9}")), "/");
        assert_eq!(
            safe_next(Some("/threads/4?folder=inbox#m2")),
            "/threads/4?folder=inbox#m2"
        );
    }
}

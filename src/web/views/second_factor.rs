//! The second factor: the code page after the password, and enrolment.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use base64::Engine;
use serde::Deserialize;

use crate::domain::FieldErrors;
use crate::second_factor::CodeProblem;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};
use crate::web::session;

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/second_factor.html")]
pub struct CodePage {
    page: Page,
    errors: FieldErrors,
    /// The person can answer with a passkey.
    passkeys: bool,
    /// Authenticator codes are accepted (else only recovery codes).
    app_codes: bool,
}

fn code_page(app: &AppState, csrf: &CsrfToken, user: &CurrentUser) -> CodePage {
    CodePage {
        page: Page::anonymous(csrf),
        errors: FieldErrors::default(),
        passkeys: user.account.passkeys > 0 && app.second_factor.passkeys_available(),
        app_codes: user.account.totp_enrolled && !app.second_factor.passkey_only(&user.account),
    }
}

/// The code page again, with why the last answer was refused.
pub fn refused_code_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    field: &'static str,
    message: String,
) -> Response {
    let mut page = code_page(app, csrf, user);
    page.errors.add(field, message);
    let mut response = page.into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

pub async fn code_form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> CodePage {
    code_page(&app, &csrf, &user)
}

/// After the second factor: this browser is now known to the account, and the person
/// goes on to their mail.
pub async fn fully_signed_in(
    app: &AppState,
    user: &CurrentUser,
    headers: &axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let known = app
        .accounts
        .known_device(
            session::read_device(headers, &app.config).as_deref(),
            Some(user.account.id),
            app.clock.now(),
        )
        .await?;
    let token = app.accounts.trust_browser(user.account.id, known).await?;
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = session::set_device(&app.config, &token) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn check_code(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let identity = user.identity()?;
    match app
        .second_factor
        .check(
            &user.account,
            &identity,
            &user.token_hash,
            &form.code,
            &client.address,
        )
        .await
    {
        Ok(()) => fully_signed_in(&app, &user, &headers).await,
        Err(CodeProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => Ok(refused_code_page(
            &app,
            &csrf,
            &user,
            "code",
            problem.to_string(),
        )),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/second_factor_setup.html")]
pub struct SetupPage {
    page: Page,
    errors: FieldErrors,
    enrolled: bool,
    required: bool,
    qr: String,
    secret: String,
    recovery_codes: Vec<String>,
}

pub async fn setup(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<SetupPage, AppError> {
    let enrolment = app
        .second_factor
        .begin_enrolment(&user.account, &user.identity()?)
        .await?;
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(enrolment.qr_svg.as_bytes())
    );
    Ok(SetupPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
        errors: FieldErrors::default(),
        enrolled: user.account.totp_enrolled,
        required: user.account.role.is_admin() || app.config.require_second_factor,
        qr,
        secret: enrolment.secret,
        recovery_codes: Vec::new(),
    })
}

pub async fn confirm(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let identity = user.identity()?;
    match app
        .second_factor
        .confirm_enrolment(&user.account, &identity, &form.code, &client.address)
        .await
    {
        Ok(codes) => Ok(SetupPage {
            page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
            errors: FieldErrors::default(),
            enrolled: true,
            required: false,
            qr: String::new(),
            secret: String::new(),
            recovery_codes: codes,
        }
        .into_response()),
        Err(CodeProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let mut page = setup(State(app), Extension(csrf), user).await?;
            page.errors.add("code", problem.to_string());
            let mut response = page.into_response();
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

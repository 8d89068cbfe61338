//! Passkeys: the list on the account (add, name, remove), and signing in with one instead
//! of a code. The browser's part needs JavaScript (static/passkeys.js): it asks for the
//! challenge (JSON), lets the authenticator answer, and posts the answer as a form.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::clock::display_time;
use crate::domain::FieldErrors;
use crate::second_factor::{PasskeyProblem, PasskeySummary};
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};
use crate::web::views::second_factor::{fully_signed_in, refused_code_page};

pub struct PasskeyRow {
    id: i64,
    name: String,
    added: String,
    last_used: String,
}

impl From<PasskeySummary> for PasskeyRow {
    fn from(passkey: PasskeySummary) -> Self {
        Self {
            id: passkey.id,
            name: passkey.name,
            added: display_time(passkey.created_at),
            last_used: passkey
                .last_used_at
                .map_or_else(|| "Not used yet".to_string(), display_time),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/passkeys.html")]
pub struct PasskeysPage {
    page: Page,
    errors: FieldErrors,
    passkeys: Vec<PasskeyRow>,
    available: bool,
    /// An administrator who must add a passkey before going on.
    required: bool,
    notice: Option<String>,
    recovery_codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    added: Option<String>,
    #[serde(default)]
    removed: Option<String>,
}

async fn passkeys_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
) -> Result<PasskeysPage, AppError> {
    let passkeys = app
        .second_factor
        .passkeys(&user.account)
        .await
        .map_err(internal)?;
    Ok(PasskeysPage {
        page: Page::signed_in(app, csrf, user, Section::Account).await?,
        errors: FieldErrors::default(),
        required: app.config.admins_require_passkey
            && user.account.role.is_admin()
            && passkeys.is_empty(),
        passkeys: passkeys.into_iter().map(PasskeyRow::from).collect(),
        available: app.second_factor.passkeys_available(),
        notice: None,
        recovery_codes: Vec::new(),
    })
}

fn internal(problem: PasskeyProblem) -> AppError {
    match problem {
        PasskeyProblem::NotFound => AppError::NotFound,
        PasskeyProblem::Internal(e) => AppError::Internal(e),
        other => AppError::Internal(anyhow::anyhow!("unexpected: {other}")),
    }
}

pub async fn list(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(notice): Query<Notice>,
    user: CurrentUser,
) -> Result<PasskeysPage, AppError> {
    let mut page = passkeys_page(&app, &csrf, &user).await?;
    page.notice = if notice.added.is_some() {
        Some("Your passkey has been added. You can use it the next time you sign in.".into())
    } else if notice.removed.is_some() {
        Some("The passkey has been removed.".into())
    } else {
        None
    };
    Ok(page)
}

/// A ceremony's options for the browser, or a problem to show beside the button.
fn options_response(result: Result<String, PasskeyProblem>) -> Result<Response, AppError> {
    let (status, body) = match result {
        Ok(options) => (StatusCode::OK, options),
        Err(PasskeyProblem::Internal(e)) => return Err(AppError::Internal(e)),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({ "error": problem.to_string() }).to_string(),
        ),
    };
    Ok((
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

pub async fn registration_options(
    State(app): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NameForm>,
) -> Result<Response, AppError> {
    options_response(
        app.second_factor
            .begin_passkey_registration(&user.account, &user.token_hash, &form.name)
            .await,
    )
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    credential: String,
}

pub async fn add(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let result = app
        .second_factor
        .finish_passkey_registration(
            &user.account,
            &user.token_hash,
            &form.credential,
            &client.address,
        )
        .await;
    match result {
        Ok(added) if added.recovery_codes.is_empty() => {
            Ok(Redirect::to("/account/passkeys?added=1").into_response())
        }
        Ok(added) => {
            // The list as it is now, with the codes shown this once.
            let mut page = passkeys_page(&app, &csrf, &user).await?;
            page.notice = Some(format!("Your passkey \"{}\" has been added.", added.name));
            page.recovery_codes = added.recovery_codes;
            Ok(page.into_response())
        }
        Err(PasskeyProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let mut page = passkeys_page(&app, &csrf, &user).await?;
            page.errors.add("name", problem.to_string());
            let mut response = page.into_response();
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

pub async fn remove(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    match app
        .second_factor
        .remove_passkey(&user.account, id, &client.address)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account/passkeys?removed=1").into_response()),
        Err(problem @ PasskeyProblem::LastNeeded) => {
            let mut page = passkeys_page(&app, &csrf, &user).await?;
            page.errors.add("passkeys", problem.to_string());
            let mut response = page.into_response();
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(problem) => Err(internal(problem)),
    }
}

pub async fn sign_in_options(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    options_response(
        app.second_factor
            .begin_passkey_sign_in(&user.account, &user.token_hash)
            .await,
    )
}

pub async fn sign_in(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    match app
        .second_factor
        .finish_passkey_sign_in(
            &user.account,
            &user.token_hash,
            &form.credential,
            &client.address,
        )
        .await
    {
        Ok(()) => fully_signed_in(&app, &user, &headers).await,
        Err(PasskeyProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => Ok(refused_code_page(
            &app,
            &csrf,
            &user,
            "passkey",
            problem.to_string(),
        )),
    }
}

//! Recovery pages: self-service with a recovery code, issuing a new code, and the
//! administrator's recovery with the offline identity or new keys.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use secrecy::SecretString;
use serde::Deserialize;

use crate::accounts::RecoveryError;
use crate::audit::Origin;
use crate::domain::FieldErrors;
use crate::domain::Password;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};
use crate::web::session;

#[derive(Template, WebTemplate)]
#[template(path = "pages/recover.html")]
pub struct RecoverPage {
    page: Page,
    errors: FieldErrors,
    email: String,
    new_code: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RecoverForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn form(Extension(csrf): Extension<CsrfToken>) -> RecoverPage {
    RecoverPage {
        page: Page::anonymous(&csrf),
        errors: FieldErrors::default(),
        email: String::new(),
        new_code: None,
    }
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Form(form): Form<RecoverForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    if form.email.trim().is_empty() {
        errors.add("email", "Enter your email address");
    }
    if form.code.trim().is_empty() {
        errors.add("code", "Enter your recovery code");
    }
    let password = errors.check("password", Password::parse(&form.password));
    if password.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    if let (Some(password), true) = (password, errors.is_empty()) {
        match app
            .accounts
            .recover_with_code(
                &form.email,
                &form.code,
                password,
                &client.address,
                session::read_device(&headers, &app.config).as_deref(),
            )
            .await
        {
            Ok(code) => {
                return Ok(RecoverPage {
                    page: Page::anonymous(&csrf),
                    errors,
                    email: String::new(),
                    new_code: Some(code),
                }
                .into_response());
            }
            Err(RecoveryError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem) => errors.add("code", problem.to_string()),
        }
    }
    let mut response = RecoverPage {
        page: Page::anonymous(&csrf),
        errors,
        email: form.email,
        new_code: None,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/recovery_code.html")]
pub struct CodePage {
    page: Page,
    code: String,
}

pub async fn new_code(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<CodePage, AppError> {
    let code = app
        .accounts
        .issue_recovery_code(&user.account, &user.identity()?, &client.address)
        .await?;
    Ok(CodePage {
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
        code,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/temporary_password.html")]
pub struct TemporaryPasswordPage {
    page: Page,
    person: String,
    password: String,
    new_keys: bool,
}

#[derive(Deserialize, Default)]
pub struct AdminRecoverForm {
    /// The offline identity, as a secret: zeroised when the form is dropped.
    #[serde(default = "no_identity")]
    recovery_identity: SecretString,
    #[serde(default)]
    confirm: String,
}

/// The administrator's recovery: the offline identity is used once and never stored.
pub async fn admin_recover(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AdminRecoverForm>,
) -> Result<Response, AppError> {
    let person = super::admin::target(&app, &user, user_id).await?;
    match app
        .accounts
        .recover_with_identity(
            &Origin::user(&user.account, &client.address),
            user_id,
            &form.recovery_identity,
        )
        .await
    {
        Ok(password) => Ok(TemporaryPasswordPage {
            page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
            person: person.name,
            password,
            new_keys: false,
        }
        .into_response()),
        Err(RecoveryError::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("recovery_identity", problem.to_string());
            super::admin::rerender_user(&app, &csrf, &user, person, errors).await
        }
    }
}

pub async fn admin_new_keys(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AdminRecoverForm>,
) -> Result<Response, AppError> {
    let person = super::admin::target(&app, &user, user_id).await?;
    if form.confirm != "yes" {
        let mut errors = FieldErrors::default();
        errors.add(
            "confirm_keys",
            "Confirm that the person's earlier mail will become unreadable",
        );
        return super::admin::rerender_user(&app, &csrf, &user, person, errors).await;
    }
    let password = app
        .accounts
        .issue_new_keys(&user.account, user_id, &client.address)
        .await?;
    Ok(TemporaryPasswordPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        person: person.name,
        password,
        new_keys: true,
    }
    .into_response())
}

fn no_identity() -> SecretString {
    SecretString::from(String::new())
}

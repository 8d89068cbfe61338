//! The signed-in person's own account: details, key status and password change.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use secrecy::SecretString;
use serde::Deserialize;

use crate::accounts::ChangePasswordError;
use crate::clock::display_time;
use crate::domain::FieldErrors;
use crate::domain::Password;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/account.html")]
pub struct AccountPage {
    page: Page,
    name: String,
    email: String,
    organisation: String,
    organisation_kind: &'static str,
    jurisdiction: String,
    role: &'static str,
    status: &'static str,
    created: String,
    password_changed: String,
    key_fingerprint: String,
    keys_unlocked: bool,
    sessions: i64,
    password_changed_notice: bool,
    totp_enrolled: bool,
    passkeys: i64,
    listed: bool,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    password_changed: Option<String>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<AccountQuery>,
    user: CurrentUser,
) -> Result<AccountPage, AppError> {
    let account = &user.account;
    // Proves to the person that this session can decrypt their mail: the identity
    // unwrapped with the cookie's key must match the public key on record.
    let keys_unlocked = user
        .identity()
        .map(|identity| identity.recipient() == account.public_recipient)
        .unwrap_or(false);
    Ok(AccountPage {
        name: account.name.clone(),
        email: account.email.clone(),
        organisation: account.organisation.name.clone(),
        organisation_kind: account.organisation.kind.label(),
        jurisdiction: account.organisation.jurisdiction.clone(),
        role: account.role.label(),
        status: account.status.as_str(),
        created: display_time(account.created_at),
        password_changed: display_time(account.password_changed_at),
        key_fingerprint: account.public_recipient.clone(),
        keys_unlocked,
        sessions: app.accounts.open_sessions(account.id).await?,
        password_changed_notice: query.password_changed.is_some(),
        totp_enrolled: account.totp_enrolled,
        passkeys: account.passkeys,
        listed: app.accounts.is_listed(account.id).await?,
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/password.html")]
pub struct PasswordPage {
    page: Page,
    errors: FieldErrors,
}

pub async fn password_form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<PasswordPage, AppError> {
    Ok(PasswordPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_password(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: crate::web::extract::ClientInfo,
    Form(input): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    if input.current_password.is_empty() {
        errors.add("current_password", "Enter your current password");
    }
    let new = errors.check("new_password", Password::parse(&input.new_password));
    if new.is_some() && input.new_password != input.confirm_password {
        errors.add("confirm_password", "The new passwords do not match");
    }
    if new.is_some() && input.new_password == input.current_password {
        errors.add(
            "new_password",
            "Your new password must be different from your current password",
        );
    }
    if let (Some(new), true) = (new, errors.is_empty()) {
        let current = SecretString::from(input.current_password);
        match app
            .accounts
            .change_password(
                user.account.id,
                &user.token_hash,
                current,
                new,
                &client.address,
            )
            .await
        {
            Ok(()) => return Ok(Redirect::to("/account?password_changed=1").into_response()),
            Err(ChangePasswordError::WrongPassword) => {
                errors.add("current_password", "Your current password is not correct");
            }
            Err(ChangePasswordError::Internal(error)) => return Err(AppError::Internal(error)),
        }
    }
    let mut response = PasswordPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
        errors,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Deserialize)]
pub struct ListingForm {
    #[serde(default)]
    listed: String,
}

/// Whether the person appears in the directory (they can be written to either way).
pub async fn set_listing(
    State(app): State<AppState>,
    user: CurrentUser,
    client: crate::web::extract::ClientInfo,
    Form(form): Form<ListingForm>,
) -> Result<Redirect, AppError> {
    app.accounts
        .set_listed(&user.account, form.listed == "yes", &client.address)
        .await?;
    Ok(Redirect::to("/account"))
}

//! First start: the one-time link printed in the log creates the first service
//! administrator.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::{AccountDraft, CreateAccountError};
use crate::crypto::sha256_hex;
use crate::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::settings::SETUP_TOKEN_HASH;
use crate::web::csrf::CsrfToken;
use crate::web::form::FormErrors;
use crate::web::page::Page;

#[derive(Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/setup.html")]
struct SetupPage {
    page: Page,
    errors: FormErrors,
    form: SetupForm,
}

/// The link is valid while no account exists and it is the latest one issued.
async fn link_is_valid(app: &AppState, token: &str) -> Result<bool, AppError> {
    let stored = app.store.setting(SETUP_TOKEN_HASH).await?;
    Ok(
        stored.as_deref() == Some(sha256_hex(token.as_bytes()).as_str())
            && app.store.count_users().await? == 0,
    )
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !link_is_valid(&app, &token).await? {
        return Err(AppError::NotFound);
    }
    Ok(SetupPage {
        page: Page::anonymous(&csrf),
        errors: FormErrors::default(),
        form: SetupForm {
            organisation: "Casemail service".to_string(),
            ..SetupForm::default()
        },
    }
    .into_response())
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    Form(input): Form<SetupForm>,
) -> Result<Response, AppError> {
    if !link_is_valid(&app, &token).await? {
        return Err(AppError::NotFound);
    }
    let mut errors = FormErrors::default();
    let name = errors.check("name", PersonName::parse(&input.name));
    let email = errors.check("email", EmailAddress::parse(&input.email));
    let organisation = errors.check("organisation", OrganisationName::parse(&input.organisation));
    let password = errors.check("password", Password::parse(&input.password));
    if password.is_some() && input.password != input.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    let (Some(name), Some(email), Some(organisation), Some(password), true) =
        (name, email, organisation, password, errors.is_empty())
    else {
        return Ok(rerender(&csrf, errors, input));
    };
    // Spend the link before creating anything, so two submissions cannot both succeed.
    if !app
        .store
        .take_setting(SETUP_TOKEN_HASH, &sha256_hex(token.as_bytes()))
        .await?
    {
        return Err(AppError::NotFound);
    }
    let now = app.clock.now();
    let organisation = app
        .store
        .ensure_organisation(
            OrganisationKind::Service,
            &organisation,
            &Jurisdiction::parse("").map_err(|e| AppError::Internal(e.into()))?,
            now,
        )
        .await?;
    let draft = AccountDraft {
        organisation_id: organisation.id,
        email,
        name,
        is_admin: true,
        status: UserStatus::Active,
        password,
    };
    match app.create_account_with_code(draft).await {
        Ok((user_id, code)) => {
            tracing::info!(user_id, "first service administrator created");
            Ok(super::register::AccountReadyPage {
                page: Page::anonymous(&csrf),
                code,
            }
            .into_response())
        }
        Err(CreateAccountError::EmailTaken) => Err(AppError::NotFound),
        Err(CreateAccountError::Internal(error)) => Err(AppError::Internal(error)),
    }
}

fn rerender(csrf: &CsrfToken, errors: FormErrors, input: SetupForm) -> Response {
    let mut response = SetupPage {
        page: Page::anonymous(csrf),
        errors,
        form: SetupForm {
            password: String::new(),
            confirm_password: String::new(),
            ..input
        },
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

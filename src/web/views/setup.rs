//! First start: the one-time link printed in the log creates the first service
//! administrator.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::{CreateAccountError, FirstAdministrator};
use crate::domain::FieldErrors;
use crate::domain::{EmailAddress, OrganisationName, Password, PersonName};
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::ClientInfo;
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
    errors: FieldErrors,
    form: SetupForm,
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !app.accounts.setup_link_is_valid(&token).await? {
        return Err(AppError::NotFound);
    }
    Ok(SetupPage {
        page: Page::anonymous(&csrf),
        errors: FieldErrors::default(),
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
    client: ClientInfo,
    Form(input): Form<SetupForm>,
) -> Result<Response, AppError> {
    if !app.accounts.setup_link_is_valid(&token).await? {
        return Err(AppError::NotFound);
    }
    let mut errors = FieldErrors::default();
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
    let admin = FirstAdministrator {
        name,
        email,
        organisation,
        password,
    };
    match app
        .accounts
        .create_first_administrator(&token, admin, &client.address)
        .await
    {
        Ok(Some((user_id, code))) => {
            tracing::info!(user_id, "first service administrator created");
            Ok(super::register::AccountReadyPage {
                page: Page::anonymous(&csrf),
                code,
            }
            .into_response())
        }
        // The link was spent meanwhile (another submission won).
        Ok(None) | Err(CreateAccountError::EmailTaken) => Err(AppError::NotFound),
        Err(CreateAccountError::Internal(error)) => Err(AppError::Internal(error)),
    }
}

fn rerender(csrf: &CsrfToken, errors: FieldErrors, input: SetupForm) -> Response {
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

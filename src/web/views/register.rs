//! Joining Casemail: defence solicitors register themselves and wait for approval;
//! everyone else accepts an invitation from an administrator.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::{Firm, InvitationProblem, Registration, RegistrationProblem};
use crate::domain::FieldErrors;
use crate::domain::{
    EmailAddress, Jurisdiction, OrganisationName, Password, PersonName, parse_line,
};
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::ClientInfo;
use crate::web::page::Page;

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    firm: String,
    #[serde(default)]
    new_firm: String,
    #[serde(default)]
    new_firm_jurisdiction: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/register.html")]
pub struct RegisterPage {
    page: Page,
    errors: FieldErrors,
    form: RegisterForm,
    firms: Vec<OrganisationListing>,
    registered: bool,
    code: String,
}

/// Shown once after an account is created, with its recovery code.
#[derive(Template, WebTemplate)]
#[template(path = "pages/account_ready.html")]
pub struct AccountReadyPage {
    pub page: Page,
    pub code: String,
}

async fn firms(app: &AppState) -> Result<Vec<OrganisationListing>, AppError> {
    Ok(app.accounts.registrable_firms().await?)
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<RegisterPage, AppError> {
    Ok(RegisterPage {
        page: Page::anonymous(&csrf),
        errors: FieldErrors::default(),
        form: RegisterForm::default(),
        firms: firms(&app).await?,
        registered: false,
        code: String::new(),
    })
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    client: ClientInfo,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&form.name));
    let email = errors.check("email", EmailAddress::parse(&form.email));
    let firm = if form.firm == "new" {
        let firm_name = errors.check("new_firm", OrganisationName::parse(&form.new_firm));
        let area = errors.check(
            "new_firm_jurisdiction",
            parse_line(
                &form.new_firm_jurisdiction,
                "Enter the area your firm works in",
                80,
            )
            .and_then(|a| Jurisdiction::parse(&a)),
        );
        firm_name
            .zip(area)
            .map(|(name, area)| Firm::New { name, area })
    } else {
        match form.firm.parse::<i64>() {
            Ok(id) => Some(Firm::Existing(id)),
            Err(_) => {
                errors.add("firm", RegistrationProblem::UnknownFirm.to_string());
                None
            }
        }
    };
    let reference = errors.check(
        "reference",
        parse_line(
            &form.reference,
            "Enter your professional reference, such as your Law Society roll number",
            40,
        ),
    );
    let password = errors.check("password", Password::parse(&form.password));
    if password.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    if let (Some(name), Some(email), Some(firm), Some(reference), Some(password), true) =
        (name, email, firm, reference, password, errors.is_empty())
    {
        let registration = Registration {
            name,
            email,
            firm,
            professional_reference: reference,
            password,
        };
        match app.accounts.register(registration, &client.address).await {
            Ok(code) => {
                return Ok(RegisterPage {
                    page: Page::anonymous(&csrf),
                    errors: FieldErrors::default(),
                    form: RegisterForm::default(),
                    firms: Vec::new(),
                    registered: true,
                    code,
                }
                .into_response());
            }
            Err(RegistrationProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem @ RegistrationProblem::UnknownFirm) => {
                errors.add("firm", problem.to_string());
            }
            Err(problem @ RegistrationProblem::FirmTaken) => {
                errors.add("new_firm", problem.to_string());
            }
            Err(problem @ RegistrationProblem::Paused(_)) => {
                errors.add("email", problem.to_string());
            }
        }
    }
    rerender(&app, &csrf, errors, form).await
}

async fn rerender(
    app: &AppState,
    csrf: &CsrfToken,
    errors: FieldErrors,
    form: RegisterForm,
) -> Result<Response, AppError> {
    let mut response = RegisterPage {
        page: Page::anonymous(csrf),
        errors,
        form: RegisterForm {
            password: String::new(),
            confirm_password: String::new(),
            ..form
        },
        firms: firms(app).await?,
        registered: false,
        code: String::new(),
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitation.html")]
pub struct InvitationPage {
    page: Page,
    errors: FieldErrors,
    name: String,
    email: String,
}

#[derive(Deserialize, Default)]
pub struct PasswordChoice {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

const NOT_USABLE: &str = "This invitation link has expired or has already been used. Ask your \
     administrator to send a new one.";

/// The invitation behind a link, or a page saying it cannot be used.
async fn live_invitation(
    app: &AppState,
    token: &str,
) -> Result<crate::store::InvitationRow, AppError> {
    match app.accounts.live_invitation(token).await {
        Ok(invitation) => Ok(invitation),
        Err(InvitationProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(_) => Err(AppError::BadRequest(NOT_USABLE)),
    }
}

pub async fn invitation(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Result<InvitationPage, AppError> {
    let invitation = live_invitation(&app, &token).await?;
    Ok(InvitationPage {
        page: Page::anonymous(&csrf),
        errors: FieldErrors::default(),
        name: invitation.name,
        email: invitation.email,
    })
}

pub async fn accept(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    client: ClientInfo,
    Form(form): Form<PasswordChoice>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let password = errors.check("password", Password::parse(&form.password));
    if password.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        let invitation = live_invitation(&app, &token).await?;
        let mut response = InvitationPage {
            page: Page::anonymous(&csrf),
            errors,
            name: invitation.name,
            email: invitation.email,
        }
        .into_response();
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    match app
        .accounts
        .accept_invitation(&token, password, &client.address)
        .await
    {
        Ok(code) => Ok(AccountReadyPage {
            page: Page::anonymous(&csrf),
            code,
        }
        .into_response()),
        Err(InvitationProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(InvitationProblem::NotUsable) => Err(AppError::BadRequest(NOT_USABLE)),
        Err(InvitationProblem::EmailTaken) => Err(AppError::BadRequest(
            "There is already an account with this email address. Sign in instead.",
        )),
    }
}

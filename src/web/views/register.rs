//! Joining Casemail: defence solicitors register themselves and wait for approval;
//! everyone else accepts an invitation from an administrator.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::{AccountDraft, CreateAccountError};
use crate::audit::Origin;
use crate::crypto::sha256_hex;
use crate::domain::{
    EmailAddress, Jurisdiction, OrganisationName, Password, PersonName, UserStatus, parse_line,
};
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::extract::ClientInfo;
use crate::web::form::FormErrors;
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
    errors: FormErrors,
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
    Ok(app
        .store
        .all_organisations()
        .await?
        .into_iter()
        .filter(|o| o.kind == "defence" && o.approved != 0)
        .collect())
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<RegisterPage, AppError> {
    Ok(RegisterPage {
        page: Page::anonymous(&csrf),
        errors: FormErrors::default(),
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
    let firms = firms(&app).await?;
    let mut errors = FormErrors::default();
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
        firm_name.zip(area).map(|(n, a)| (None, Some((n, a))))
    } else {
        match form
            .firm
            .parse::<i64>()
            .ok()
            .filter(|id| firms.iter().any(|f| f.id == *id))
        {
            Some(id) => Some((Some(id), None)),
            None => {
                errors.add("firm", "Choose your firm, or add it if it is not listed");
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
        let now = app.clock.now();
        let organisation_id = match firm {
            (Some(id), _) => id,
            (None, Some((firm_name, area))) => match app
                .store
                .create_pending_organisation(&firm_name, &area, now)
                .await
            {
                Ok(org) => org.id,
                Err(e) if e.is_unique_violation() => {
                    errors.add(
                        "new_firm",
                        "A firm with this name is already registered: choose it from the list",
                    );
                    return rerender(&app, &csrf, errors, form).await;
                }
                Err(e) => return Err(e.into()),
            },
            (None, None) => return Err(AppError::BadRequest("Choose your firm.")),
        };
        let draft = AccountDraft {
            organisation_id,
            email,
            name,
            is_admin: false,
            status: UserStatus::Pending,
            password,
        };
        match app.create_account_with_code(draft).await {
            Ok((user_id, code)) => {
                app.store
                    .set_professional_reference(user_id, &reference)
                    .await?;
                let origin = Origin {
                    actor_id: Some(user_id),
                    actor_org_id: Some(organisation_id),
                    client_address: client.address.clone(),
                };
                app.store
                    .audit(&[origin.event(
                        now,
                        EventKind::Registered,
                        SubjectKind::User,
                        Some(user_id),
                        serde_json::json!({}),
                    )])
                    .await?;
                return Ok(RegisterPage {
                    page: Page::anonymous(&csrf),
                    errors: FormErrors::default(),
                    form: RegisterForm::default(),
                    firms: Vec::new(),
                    registered: true,
                    code,
                }
                .into_response());
            }
            Err(CreateAccountError::EmailTaken) => {
                errors.add("email", "There is already an account with this email address. Sign in, or ask your administrator.");
            }
            Err(CreateAccountError::Internal(e)) => return Err(AppError::Internal(e)),
        }
    }
    rerender(&app, &csrf, errors, form).await
}

async fn rerender(
    app: &AppState,
    csrf: &CsrfToken,
    errors: FormErrors,
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
    errors: FormErrors,
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

async fn live_invitation(
    app: &AppState,
    token: &str,
) -> Result<crate::store::InvitationRow, AppError> {
    let invitation = app
        .store
        .invitation_by_token(&sha256_hex(token.as_bytes()))
        .await?
        .ok_or(AppError::NotFound)?;
    if invitation.accepted_at.is_some() || invitation.expires_at <= app.clock.now() {
        return Err(AppError::BadRequest(
            "This invitation link has expired or has already been used. Ask your administrator to send a new one.",
        ));
    }
    Ok(invitation)
}

pub async fn invitation(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Result<InvitationPage, AppError> {
    let invitation = live_invitation(&app, &token).await?;
    Ok(InvitationPage {
        page: Page::anonymous(&csrf),
        errors: FormErrors::default(),
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
    let invitation = live_invitation(&app, &token).await?;
    let mut errors = FormErrors::default();
    let password = errors.check("password", Password::parse(&form.password));
    if password.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
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
    let now = app.clock.now();
    if !app.store.accept_invitation(invitation.id, now).await? {
        return Err(AppError::BadRequest(
            "This invitation has already been used.",
        ));
    }
    let draft = AccountDraft {
        organisation_id: invitation.organisation_id,
        email: EmailAddress::parse(&invitation.email).map_err(|e| AppError::Internal(e.into()))?,
        name: PersonName::parse(&invitation.name).map_err(|e| AppError::Internal(e.into()))?,
        is_admin: invitation.is_admin != 0,
        status: UserStatus::Active,
        password,
    };
    match app.create_account_with_code(draft).await {
        Ok((user_id, code)) => {
            let origin = Origin {
                actor_id: Some(user_id),
                actor_org_id: Some(invitation.organisation_id),
                client_address: client.address,
            };
            app.store
                .audit(&[origin.event(
                    now,
                    EventKind::InvitationAccepted,
                    SubjectKind::User,
                    Some(user_id),
                    serde_json::json!({ "invitation": invitation.id }),
                )])
                .await?;
            Ok(AccountReadyPage {
                page: Page::anonymous(&csrf),
                code,
            }
            .into_response())
        }
        Err(CreateAccountError::EmailTaken) => Err(AppError::BadRequest(
            "There is already an account with this email address. Sign in instead.",
        )),
        Err(CreateAccountError::Internal(e)) => Err(AppError::Internal(e)),
    }
}

//! The organisations page: every administrator sees those in scope; service
//! administrators create them and change their name or jurisdiction.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::admin::scope;
use crate::admin::{OrganisationProblem, SavedOrganisation};
use crate::domain::{FieldErrors, Jurisdiction, OrganisationKind, OrganisationName, Role};
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_organisations.html")]
pub struct OrganisationsPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    can_edit: bool,
    errors: FieldErrors,
}

pub async fn organisations(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<OrganisationsPage, AppError> {
    Ok(OrganisationsPage {
        organisations: scope(&app, &user).await?,
        can_edit: user.account.role == Role::ServiceAdmin,
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct OrganisationForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    kind: String,
}

/// Service admins create organisations and rename them or change their jurisdiction.
pub async fn save_organisation(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<OrganisationForm>,
) -> Result<Response, AppError> {
    if user.account.role != Role::ServiceAdmin {
        return Err(AppError::NotFound);
    }
    let mut errors = FieldErrors::default();
    let name = errors.check("name", OrganisationName::parse(&form.name));
    let jurisdiction = errors.check("jurisdiction", Jurisdiction::parse(&form.jurisdiction));
    let target = if id == "new" {
        errors
            .check("kind", OrganisationKind::parse(&form.kind))
            .map(SavedOrganisation::New)
    } else {
        Some(SavedOrganisation::Existing(
            id.parse::<i64>().map_err(|_| AppError::NotFound)?,
        ))
    };
    if let (Some(name), Some(jurisdiction), Some(target)) = (name, jurisdiction, target) {
        match app
            .admin
            .save_organisation(&user.account, target, &name, &jurisdiction, &client.address)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/admin/organisations").into_response()),
            Err(OrganisationProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(OrganisationProblem::NotAllowed | OrganisationProblem::Unknown) => {
                return Err(AppError::NotFound);
            }
            Err(problem @ OrganisationProblem::NameTaken) => {
                errors.add("name", problem.to_string());
            }
        }
    }
    let mut response = OrganisationsPage {
        organisations: scope(&app, &user).await?,
        can_edit: true,
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        errors,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

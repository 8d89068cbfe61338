//! Secure mail domains (service administrators): the mail domains outside Casemail it
//! exchanges mail with, and the TLS their servers must meet.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::domain::FieldErrors;
use crate::gateway::{DomainDraft, DomainProblem};
use crate::state::AppState;
use crate::store::SecureDomainRow;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_domains.html")]
pub struct DomainsPage {
    page: Page,
    domains: Vec<SecureDomainRow>,
    gateway_on: bool,
    errors: FieldErrors,
    form: DomainForm,
}

#[derive(Deserialize, Default)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    tls: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    next_hop: String,
    #[serde(default)]
    dkim_failure: String,
}

async fn page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    errors: FieldErrors,
    form: DomainForm,
) -> Result<DomainsPage, AppError> {
    let domains = match app.gateway.secure_domains(&user.account).await {
        Ok(domains) => domains,
        Err(DomainProblem::NotServiceAdmin) => return Err(AppError::NotFound),
        Err(other) => return Err(AppError::Internal(anyhow::anyhow!("{other}"))),
    };
    Ok(DomainsPage {
        page: Page::signed_in(app, csrf, user, Section::Admin).await?,
        domains,
        gateway_on: app.gateway.is_enabled(),
        errors,
        form,
    })
}

pub async fn list(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<DomainsPage, AppError> {
    page(
        &app,
        &csrf,
        &user,
        FieldErrors::default(),
        DomainForm::default(),
    )
    .await
}

pub async fn add(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<DomainForm>,
) -> Result<Response, AppError> {
    let draft = DomainDraft {
        domain: &form.domain,
        organisation: &form.organisation,
        kind: &form.kind,
        tls: &form.tls,
        fingerprint: &form.fingerprint,
        next_hop: &form.next_hop,
        dkim_failure: &form.dkim_failure,
    };
    let mut errors = FieldErrors::default();
    match app
        .gateway
        .add_domain(&user.account, &draft, &client.address)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/admin/domains").into_response()),
        Err(DomainProblem::NotServiceAdmin) => return Err(AppError::NotFound),
        Err(DomainProblem::Internal(error)) => return Err(AppError::Internal(error)),
        Err(DomainProblem::Field(field, message)) => errors.add(field, message),
        Err(problem @ DomainProblem::AlreadyListed(_)) => errors.add("domain", problem.to_string()),
    }
    let mut response = page(&app, &csrf, &user, errors, form)
        .await?
        .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    match app
        .gateway
        .remove_domain(&user.account, id, &client.address)
        .await
    {
        Ok(true) => Ok(Redirect::to("/admin/domains")),
        Ok(false) | Err(DomainProblem::NotServiceAdmin) => Err(AppError::NotFound),
        Err(other) => Err(AppError::Internal(anyhow::anyhow!("{other}"))),
    }
}

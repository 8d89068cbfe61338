//! Bulk provisioning: an administrator uploads a CSV of people to invite. Every line is
//! checked first (in `crate::admin`); nobody is invited unless every line is right.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::scope;
use crate::admin::{BulkProblem, BulkRow};
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

const MAX_BYTES: usize = 512 * 1024;

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_bulk.html")]
pub struct BulkPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    problems: Vec<BulkRow>,
    general: Option<String>,
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<BulkPage, AppError> {
    Ok(BulkPage {
        organisations: scope(&app, &user).await?,
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        problems: Vec::new(),
        general: None,
    })
}

pub async fn upload(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let organisations = scope(&app, &user).await?;
    let unreadable = || AppError::BadRequest("The upload could not be read. Try again.");
    let mut bytes = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        if field.name() != Some("file") {
            continue;
        }
        while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(AppError::BadRequest(
                    "The file is too large: upload at most 500 people at a time.",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    let (problems, general) = match app
        .admin
        .invite_from_csv(&user.account, &bytes, &client.address)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/admin/invitations?done=sent").into_response()),
        Err(BulkProblem::Internal(e)) => return Err(AppError::Internal(e)),
        Err(BulkProblem::File(general)) => (Vec::new(), Some(general)),
        Err(BulkProblem::Rows(rows)) => (rows, None),
    };
    let mut response = BulkPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        organisations,
        problems,
        general,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

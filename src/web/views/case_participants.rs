//! Who takes part in a case: adding and removing participants, and defence agents' requests
//! to join, asked for and decided. The rules are in `crate::cases`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::cases::render_case;
use crate::cases::CaseProblem;
use crate::domain::{CaseReference, FieldErrors, OrganisationKind};
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

/// What a case action's problem means for the page: 404 for a case out of reach, a
/// failure, or a message for the person.
fn problem_page(problem: CaseProblem) -> Result<String, AppError> {
    match problem {
        CaseProblem::NotFound => Err(AppError::NotFound),
        CaseProblem::Internal(e) => Err(AppError::Internal(e)),
        problem => Ok(problem.to_string()),
    }
}

/// For actions whose form cannot go wrong in a way the person can fix.
pub(super) fn failed(problem: CaseProblem) -> AppError {
    match problem {
        CaseProblem::NotFound => AppError::NotFound,
        CaseProblem::RemovingYourself => {
            AppError::BadRequest("You cannot remove yourself from a case. Ask a colleague.")
        }
        CaseProblem::Internal(e) => AppError::Internal(e),
        other => AppError::Internal(anyhow::anyhow!("unexpected case problem: {other}")),
    }
}

#[derive(Deserialize)]
pub struct AddParticipant {
    #[serde(default)]
    email: String,
}

pub async fn add_participant(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AddParticipant>,
) -> Result<Response, AppError> {
    let identity = user.identity()?;
    match app
        .cases
        .add_participant(
            &user.account,
            &identity,
            case_id,
            &form.email,
            &client.address,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{case_id}?done=added")).into_response()),
        Err(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("email", problem_page(problem)?);
            let mut response = render_case(&app, &csrf, &user, case_id, errors, None)
                .await?
                .into_response();
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

pub async fn remove_participant(
    State(app): State<AppState>,
    Path((case_id, user_id)): Path<(i64, i64)>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    app.cases
        .remove_participant(&user.account, case_id, user_id, &client.address)
        .await
        .map_err(failed)?;
    Ok(Redirect::to(&format!("/cases/{case_id}?done=removed")))
}

#[derive(Deserialize)]
pub struct Decision {
    #[serde(default)]
    decision: String,
}

pub async fn decide_request(
    State(app): State<AppState>,
    Path((case_id, request_id)): Path<(i64, i64)>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<Decision>,
) -> Result<Redirect, AppError> {
    let accept = form.decision == "accept";
    let identity = user.identity()?;
    app.cases
        .decide_access_request(
            &user.account,
            &identity,
            case_id,
            request_id,
            accept,
            &client.address,
        )
        .await
        .map_err(failed)?;
    let done = if accept { "accepted" } else { "declined" };
    Ok(Redirect::to(&format!("/cases/{case_id}?done={done}")))
}

#[derive(Deserialize, Default)]
pub struct RequestForm {
    #[serde(default)]
    office: String,
    #[serde(default)]
    reference: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/case_request.html")]
pub struct RequestPage {
    page: Page,
    errors: FieldErrors,
    form: RequestForm,
    offices: Vec<(i64, String)>,
}

pub async fn request_form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<RequestPage, AppError> {
    Ok(RequestPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        errors: FieldErrors::default(),
        form: RequestForm::default(),
        offices: app.cases.offices().await?,
    })
}

/// A defence agent asks to join a case. The answer is the same whether or not the case
/// exists, so references cannot be probed.
pub async fn request_access(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<RequestForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let reference = errors.check("reference", CaseReference::parse(&form.reference));
    let offices = app.cases.offices().await?;
    let office = form
        .office
        .parse::<i64>()
        .ok()
        .filter(|id| offices.iter().any(|(o, _)| o == id));
    if office.is_none() {
        errors.add("office", "Choose the prosecution office that owns the case");
    }
    if user.account.organisation.kind != OrganisationKind::Defence {
        errors.add("reference", "Only defence agents ask to join cases. Prosecution staff are added by their colleagues.");
    }
    if let (Some(reference), Some(office), true) = (reference, office, errors.is_empty()) {
        match app
            .cases
            .request_access(&user.account, office, &reference, &client.address)
            .await
        {
            Ok(()) => return Ok(Redirect::to("/cases?done=requested").into_response()),
            Err(CaseProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem) => errors.add("reference", problem.to_string()),
        }
    }
    let mut response = RequestPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        errors,
        form,
        offices,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

//! The administrator's invitations page: inviting one person, and resending a link.
//! Bulk invitations from a CSV file are in `bulk`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::admin::{InvitationListing, InviteProblem, Invitee};
use crate::domain::{EmailAddress, FieldErrors, PersonName};
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_invitations.html")]
pub struct InvitationsPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    invitations: Vec<(crate::store::InvitationRow, String, String)>,
    errors: FieldErrors,
    form: InviteForm,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    admin: String,
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn invitations(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(done): Query<Done>,
    user: CurrentUser,
) -> Result<InvitationsPage, AppError> {
    let notice = match done.done.as_str() {
        "sent" => Some("The invitation has been sent."),
        "resent" => Some("The invitation has been sent again with a new link."),
        _ => None,
    };
    render_invitations(
        &app,
        &csrf,
        &user,
        FieldErrors::default(),
        InviteForm::default(),
        notice,
    )
    .await
}

async fn render_invitations(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    errors: FieldErrors,
    form: InviteForm,
    notice: Option<&'static str>,
) -> Result<InvitationsPage, AppError> {
    let (organisations, listed) = app
        .admin
        .pending_invitations(&user.account)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = app.clock.now();
    let invitations = listed
        .into_iter()
        .map(
            |InvitationListing {
                 invitation,
                 organisation,
             }| {
                let state = if invitation.expires_at <= now {
                    "Expired".to_string()
                } else {
                    format!("Link works until {}", format::time(invitation.expires_at))
                };
                (invitation, organisation, state)
            },
        )
        .collect();
    Ok(InvitationsPage {
        page: Page::signed_in(app, csrf, user, Section::Admin).await?,
        organisations,
        invitations,
        errors,
        form,
        notice,
    })
}

pub async fn invite(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&form.name));
    let email = errors.check("email", EmailAddress::parse(&form.email));
    let organisation_id = form.organisation.parse::<i64>().ok();
    if organisation_id.is_none() {
        errors.add("organisation", InviteProblem::OutOfScope.to_string());
    }
    if let (Some(name), Some(email), Some(organisation_id)) = (name, email, organisation_id) {
        let invitee = Invitee {
            name,
            email,
            organisation_id,
            is_admin: form.admin == "yes",
        };
        match app
            .admin
            .invite(&user.account, invitee, &client.address)
            .await
        {
            Ok(()) => return Ok(Redirect::to("/admin/invitations?done=sent").into_response()),
            Err(InviteProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem @ InviteProblem::OutOfScope) => {
                errors.add("organisation", problem.to_string());
            }
            Err(problem @ InviteProblem::EmailTaken) => errors.add("email", problem.to_string()),
        }
    }
    let mut response = render_invitations(&app, &csrf, &user, errors, form, None)
        .await?
        .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

pub async fn resend_invitation(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    if !app
        .admin
        .resend_invitation(&user.account, id, &client.address)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/invitations?done=resent"))
}

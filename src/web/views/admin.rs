//! The administration panel's pages: users in the admin's scope and what can be done to
//! them, invitations, organisations and the policy. The rules and scope checks are in
//! `crate::admin`; anything out of scope is 404 here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::admin::{
    ActionProblem, ActionRequest, InvitationListing, InviteProblem, Invitee, OrganisationProblem,
    SavedOrganisation, UserFilter,
};
use crate::clock::display_time;
use crate::domain::FieldErrors;
use crate::domain::{
    AccountAction, EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, PersonName,
    Role, UserStatus,
};
use crate::state::AppState;
use crate::store::{AdminUserRow, OrganisationListing};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

/// The organisations this admin administers; 404 for non-admins.
pub async fn scope(
    app: &AppState,
    user: &CurrentUser,
) -> Result<Vec<OrganisationListing>, AppError> {
    app.admin
        .scope(&user.account)
        .await?
        .ok_or(AppError::NotFound)
}

/// The user if this admin may administer them; 404 otherwise.
pub async fn target(
    app: &AppState,
    user: &CurrentUser,
    user_id: i64,
) -> Result<AdminUserRow, AppError> {
    app.admin
        .target(&user.account, user_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub struct ListedUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub status: &'static str,
    pub last_sign_in: String,
    pub admin: bool,
    /// The policy's next step, when a warning is already due.
    pub due: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_users.html")]
pub struct UsersPage {
    page: Page,
    users: Vec<ListedUser>,
    organisations: Vec<OrganisationListing>,
    query: UsersQuery,
    pending: usize,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    q: String,
    /// Only people not signed in for at least this many days.
    #[serde(default)]
    inactive: String,
    #[serde(default)]
    done: String,
}

pub async fn users(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<UsersQuery>,
    user: CurrentUser,
) -> Result<UsersPage, AppError> {
    let filter = UserFilter {
        organisation: query.organisation.parse().ok(),
        status: UserStatus::parse(&query.status).ok(),
        search: query.q.clone(),
        inactive_days: query.inactive.parse().ok(),
    };
    let list = app
        .admin
        .users(&user.account, &filter)
        .await?
        .ok_or(AppError::NotFound)?;
    let users = list
        .users
        .into_iter()
        .map(|listed| {
            let r = listed.user;
            ListedUser {
                id: r.id,
                last_sign_in: r
                    .last_sign_in_at
                    .map_or_else(|| "Never".to_string(), display_time),
                name: r.name,
                email: r.email,
                organisation: r.organisation,
                status: r.status.as_str(),
                admin: r.is_admin,
                due: listed
                    .due
                    .map(|(step, at)| format!("Will be {} on {}", step.verb(), display_time(at))),
            }
        })
        .collect();
    let notice = match query.done.as_str() {
        "" => None,
        done => Some(format!("Done: the account is now {done}.")),
    };
    Ok(UsersPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        users,
        organisations: list.organisations,
        query,
        pending: list.pending,
        notice,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_user.html")]
pub struct UserPage {
    page: Page,
    person: AdminUserRow,
    created: String,
    last_sign_in: String,
    errors: FieldErrors,
}

pub async fn user_detail(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
) -> Result<UserPage, AppError> {
    let person = target(&app, &user, user_id).await?;
    user_page(&app, &csrf, &user, person, FieldErrors::default()).await
}

async fn user_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    person: AdminUserRow,
    errors: FieldErrors,
) -> Result<UserPage, AppError> {
    Ok(UserPage {
        page: Page::signed_in(app, csrf, user, Section::Admin).await?,
        created: display_time(person.created_at),
        last_sign_in: person
            .last_sign_in_at
            .map_or_else(|| "Never".to_string(), display_time),
        person,
        errors,
    })
}

#[derive(Deserialize)]
pub struct StatusAction {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// Approve, reject, unlock, reactivate, suspend or delete, or reset the second factor,
/// where the status allows it.
pub async fn change_status(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<StatusAction>,
) -> Result<Response, AppError> {
    let person = target(&app, &user, user_id).await?;
    let mut errors = FieldErrors::default();
    let Some(action) = errors.check("action", AccountAction::parse(&form.action)) else {
        return rerender_user(&app, &csrf, &user, person, errors).await;
    };
    let request = ActionRequest {
        action,
        reason: &form.reason,
        confirmed: form.confirm == "yes",
    };
    match app
        .admin
        .act_on_user(&user.account, &person, request, &client.address)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users?done={}", action.done())).into_response()),
        Err(ActionProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let field = match problem {
                ActionProblem::ReasonNeeded => "reason",
                ActionProblem::ConfirmationNeeded => "confirm",
                _ => "action",
            };
            errors.add(field, problem.to_string());
            rerender_user(&app, &csrf, &user, person, errors).await
        }
    }
}

pub async fn rerender_user(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    person: AdminUserRow,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let mut response = user_page(app, csrf, user, person, errors)
        .await?
        .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

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
                    format!("Link works until {}", display_time(invitation.expires_at))
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

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_policy.html")]
pub struct PolicyPage {
    page: Page,
    policy: crate::domain::InactivityPolicy,
    smtp: bool,
}

pub async fn policy(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<PolicyPage, AppError> {
    scope(&app, &user).await?;
    let (policy, smtp) = app.admin.policy();
    Ok(PolicyPage {
        policy,
        smtp,
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
    })
}

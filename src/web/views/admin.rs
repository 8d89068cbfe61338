//! The administration panel's user pages and policy: the people in the admin's scope and
//! what can be done to them. Invitations and organisations have pages of their own. The
//! rules and scope checks are in `crate::admin`; anything out of scope is 404 here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::admin::{ActionProblem, ActionRequest, UserFilter};
use crate::domain::{AccountAction, FieldErrors, UserStatus};
use crate::state::AppState;
use crate::store::{AdminUserRow, OrganisationListing};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
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
                    .map_or_else(|| "Never".to_string(), format::time),
                name: r.name,
                email: r.email,
                organisation: r.organisation,
                status: r.status.as_str(),
                admin: r.is_admin,
                due: listed
                    .due
                    .map(|(step, at)| format!("Will be {} on {}", step.verb(), format::time(at))),
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
        created: format::time(person.created_at),
        last_sign_in: person
            .last_sign_in_at
            .map_or_else(|| "Never".to_string(), format::time),
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

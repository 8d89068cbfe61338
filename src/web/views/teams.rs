//! Team mailboxes: an administrator's list and the form that creates one, a member's page
//! of the team's members (where managers add and remove them), and putting a team's
//! letter in a member's hands.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::{TeamDraft, TeamProblem};
use crate::domain::FieldErrors;
use crate::mail::AssignProblem;
use crate::state::AppState;
use crate::store::{MemberRow, TeamRow};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_teams.html")]
pub struct AdminTeamsPage {
    page: Page,
    teams: Vec<TeamRow>,
    errors: FieldErrors,
    form: CreateForm,
    /// The address field's hint, naming the organisation's domain.
    address_hint: String,
    created: bool,
}

#[derive(Deserialize, Default)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    managers: String,
    #[serde(default)]
    members: String,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn admin_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    errors: FieldErrors,
    form: CreateForm,
    created: bool,
) -> Result<AdminTeamsPage, AppError> {
    if !user.account.role.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(AdminTeamsPage {
        page: Page::signed_in(app, csrf, user, Section::Admin).await?,
        teams: app.accounts.organisation_teams(&user.account).await?,
        errors,
        form,
        address_hint: format!(
            "In your organisation's domain: for example, summary.team@{}",
            user.account.email.rsplit('@').next().unwrap_or_default()
        ),
        created,
    })
}

pub async fn admin_list(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<DoneQuery>,
    user: CurrentUser,
) -> Result<AdminTeamsPage, AppError> {
    let created = query.done.as_deref() == Some("created");
    admin_page(
        &app,
        &csrf,
        &user,
        FieldErrors::default(),
        CreateForm::default(),
        created,
    )
    .await
}

pub async fn create(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    let draft = TeamDraft {
        name: &form.name,
        email: &form.email,
        members: &form.members,
        managers: &form.managers,
    };
    match app
        .accounts
        .create_team(&user.account, &draft, &client.address)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/teams?done=created").into_response()),
        Err(TeamProblem::NotAdministrator) => Err(AppError::NotFound),
        Err(TeamProblem::Internal(error)) => Err(AppError::Internal(error)),
        Err(problem) => {
            let field = match problem {
                TeamProblem::BadName => "name",
                TeamProblem::BadAddress(_)
                | TeamProblem::OtherDomain(_)
                | TeamProblem::AddressTaken(_) => "email",
                TeamProblem::NoManager => "managers",
                _ => "members",
            };
            let mut errors = FieldErrors::default();
            errors.add(field, problem.to_string());
            let page = admin_page(&app, &csrf, &user, errors, form, false).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/team.html")]
pub struct TeamPage {
    page: Page,
    team: TeamRow,
    members: Vec<MemberRow>,
    errors: FieldErrors,
    email: String,
    notice: Option<&'static str>,
}

async fn team_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    team_id: i64,
    errors: FieldErrors,
    email: String,
    notice: Option<&'static str>,
) -> Result<TeamPage, AppError> {
    let (team, members) = app
        .accounts
        .team_for_member(user.person(), team_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(TeamPage {
        page: Page::signed_in(app, csrf, user, Section::Mail).await?,
        team,
        members,
        errors,
        email,
        notice,
    })
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(team_id): Path<i64>,
    Query(query): Query<DoneQuery>,
    user: CurrentUser,
) -> Result<TeamPage, AppError> {
    let notice = match query.done.as_deref() {
        Some("added") => {
            Some("Member added. They can open the team's mailbox now, history included.")
        }
        Some("removed") => Some("Member removed. They can no longer open the team's mailbox."),
        Some("rotated") => Some(
            "Member removed and the team's key replaced: mail from now on opens only for the members who remain.",
        ),
        _ => None,
    };
    team_page(
        &app,
        &csrf,
        &user,
        team_id,
        FieldErrors::default(),
        String::new(),
        notice,
    )
    .await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    manager: Option<String>,
}

pub async fn add_member(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(team_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    let added = app
        .accounts
        .add_team_member(
            &user.account,
            &user.identity()?,
            team_id,
            &form.email,
            form.manager.is_some(),
            &client.address,
        )
        .await;
    match added {
        Ok(()) => Ok(Redirect::to(&format!("/teams/{team_id}?done=added")).into_response()),
        Err(TeamProblem::NotManager) => Err(AppError::NotFound),
        Err(TeamProblem::Internal(error)) => Err(AppError::Internal(error)),
        Err(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("email", problem.to_string());
            let page = team_page(&app, &csrf, &user, team_id, errors, form.email, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    rotate: Option<String>,
}

pub async fn remove_member(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path((team_id, member_id)): Path<(i64, i64)>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    let rotate = form.rotate.is_some();
    let removed = app
        .accounts
        .remove_team_member(
            &user.account,
            &user.identity()?,
            team_id,
            member_id,
            rotate,
            &client.address,
        )
        .await;
    match removed {
        Ok(true) => {
            let done = if rotate { "rotated" } else { "removed" };
            Ok(Redirect::to(&format!("/teams/{team_id}?done={done}")).into_response())
        }
        Ok(false) | Err(TeamProblem::NotManager) => Err(AppError::NotFound),
        Err(TeamProblem::Internal(error)) => Err(AppError::Internal(error)),
        Err(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("email", problem.to_string());
            let page = team_page(&app, &csrf, &user, team_id, errors, String::new(), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    /// A member's id, or empty to put it back to nobody.
    #[serde(default)]
    member: String,
    /// Set by "Take it myself": the member asking claims it, whatever is chosen.
    #[serde(default)]
    claim: Option<String>,
}

/// Puts a team's conversation in a member's hands (in the team's mailbox).
pub async fn assign(
    State(app): State<AppState>,
    Path(thread_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<AssignForm>,
) -> Result<Redirect, AppError> {
    let member = match (form.claim, form.member.trim()) {
        (Some(_), _) => Some(user.person().id),
        (None, "") => None,
        (None, id) => Some(id.parse::<i64>().map_err(|_| AppError::NotFound)?),
    };
    match app
        .mail
        .assign(&user.account, thread_id, member, &client.address)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/threads/{thread_id}?assigned=1"))),
        Err(AssignProblem::NotFound) => Err(AppError::NotFound),
        Err(AssignProblem::Internal(error)) => Err(AppError::Internal(error)),
    }
}

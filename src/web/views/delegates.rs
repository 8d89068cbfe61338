//! Delegates: the owner's page for granting and withdrawing them (with what they did),
//! and a delegate's list of the mailboxes they may work in, with the switch between them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::accounts::DelegationProblem;
use crate::domain::FieldErrors;
use crate::state::AppState;
use crate::store::{DelegationRow, TeamRow};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, Section};

/// One thing a delegate did, in words.
pub struct DelegateAction {
    pub at: String,
    pub who: String,
    pub what: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/delegates.html")]
pub struct DelegatesPage {
    page: Page,
    delegates: Vec<DelegationRow>,
    actions: Vec<DelegateAction>,
    errors: FieldErrors,
    email: String,
    can_send: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct DelegatesQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn delegates_page(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    errors: FieldErrors,
    email: String,
    can_send: bool,
    notice: Option<&'static str>,
) -> Result<DelegatesPage, AppError> {
    let delegates = app.accounts.delegates(&user.account).await?;
    let actions = app
        .accounts
        .delegate_activity(&user.account, &delegates, 50)
        .await?
        .into_iter()
        .map(|event| DelegateAction {
            at: format::time(event.at),
            who: delegates
                .iter()
                .find(|d| Some(d.delegate_id) == event.actor_id)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            what: event.kind.describe(),
        })
        .collect();
    Ok(DelegatesPage {
        page: Page::signed_in(app, csrf, user, Section::Account).await?,
        delegates,
        actions,
        errors,
        email,
        can_send,
        notice,
    })
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<DelegatesQuery>,
    user: CurrentUser,
) -> Result<DelegatesPage, AppError> {
    let notice = match query.done.as_deref() {
        Some("granted") => Some("Your delegate can now open your mailbox."),
        Some("withdrawn") => Some("Access withdrawn. They can no longer open your mailbox."),
        _ => None,
    };
    delegates_page(
        &app,
        &csrf,
        &user,
        FieldErrors::default(),
        String::new(),
        false,
        notice,
    )
    .await
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    access: String,
}

pub async fn grant(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<GrantForm>,
) -> Result<Response, AppError> {
    let can_send = form.access == "send";
    let granted = app
        .accounts
        .grant_delegation(
            &user.account,
            &user.identity()?,
            form.email.trim(),
            can_send,
            &client.address,
        )
        .await;
    match granted {
        Ok(()) => Ok(Redirect::to("/account/delegates?done=granted").into_response()),
        Err(DelegationProblem::Internal(error)) => Err(AppError::Internal(error)),
        Err(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("email", problem.to_string());
            let page =
                delegates_page(&app, &csrf, &user, errors, form.email, can_send, None).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn withdraw(
    State(app): State<AppState>,
    Path(delegate_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    match app
        .accounts
        .withdraw_delegation(&user.account, delegate_id, &client.address)
        .await
    {
        Ok(true) => Ok(Redirect::to("/account/delegates?done=withdrawn")),
        Ok(false) => Err(AppError::NotFound),
        Err(DelegationProblem::Internal(error)) => Err(AppError::Internal(error)),
        Err(_) => Err(AppError::OwnerOnly { can_send: true }),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/delegated_mailboxes.html")]
pub struct MailboxesPage {
    page: Page,
    mailboxes: Vec<DelegationRow>,
    teams: Vec<TeamRow>,
    /// The owner whose mailbox the session works in now, if any.
    current: Option<i64>,
}

/// The mailboxes the signed-in person may work in: their teams', and as a delegate.
pub async fn mailboxes(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<MailboxesPage, AppError> {
    let mailboxes = app.accounts.delegated_mailboxes(user.person()).await?;
    let teams = app.accounts.teams_of(user.person()).await?;
    let current = user
        .account
        .acting_delegate
        .as_ref()
        .map(|_| user.account.id);
    Ok(MailboxesPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Mail).await?,
        mailboxes,
        teams,
        current,
    })
}

#[derive(Deserialize)]
pub struct SwitchForm {
    /// The owner's id, or empty for the person's own mailbox.
    #[serde(default)]
    owner: String,
}

pub async fn switch(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect, AppError> {
    let owner = form.owner.trim().parse::<i64>().ok();
    let switched = app
        .accounts
        .switch_mailbox(user.person(), &user.token_hash, owner, &client.address)
        .await?;
    if !switched {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/mail/inbox"))
}

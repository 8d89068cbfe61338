//! The administration panel: users in the admin's scope and what can be done to them,
//! invitations, organisations and the policy. Metadata only: no administrator can read
//! anyone's mail. Every action checks scope; users outside it get 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::clock::display_time;
use crate::crypto::{RandomToken, sha256_hex};
use crate::domain::{
    EmailAddress, Jurisdiction, OrgScope, OrganisationKind, OrganisationName, PersonName, Role,
    UserStatus, may_administer,
};
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{AdminUserRow, InvitationRow, NewInvitation, OrganisationListing};
use crate::web::csrf::CsrfToken;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::form::FormErrors;
use crate::web::page::{Page, Section};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// The organisations this admin administers; 404 for non-admins.
pub async fn scope(
    app: &AppState,
    user: &CurrentUser,
) -> Result<Vec<OrganisationListing>, AppError> {
    let account = &user.account;
    if !account.role.is_admin() {
        return Err(AppError::NotFound);
    }
    let mine = OrgScope {
        id: account.organisation.id,
        kind: account.organisation.kind,
        jurisdiction: &account.organisation.jurisdiction,
    };
    Ok(app
        .store
        .all_organisations()
        .await?
        .into_iter()
        .filter(|o| {
            let kind = OrganisationKind::parse(&o.kind).unwrap_or(OrganisationKind::Service);
            may_administer(
                account.role,
                &mine,
                &OrgScope {
                    id: o.id,
                    kind,
                    jurisdiction: &o.jurisdiction,
                },
            )
        })
        .collect())
}

/// The user if this admin may administer them (and they are not the admin themself).
pub async fn target(
    app: &AppState,
    user: &CurrentUser,
    user_id: i64,
) -> Result<AdminUserRow, AppError> {
    let orgs = scope(app, user).await?;
    let row = app
        .store
        .admin_user(user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.id == user.account.id || !orgs.iter().any(|o| o.id == row.organisation_id) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

pub struct ListedUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub status: String,
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
    let organisations = scope(&app, &user).await?;
    let ids: Vec<i64> = organisations
        .iter()
        .filter(|o| query.organisation.is_empty() || query.organisation == o.id.to_string())
        .map(|o| o.id)
        .collect();
    let status = UserStatus::parse(&query.status).ok().map(|s| s.as_str());
    let rows = app.store.users_of(&ids, status, &query.q).await?;
    let all_ids: Vec<i64> = organisations.iter().map(|o| o.id).collect();
    let pending = app
        .store
        .users_of(&all_ids, Some("pending"), "")
        .await?
        .len();
    let policy = app.config.inactivity_policy();
    let now = app.clock.now();
    let users = rows
        .into_iter()
        .filter(|r| r.status != "deleted" || status == Some("deleted"))
        .filter(|r| match query.inactive.parse::<i64>() {
            Ok(days) => r.last_sign_in_at.unwrap_or(r.created_at) <= now - days * 86_400,
            Err(_) => true,
        })
        .map(|r| {
            let current = UserStatus::parse(&r.status).unwrap_or(UserStatus::Deleted);
            let last_active = r.last_sign_in_at.unwrap_or(r.created_at);
            let due = match policy.decide(current, last_active, now) {
                crate::domain::Decision::Warn { step, at, .. } => {
                    Some(format!("Will be {} on {}", step.verb(), display_time(at)))
                }
                _ => None,
            };
            ListedUser {
                id: r.id,
                last_sign_in: r
                    .last_sign_in_at
                    .map_or_else(|| "Never".to_string(), display_time),
                name: r.name,
                email: r.email,
                organisation: r.organisation,
                status: r.status,
                admin: r.is_admin != 0,
                due,
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
        organisations,
        query,
        pending,
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
    errors: FormErrors,
}

pub async fn user_detail(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
) -> Result<UserPage, AppError> {
    let person = target(&app, &user, user_id).await?;
    Ok(UserPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        created: display_time(person.created_at),
        last_sign_in: person
            .last_sign_in_at
            .map_or_else(|| "Never".to_string(), display_time),
        person,
        errors: FormErrors::default(),
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

/// Approve, reject, unlock, reactivate, suspend or delete, where the status allows it.
pub async fn change_status(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(user_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<StatusAction>,
) -> Result<Response, AppError> {
    let person = target(&app, &user, user_id).await?;
    let current = UserStatus::parse(&person.status).unwrap_or(UserStatus::Deleted);
    let reason = form.reason.trim();
    let mut errors = FormErrors::default();
    let change = match (form.action.as_str(), current) {
        ("approve", UserStatus::Pending) => Some((UserStatus::Active, "approved")),
        ("reject", UserStatus::Pending) => {
            if reason.is_empty() {
                errors.add(
                    "reason",
                    "Give the reason for rejecting the registration; the applicant is told it",
                );
            }
            Some((UserStatus::Deleted, "rejected"))
        }
        ("unlock", UserStatus::Locked) => Some((UserStatus::Active, "unlocked")),
        ("reactivate", UserStatus::Suspended) => Some((UserStatus::Active, "reactivated")),
        ("suspend", UserStatus::Active | UserStatus::Locked) => {
            Some((UserStatus::Suspended, "suspended"))
        }
        ("reset_second_factor", _) => {
            app.store.reset_totp(user_id).await?;
            let event = crate::audit::Origin::user(&user.account, &client.address).event(
                app.clock.now(),
                EventKind::SecondFactorReset,
                SubjectKind::User,
                Some(user_id),
                serde_json::json!({}),
            );
            app.store.audit(&[event]).await?;
            return Ok(Redirect::to("/admin/users?done=reset").into_response());
        }
        ("delete", UserStatus::Active | UserStatus::Locked | UserStatus::Suspended) => {
            if form.confirm != "yes" {
                errors.add(
                    "confirm",
                    "Confirm that the account and its keys are to be destroyed",
                );
            }
            Some((UserStatus::Deleted, "deleted"))
        }
        _ => None,
    };
    let Some((status, done)) = change else {
        errors.add(
            "action",
            format!(
                "That cannot be done to an account that is {}.",
                person.status
            ),
        );
        return rerender_user(&app, &csrf, &user, person, errors).await;
    };
    if !errors.is_empty() {
        return rerender_user(&app, &csrf, &user, person, errors).await;
    }
    let reason = if reason.is_empty() {
        format!("{done} by an administrator")
    } else {
        reason.to_string()
    };
    app.change_status(
        Some(&user.account),
        user_id,
        status,
        &reason,
        &client.address,
    )
    .await?;
    if form.action == "approve" {
        app.store
            .approve_organisation(person.organisation_id)
            .await?;
    }
    Ok(Redirect::to(&format!("/admin/users?done={done}")).into_response())
}

pub async fn rerender_user(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    person: AdminUserRow,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let mut response = UserPage {
        page: Page::signed_in(app, csrf, user, Section::Admin).await?,
        created: display_time(person.created_at),
        last_sign_in: person
            .last_sign_in_at
            .map_or_else(|| "Never".to_string(), display_time),
        person,
        errors,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_invitations.html")]
pub struct InvitationsPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    invitations: Vec<(InvitationRow, String, String)>,
    errors: FormErrors,
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
        FormErrors::default(),
        InviteForm::default(),
        notice,
    )
    .await
}

async fn render_invitations(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    errors: FormErrors,
    form: InviteForm,
    notice: Option<&'static str>,
) -> Result<InvitationsPage, AppError> {
    let organisations = scope(app, user).await?;
    let ids: Vec<i64> = organisations.iter().map(|o| o.id).collect();
    let now = app.clock.now();
    let invitations = app
        .store
        .pending_invitations(&ids)
        .await?
        .into_iter()
        .map(|i| {
            let org = organisations
                .iter()
                .find(|o| o.id == i.organisation_id)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            let state = if i.expires_at <= now {
                "Expired".to_string()
            } else {
                format!("Link works until {}", display_time(i.expires_at))
            };
            (i, org, state)
        })
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
    let organisations = scope(&app, &user).await?;
    let mut errors = FormErrors::default();
    let name = errors.check("name", PersonName::parse(&form.name));
    let email = errors.check("email", EmailAddress::parse(&form.email));
    let org = form
        .organisation
        .parse::<i64>()
        .ok()
        .filter(|id| organisations.iter().any(|o| o.id == *id));
    if org.is_none() {
        errors.add(
            "organisation",
            "Choose the organisation the person will belong to",
        );
    }
    if let Some(email) = &email
        && app.store.address_record(email).await?.is_some()
    {
        errors.add(
            "email",
            "There is already an account with this email address",
        );
    }
    let (Some(name), Some(email), Some(org), true) = (name, email, org, errors.is_empty()) else {
        let mut response = render_invitations(&app, &csrf, &user, errors, form, None)
            .await?
            .into_response();
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    invite_one(
        &app,
        &user,
        &client,
        org,
        &email,
        &name,
        form.admin == "yes",
    )
    .await?;
    Ok(Redirect::to("/admin/invitations?done=sent").into_response())
}

/// Creates an invitation with a fresh single-use token and emails its link.
pub async fn invite_one(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    organisation_id: i64,
    email: &EmailAddress,
    name: &PersonName,
    is_admin: bool,
) -> Result<(), AppError> {
    let token = RandomToken::generate();
    let now = app.clock.now();
    let token_hash = sha256_hex(token.as_str().as_bytes());
    let id = app
        .store
        .create_invitation(&NewInvitation {
            organisation_id,
            email: email.as_str(),
            name: name.as_str(),
            is_admin,
            token_hash: &token_hash,
            invited_by: user.account.id,
            now,
            expires_at: now + INVITATION_DAYS * 86_400,
        })
        .await?;
    send_invitation(
        app,
        user,
        client,
        id,
        email.as_str(),
        name.as_str(),
        token.as_str(),
    )
    .await
}

pub async fn send_invitation(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
    email: &str,
    name: &str,
    token: &str,
) -> Result<(), AppError> {
    let now = app.clock.now();
    let link = format!("{}/invite/{token}", app.config.public_url());
    let body = format!(
        "Dear {name},\n\n{} has invited you to Casemail, the secure correspondence service for \
         criminal justice. Open this link to choose your password and activate your account:\n\n\
         {link}\n\nThe link works once and expires in {INVITATION_DAYS} days.\n",
        user.account.name
    );
    app.store
        .queue_notification(email, "You are invited to Casemail", &body, None, now)
        .await?;
    let event = crate::audit::Origin::user(&user.account, &client.address).event(
        now,
        EventKind::InvitationSent,
        SubjectKind::Invitation,
        Some(id),
        serde_json::json!({}),
    );
    app.store.audit(&[event]).await?;
    Ok(())
}

pub async fn resend_invitation(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    let organisations = scope(&app, &user).await?;
    let invitation = app.store.invitation(id).await?.ok_or(AppError::NotFound)?;
    if invitation.accepted_at.is_some()
        || !organisations
            .iter()
            .any(|o| o.id == invitation.organisation_id)
    {
        return Err(AppError::NotFound);
    }
    let token = RandomToken::generate();
    let expires = app.clock.now() + INVITATION_DAYS * 86_400;
    app.store
        .renew_invitation(id, &sha256_hex(token.as_str().as_bytes()), expires)
        .await?;
    send_invitation(
        &app,
        &user,
        &client,
        id,
        &invitation.email,
        &invitation.name,
        token.as_str(),
    )
    .await?;
    Ok(Redirect::to("/admin/invitations?done=resent"))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_organisations.html")]
pub struct OrganisationsPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    can_edit: bool,
    errors: FormErrors,
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
        errors: FormErrors::default(),
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
    let mut errors = FormErrors::default();
    let name = errors.check("name", OrganisationName::parse(&form.name));
    let jurisdiction = errors.check("jurisdiction", Jurisdiction::parse(&form.jurisdiction));
    if let (Some(name), Some(jurisdiction)) = (name, jurisdiction) {
        let now = app.clock.now();
        let saved = if id == "new" {
            match OrganisationKind::parse(&form.kind) {
                Ok(kind) => match app
                    .store
                    .create_organisation(kind, &name, &jurisdiction, now)
                    .await
                {
                    Ok(org) => Some(org.id),
                    Err(e) if e.is_unique_violation() => {
                        errors.add("name", "An organisation with this name already exists");
                        None
                    }
                    Err(e) => return Err(e.into()),
                },
                Err(e) => {
                    errors.add("kind", e.to_string());
                    None
                }
            }
        } else {
            let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
            app.store
                .update_organisation(id, &name, &jurisdiction)
                .await?;
            Some(id)
        };
        if let Some(org_id) = saved {
            let event = crate::audit::Origin::user(&user.account, &client.address).event(
                now,
                EventKind::OrganisationSaved,
                SubjectKind::Organisation,
                Some(org_id),
                serde_json::json!({ "name": name.as_str(), "jurisdiction": jurisdiction.as_str() }),
            );
            app.store.audit(&[event]).await?;
            return Ok(Redirect::to("/admin/organisations").into_response());
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
    Ok(PolicyPage {
        policy: app.config.inactivity_policy(),
        smtp: app.config.smtp_url.is_some(),
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
    })
}

//! The case pages: the list, creating a case, a case's page with its correspondence,
//! disclosure and participants, and defence agents' requests to join. The rules are in
//! `crate::cases`; a case the user does not take part in is 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::case_participants::failed;
use crate::cases::{CaseDetails, CaseFile, CaseProblem, Disclosure, NewCase};
use crate::domain::FieldErrors;
use crate::domain::{
    CaseReference, CaseStatus, NegotiationState, OrganisationKind, Side, parse_charges, parse_line,
};
use crate::mail::ListedMessage;
use crate::state::AppState;
use crate::store::{AccessRequestRow, CaseRow, ParticipantRow};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, Section};

pub struct ListedCase {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub court: String,
    pub office: String,
    pub status: &'static str,
    pub plea: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/cases.html")]
pub struct CasesPage {
    page: Page,
    cases: Vec<ListedCase>,
    prosecution: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    done: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<Notice>,
    user: CurrentUser,
) -> Result<CasesPage, AppError> {
    let cases = app
        .cases
        .list(&user.account, &user.mailbox_keys(&app).await?)
        .await?
        .into_iter()
        .map(|listed| {
            let case = listed.case;
            ListedCase {
                id: case.id,
                title: listed.title,
                plea: plea_label(case.plea_state),
                reference: case.reference,
                court: case.court,
                office: case.organisation_name,
                status: case.status.as_str(),
            }
        })
        .collect();
    Ok(CasesPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        cases,
        prosecution: user.account.organisation.kind == OrganisationKind::Prosecution,
        notice: match query.done.as_deref() {
            Some("requested") => Some(
                "If that office has a case with this reference, its fiscals will see your \
                 request. You will have access once they accept it.",
            ),
            _ => None,
        },
    })
}

pub fn plea_label(state: Option<NegotiationState>) -> &'static str {
    state.map_or("No negotiation", NegotiationState::label)
}

#[derive(Deserialize, Default)]
pub struct CaseForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    court: String,
    #[serde(default)]
    accused: String,
    #[serde(default)]
    charges: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/case_new.html")]
pub struct NewCasePage {
    page: Page,
    errors: FieldErrors,
    form: CaseForm,
}

pub async fn new_form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<NewCasePage, AppError> {
    prosecution_only(&user)?;
    Ok(NewCasePage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        errors: FieldErrors::default(),
        form: CaseForm::default(),
    })
}

fn prosecution_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.account.organisation.kind == OrganisationKind::Prosecution {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn create(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<CaseForm>,
) -> Result<Response, AppError> {
    prosecution_only(&user)?;
    let mut errors = FieldErrors::default();
    let reference = errors.check("reference", CaseReference::parse(&form.reference));
    let title = errors.check(
        "title",
        parse_line(&form.title, "Enter the case title, like HMA v Smith", 200),
    );
    let court = errors.check("court", parse_line(&form.court, "Enter the court", 120));
    let accused = errors.check(
        "accused",
        parse_line(&form.accused, "Enter the name of the accused", 300),
    );
    let charges = errors.check("charges", parse_charges(&form.charges));
    if let (Some(reference), Some(title), Some(court), Some(accused), Some(charges)) =
        (reference, title, court, accused, charges)
    {
        let case = NewCase {
            reference,
            court,
            details: CaseDetails {
                title,
                accused,
                charges,
            },
        };
        match app.cases.create(&user.account, case, &client.address).await {
            Ok(id) => return Ok(Redirect::to(&format!("/cases/{id}?done=created")).into_response()),
            Err(CaseProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem) => errors.add("reference", problem.to_string()),
        }
    }
    let mut response = NewCasePage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        errors,
        form,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// A disclosed document as the case page lists it.
pub struct ShownDisclosure {
    pub thread_id: i64,
    pub message_id: i64,
    pub position: usize,
    pub name: String,
    pub size: String,
    pub sender: String,
    pub sent: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/case.html")]
pub struct CasePage {
    page: Page,
    case: CaseRow,
    details: CaseDetails,
    created: String,
    prosecution: bool,
    participants: Vec<ParticipantRow>,
    requests: Vec<AccessRequestRow>,
    messages: Vec<ListedMessage>,
    disclosures: Vec<ShownDisclosure>,
    plea: &'static str,
    errors: FieldErrors,
    notice: Option<&'static str>,
    /// The team holding the case: (id, name, address).
    holder: Option<(i64, String, String)>,
    /// For the prosecution: the office's team mailboxes the case can be given to.
    teams: Vec<crate::store::TeamRow>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    Query(query): Query<Notice>,
    user: CurrentUser,
) -> Result<CasePage, AppError> {
    render_case(
        &app,
        &csrf,
        &user,
        case_id,
        FieldErrors::default(),
        notice(query.done.as_deref()),
    )
    .await
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("The case has been created. Everyone in your office can see it."),
        "added" => Some("The participant has been added and the case details shared with them."),
        "removed" => Some("The participant has been removed from the case."),
        "accepted" => Some("The request has been accepted."),
        "declined" => Some("The request has been declined."),
        "concluded" => Some("The case is marked as concluded."),
        "team" => Some("Saved. Letters written to the case now reach the team that holds it."),
        "reopened" => Some("The case is open again."),
        _ => None,
    }
}

pub(super) async fn render_case(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    case_id: i64,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<CasePage, AppError> {
    let CaseFile {
        case,
        details,
        participants,
        requests,
        messages,
        disclosures,
    } = app
        .cases
        .case_file(&user.account, &user.mailbox_keys(app).await?, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let holder = case.owner_team.as_ref().map(|(id, email)| {
        let name = participants
            .iter()
            .find(|p| p.user_id == *id)
            .map_or_else(|| email.clone(), |p| p.name.clone());
        (*id, name, email.clone())
    });
    let teams = if case.side == Side::Prosecution {
        app.accounts.office_teams(case.organisation_id).await?
    } else {
        Vec::new()
    };
    Ok(CasePage {
        holder,
        teams,
        page: Page::signed_in(app, csrf, user, Section::Cases).await?,
        created: format::time(case.created_at),
        plea: plea_label(case.plea_state),
        prosecution: case.side == Side::Prosecution,
        disclosures: disclosures.into_iter().map(shown_disclosure).collect(),
        case,
        details,
        participants,
        requests,
        messages,
        errors,
        notice,
    })
}

fn shown_disclosure(d: Disclosure) -> ShownDisclosure {
    ShownDisclosure {
        thread_id: d.thread_id,
        message_id: d.message_id,
        position: d.position,
        name: d.name,
        size: format::size(d.size),
        sender: d.sender,
        sent: format::time(d.sent_at),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
pub struct TeamForm {
    /// A team mailbox's id, or empty for none.
    #[serde(default)]
    team: String,
}

/// Gives the case to one of the office's team mailboxes (or to none).
pub async fn give_to_team(
    State(app): State<AppState>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<TeamForm>,
) -> Result<Redirect, AppError> {
    let team = match form.team.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| AppError::NotFound)?),
    };
    app.cases
        .give_to_team(
            &user.account,
            &user.identity()?,
            case_id,
            team,
            &client.address,
        )
        .await
        .map_err(failed)?;
    Ok(Redirect::to(&format!("/cases/{case_id}?done=team")))
}

pub async fn set_status(
    State(app): State<AppState>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<StatusForm>,
) -> Result<Redirect, AppError> {
    let status = CaseStatus::parse(&form.status)
        .map_err(|_| AppError::BadRequest("Choose open or concluded."))?;
    app.cases
        .set_status(&user.account, case_id, status, &client.address)
        .await
        .map_err(failed)?;
    let done = if status == CaseStatus::Concluded {
        "concluded"
    } else {
        "reopened"
    };
    Ok(Redirect::to(&format!("/cases/{case_id}?done={done}")))
}

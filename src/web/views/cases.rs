//! Cases: the list, creating one, the case page, participants and access requests.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::mailbox::ListedMessage;
use crate::audit::Origin;
use crate::cases::{CaseDetails, CaseProblem, NewCase};
use crate::clock::display_time;
use crate::domain::EnvelopeContent;
use crate::domain::{
    CaseReference, CaseStatus, NegotiationState, OrganisationKind, Side, parse_charges, parse_line,
};
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{AccessRequestRow, CaseRow, ParticipantRow};
use crate::web::csrf::CsrfToken;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::form::FormErrors;
use crate::web::page::{Page, Section};

/// Records an event about a case on behalf of the signed-in user.
pub async fn record_case_event(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    kind: EventKind,
    case_id: i64,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    let mut event = Origin::user(&user.account, &client.address).event(
        app.clock.now(),
        kind,
        SubjectKind::Case,
        Some(case_id),
        payload,
    );
    event.case_id = Some(case_id);
    app.store.audit(&[event]).await?;
    Ok(())
}

pub struct ListedCase {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub court: String,
    pub office: String,
    pub status: String,
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
    let identity = user.identity()?;
    let cases = app
        .store
        .cases_for_user(user.account.id)
        .await?
        .into_iter()
        .map(|row| {
            let details: CaseDetails =
                crate::crypto::open_item(&identity, &row.details).unwrap_or_default();
            ListedCase {
                id: row.id,
                title: details.title,
                plea: plea_label(row.plea_state.as_deref()),
                reference: row.reference,
                court: row.court,
                office: row.organisation_name,
                status: row.status,
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

pub fn plea_label(state: Option<&str>) -> &'static str {
    match state.and_then(|s| NegotiationState::parse(s).ok()) {
        None => "No negotiation",
        Some(state) => state.label(),
    }
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
    errors: FormErrors,
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
        errors: FormErrors::default(),
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
    let mut errors = FormErrors::default();
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
        match app.create_case(&user.account, case).await {
            Ok(id) => {
                record_case_event(
                    &app,
                    &user,
                    &client,
                    EventKind::CaseCreated,
                    id,
                    serde_json::json!({}),
                )
                .await?;
                return Ok(Redirect::to(&format!("/cases/{id}?done=created")).into_response());
            }
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

pub struct Disclosure {
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
    disclosures: Vec<Disclosure>,
    plea: &'static str,
    errors: FormErrors,
    notice: Option<&'static str>,
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
        FormErrors::default(),
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
        "reopened" => Some("The case is open again."),
        _ => None,
    }
}

async fn render_case(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    case_id: i64,
    errors: FormErrors,
    notice: Option<&'static str>,
) -> Result<CasePage, AppError> {
    let identity = user.identity()?;
    let (case, details) = app
        .case_for(&user.account, &identity, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let prosecution = case.side() == Side::Prosecution;
    let rows = app.store.case_messages(user.account.id, case_id).await?;
    let mut disclosures = Vec::new();
    for row in rows.iter().filter(|r| r.has_attachments != 0) {
        if let Some((envelope, _, _)) = app
            .store
            .message_for_user(user.account.id, row.message_id)
            .await?
        {
            let content: EnvelopeContent = crate::crypto::open_item(&identity, &envelope)?;
            for (position, a) in content.attachments.iter().enumerate() {
                disclosures.push(Disclosure {
                    thread_id: row.thread_id,
                    message_id: row.message_id,
                    position,
                    name: a.name.clone(),
                    size: super::thread::human_size(a.size),
                    sender: row.sender_name.clone(),
                    sent: display_time(row.sent_at),
                });
            }
        }
    }
    let messages = rows
        .iter()
        .map(|row| ListedMessage::decrypt(&identity, row, false))
        .collect();
    let requests = if prosecution {
        app.store.pending_access_requests(case_id).await?
    } else {
        Vec::new()
    };
    Ok(CasePage {
        page: Page::signed_in(app, csrf, user, Section::Cases).await?,
        created: display_time(case.created_at),
        plea: plea_label(case.plea_state.as_deref()),
        participants: app.store.participants(case_id).await?,
        case,
        details,
        prosecution,
        requests,
        messages,
        disclosures,
        errors,
        notice,
    })
}

/// The case if the user takes part on the prosecution side; 404 for everyone else.
async fn prosecution_case(
    app: &AppState,
    user: &CurrentUser,
    case_id: i64,
) -> Result<CaseRow, AppError> {
    let case = app
        .store
        .case_for_user(user.account.id, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if case.side() != Side::Prosecution {
        return Err(AppError::NotFound);
    }
    Ok(case)
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
    prosecution_case(&app, &user, case_id).await?;
    let identity = user.identity()?;
    match app
        .add_participant(&user.account, &identity, case_id, &form.email)
        .await
    {
        Ok(user_id) => {
            let payload = serde_json::json!({ "user": user_id });
            record_case_event(
                &app,
                &user,
                &client,
                EventKind::CaseParticipantAdded,
                case_id,
                payload,
            )
            .await?;
            Ok(Redirect::to(&format!("/cases/{case_id}?done=added")).into_response())
        }
        Err(CaseProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let mut errors = FormErrors::default();
            errors.add("email", problem.to_string());
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
    prosecution_case(&app, &user, case_id).await?;
    if user_id == user.account.id {
        return Err(AppError::BadRequest(
            "You cannot remove yourself from a case. Ask a colleague.",
        ));
    }
    if app.store.remove_participant(case_id, user_id).await? {
        let payload = serde_json::json!({ "user": user_id });
        record_case_event(
            &app,
            &user,
            &client,
            EventKind::CaseParticipantRemoved,
            case_id,
            payload,
        )
        .await?;
    }
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
    prosecution_case(&app, &user, case_id).await?;
    let accept = form.decision == "accept";
    let identity = user.identity()?;
    let decided = app
        .decide_access_request(&user.account, &identity, case_id, request_id, accept)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    if let Some(requester) = decided {
        let kind = if accept {
            EventKind::CaseRequestAccepted
        } else {
            EventKind::CaseRequestDeclined
        };
        record_case_event(
            &app,
            &user,
            &client,
            kind,
            case_id,
            serde_json::json!({ "user": requester }),
        )
        .await?;
    }
    let done = if accept { "accepted" } else { "declined" };
    Ok(Redirect::to(&format!("/cases/{case_id}?done={done}")))
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

pub async fn set_status(
    State(app): State<AppState>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<StatusForm>,
) -> Result<Redirect, AppError> {
    let case = prosecution_case(&app, &user, case_id).await?;
    let status = CaseStatus::parse(&form.status)
        .map_err(|_| AppError::BadRequest("Choose open or concluded."))?;
    if case.status != status.as_str() {
        app.store.set_case_status(case_id, status.as_str()).await?;
        let payload = serde_json::json!({ "status": status.as_str() });
        record_case_event(
            &app,
            &user,
            &client,
            EventKind::CaseStatusChanged,
            case_id,
            payload,
        )
        .await?;
    }
    let done = if status == CaseStatus::Concluded {
        "concluded"
    } else {
        "reopened"
    };
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
    errors: FormErrors,
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
        errors: FormErrors::default(),
        form: RequestForm::default(),
        offices: app
            .store
            .organisations_of_kind(OrganisationKind::Prosecution)
            .await?,
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
    let mut errors = FormErrors::default();
    let reference = errors.check("reference", CaseReference::parse(&form.reference));
    let offices = app
        .store
        .organisations_of_kind(OrganisationKind::Prosecution)
        .await?;
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
        if let Some(case_id) = app.store.find_case(office, reference.as_str()).await? {
            app.store
                .request_case_access(case_id, user.account.id, app.clock.now())
                .await?;
            let payload = serde_json::json!({});
            record_case_event(
                &app,
                &user,
                &client,
                EventKind::CaseAccessRequested,
                case_id,
                payload,
            )
            .await?;
        }
        return Ok(Redirect::to("/cases?done=requested").into_response());
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

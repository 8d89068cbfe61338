//! What people see of the audit trail: a sender's delivery and read timeline, a case's
//! audit (page, print and CSV), one's own account activity, and the service admin's search.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::audit::csv_cell;
use crate::clock::display_time;
use crate::domain::EnvelopeContent;
use crate::domain::Role;
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{EventFilter, EventRow};
use crate::web::csrf::CsrfToken;
use crate::web::extract::{CurrentUser, PollingUser};
use crate::web::page::{Page, Section};

/// One recipient's line in a sender's timeline.
pub struct Receipt {
    pub name: String,
    pub email: String,
    pub delivered: String,
    pub first_opened: Option<String>,
    pub last_opened: Option<String>,
    pub opens: usize,
    pub downloads: Vec<String>,
}

/// The timeline of a message for its sender; None for anyone else.
pub async fn receipts_for(
    app: &AppState,
    sender_id: i64,
    message_id: i64,
    attachment_names: &[String],
) -> Result<Option<Vec<Receipt>>, AppError> {
    let entries = app.store.delivery_receipts(message_id).await?;
    if !entries
        .iter()
        .any(|e| e.user_id == sender_id && e.folder == "sent")
        && !is_sender(app, sender_id, message_id).await?
    {
        return Ok(None);
    }
    let events = app
        .store
        .audit_events(&EventFilter {
            subject: Some((SubjectKind::Message, message_id)),
            limit: 10_000,
            ..EventFilter::default()
        })
        .await?;
    let recipients: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == EventKind::MessageDelivered)
        .filter_map(|e| payload_i64(e, "recipient"))
        .collect();
    let names = app.store.user_names(&recipients).await?;
    let mut receipts = Vec::new();
    for recipient in recipients {
        let delivered = events
            .iter()
            .find(|e| {
                e.kind == EventKind::MessageDelivered
                    && payload_i64(e, "recipient") == Some(recipient)
            })
            .map(|e| display_time(e.at))
            .unwrap_or_default();
        let opened: Vec<&EventRow> = events
            .iter()
            .filter(|e| e.kind == EventKind::MessageOpened && e.actor_id == Some(recipient))
            .collect();
        let downloads = events
            .iter()
            .filter(|e| e.kind == EventKind::AttachmentDownloaded && e.actor_id == Some(recipient))
            .map(|e| {
                let name = payload_i64(e, "attachment")
                    .and_then(|p| attachment_names.get(p as usize))
                    .cloned()
                    .unwrap_or_else(|| "an attachment".to_string());
                format!("{name}, {}", display_time(e.at))
            })
            .collect();
        let (name, email) = names.get(&recipient).cloned().unwrap_or_default();
        receipts.push(Receipt {
            name,
            email,
            delivered,
            // Events come newest first.
            first_opened: opened.last().map(|e| display_time(e.at)),
            last_opened: opened.first().map(|e| display_time(e.at)),
            opens: opened.len(),
            downloads,
        });
    }
    Ok(Some(receipts))
}

async fn is_sender(app: &AppState, user_id: i64, message_id: i64) -> Result<bool, AppError> {
    let events = app
        .store
        .audit_events(&EventFilter {
            subject: Some((SubjectKind::Message, message_id)),
            kind: Some(EventKind::MessageSent),
            limit: 1,
            ..EventFilter::default()
        })
        .await?;
    Ok(events.first().is_some_and(|e| e.actor_id == Some(user_id)))
}

fn payload_i64(event: &EventRow, key: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(&event.payload)
        .ok()?
        .get(key)?
        .as_i64()
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/receipts.html")]
pub struct ReceiptsPartial {
    pub message_id: i64,
    pub receipts: Vec<Receipt>,
}

/// The live timeline, polled by htmx on the thread page; does not keep the session alive.
pub async fn receipts(
    State(app): State<AppState>,
    Path(message_id): Path<i64>,
    PollingUser(user): PollingUser,
) -> Result<ReceiptsPartial, AppError> {
    let (envelope, _, _) = app
        .store
        .message_for_user(user.account.id, message_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let content: EnvelopeContent = crate::crypto::open_item(&user.identity()?, &envelope)?;
    let names: Vec<String> = content.attachments.into_iter().map(|a| a.name).collect();
    let receipts = receipts_for(&app, user.account.id, message_id, &names)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ReceiptsPartial {
        message_id,
        receipts,
    })
}

/// An event as a row of a table or CSV file.
pub struct ShownEvent {
    pub seq: i64,
    pub at: String,
    pub what: &'static str,
    pub kind: &'static str,
    pub who: String,
    pub subject: String,
    pub detail: String,
    pub address: String,
}

async fn show_events(app: &AppState, events: Vec<EventRow>) -> Result<Vec<ShownEvent>, AppError> {
    let mut ids: Vec<i64> = events.iter().filter_map(|e| e.actor_id).collect();
    ids.extend(
        events
            .iter()
            .filter(|e| e.subject_type == SubjectKind::User)
            .filter_map(|e| e.subject_id),
    );
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<i64, (String, String)> = app.store.user_names(&ids).await?;
    let name_of = |id: Option<i64>| match id.and_then(|id| names.get(&id)) {
        Some((name, email)) => format!("{name} <{email}>"),
        None => "Casemail".to_string(),
    };
    Ok(events
        .into_iter()
        .map(|e| ShownEvent {
            seq: e.seq,
            at: display_time(e.at),
            what: e.kind.describe(),
            who: name_of(e.actor_id),
            subject: match (e.subject_type, e.subject_id) {
                (SubjectKind::User, id) => name_of(id),
                (kind, Some(id)) => format!("{} {id}", kind.as_str()),
                (kind, None) => kind.as_str().to_string(),
            },
            detail: e.payload.clone(),
            address: e.client_address.clone(),
            kind: e.kind.as_str(),
        })
        .collect())
}

fn csv_response(file_name: &str, events: &[ShownEvent], footer: &str) -> Response {
    let mut out = String::from("seq,time,event,kind,by,subject,detail,client address\r\n");
    for e in events {
        let cells = [
            e.seq.to_string(),
            e.at.clone(),
            e.what.to_string(),
            e.kind.to_string(),
            e.who.clone(),
            e.subject.clone(),
            e.detail.clone(),
            e.address.clone(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out.push_str(&csv_cell(footer));
    out.push_str("\r\n");
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[derive(Deserialize, Default)]
pub struct EventQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/case_audit.html")]
pub struct CaseAuditPage {
    page: Page,
    case_id: i64,
    reference: String,
    events: Vec<ShownEvent>,
    people: Vec<(i64, String)>,
    query: EventQuery,
    statement: String,
    csv_query: String,
}

async fn case_audit_events(
    app: &AppState,
    user: &CurrentUser,
    case_id: i64,
    query: &EventQuery,
) -> Result<(String, Vec<ShownEvent>, Vec<(i64, String)>), AppError> {
    let case = app
        .store
        .case_for_user(user.account.id, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let events = app
        .store
        .audit_events(&EventFilter {
            case_id: Some(case_id),
            actor_id: query.person.parse().ok(),
            kind_prefix: Some(query.kind.clone()).filter(|k| !k.is_empty()),
            limit: 50_000,
            ..EventFilter::default()
        })
        .await?;
    let people = app
        .store
        .participants(case_id)
        .await?
        .into_iter()
        .map(|p| (p.user_id, p.name))
        .collect();
    Ok((case.reference, show_events(app, events).await?, people))
}

/// A statement of the chain's state, for printed and exported audits.
async fn verification_statement(app: &AppState) -> Result<String, AppError> {
    let verified = app.verify_audit(None).await?;
    let when = display_time(app.clock.now());
    Ok(match (verified.broken, verified.head) {
        (None, Some((seq, hash))) => format!(
            "Verified {when}: the audit chain of {} events is intact. Chain head: event {seq}, hash {hash}.",
            verified.count
        ),
        (None, None) => format!("Verified {when}: the audit chain is empty."),
        (Some(broken), _) => {
            format!("WARNING, verified {when}: the audit chain is broken: {broken}.")
        }
    })
}

pub async fn case_audit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    Query(query): Query<EventQuery>,
    user: CurrentUser,
) -> Result<CaseAuditPage, AppError> {
    let (reference, events, people) = case_audit_events(&app, &user, case_id, &query).await?;
    let csv_query = serde_urlencoded::to_string([("person", &query.person), ("kind", &query.kind)])
        .unwrap_or_default();
    Ok(CaseAuditPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Cases).await?,
        statement: verification_statement(&app).await?,
        case_id,
        reference,
        events,
        people,
        query,
        csv_query,
    })
}

pub async fn case_audit_csv(
    State(app): State<AppState>,
    Path(case_id): Path<i64>,
    Query(query): Query<EventQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (reference, events, _) = case_audit_events(&app, &user, case_id, &query).await?;
    let name = format!("audit-{}.csv", reference.replace(['/', ' '], "-"));
    Ok(csv_response(
        &name,
        &events,
        &verification_statement(&app).await?,
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/activity.html")]
pub struct ActivityPage {
    page: Page,
    events: Vec<ShownEvent>,
}

/// The signed-in person's own sign-ins, failures and sessions, so they notice misuse.
pub async fn own_activity(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<ActivityPage, AppError> {
    let events = app
        .store
        .audit_events(&EventFilter {
            subject: Some((SubjectKind::User, user.account.id)),
            limit: 200,
            ..EventFilter::default()
        })
        .await?;
    let mut shown = show_events(&app, events).await?;
    for event in &mut shown {
        event.detail = serde_json::from_str::<serde_json::Value>(&event.detail)
            .ok()
            .and_then(|v| {
                v.get("user_agent")
                    .and_then(|u| u.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
    }
    Ok(ActivityPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Account).await?,
        events: shown,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_audit.html")]
pub struct AdminAuditPage {
    page: Page,
    events: Vec<ShownEvent>,
    query: EventQuery,
    csv_query: String,
    statement: String,
    /// The search fields never have errors; the input macro needs one.
    no_error: Option<&'static str>,
}

async fn admin_events(
    app: &AppState,
    user: &CurrentUser,
    query: &EventQuery,
) -> Result<Vec<ShownEvent>, AppError> {
    if user.account.role != Role::ServiceAdmin {
        return Err(AppError::NotFound);
    }
    let actor_id = match query.person.trim() {
        "" => None,
        email => match crate::domain::EmailAddress::parse(email) {
            Ok(email) => Some(app.store.address_record(&email).await?.map_or(-1, |r| r.id)),
            Err(_) => Some(-1),
        },
    };
    let actor_org_id = match query.organisation.trim() {
        "" => None,
        name => Some(
            app.store
                .organisation_by_name(name)
                .await?
                .map_or(-1, |o| o.id),
        ),
    };
    let day = |s: &str, offset: i64| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s.trim(), format)
            .ok()
            .map(|d| d.midnight().assume_utc().unix_timestamp() + offset)
    };
    let events = app
        .store
        .audit_events(&EventFilter {
            actor_id,
            actor_org_id,
            kind_prefix: Some(query.kind.clone()).filter(|k| !k.is_empty()),
            from: day(&query.from, 0),
            until: day(&query.until, 86_400),
            limit: 5_000,
            ..EventFilter::default()
        })
        .await?;
    show_events(app, events).await
}

pub async fn admin_audit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<EventQuery>,
    user: CurrentUser,
) -> Result<AdminAuditPage, AppError> {
    let events = admin_events(&app, &user, &query).await?;
    let csv_query = serde_urlencoded::to_string([
        ("person", &query.person),
        ("organisation", &query.organisation),
        ("kind", &query.kind),
        ("from", &query.from),
        ("until", &query.until),
    ])
    .unwrap_or_default();
    Ok(AdminAuditPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        statement: verification_statement(&app).await?,
        events,
        query,
        csv_query,
        no_error: None,
    })
}

pub async fn admin_audit_csv(
    State(app): State<AppState>,
    Query(query): Query<EventQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let events = admin_events(&app, &user, &query).await?;
    Ok(csv_response(
        "audit.csv",
        &events,
        &verification_statement(&app).await?,
    ))
}

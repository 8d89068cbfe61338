//! What people see of the audit trail: a sender's delivery and read timeline, a case's
//! audit (page, print and CSV), one's own account activity, and the service admin's search.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::audit::ChainState;
use crate::audit::{RecipientTimeline, Trail, TrailSearch};
use crate::domain::EventKind;
use crate::domain::SubjectKind;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, PollingUser};
use crate::web::format;
use crate::web::page::{Page, Section};

/// One recipient's line in a sender's timeline.
pub struct Receipt {
    pub name: String,
    pub email: String,
    pub delivered: String,
    pub first_opened: Option<String>,
    pub last_opened: Option<String>,
    pub opens: usize,
    /// The team members or delegates who opened it, by name.
    pub opened_by: String,
    pub downloads: Vec<String>,
    /// Where the reply asked of this recipient stands, with when it was closed.
    pub reply: Option<(format::ShownReply, Option<String>)>,
    /// For someone outside Casemail: where the letter stands, in words.
    pub outside: Option<OutsideDelivery>,
}

/// A letter to someone at a secure domain, as its sender's timeline shows it.
pub struct OutsideDelivery {
    pub label: &'static str,
    pub class: &'static str,
    pub at: String,
    pub detail: String,
}

fn outside_delivery(kind: EventKind, at: i64, detail: String) -> OutsideDelivery {
    let (label, class) = match kind {
        EventKind::GatewayQueued => ("Waiting to leave Casemail", "govuk-tag--grey"),
        EventKind::GatewayHanded => ("Handed to Casemail's mail server", "govuk-tag--blue"),
        EventKind::GatewayRelayed => ("Handed to the recipient's mail server", "govuk-tag--green"),
        EventKind::GatewayDelayed => ("Not delivered yet: still trying", "govuk-tag--yellow"),
        _ => ("Could not be delivered", "govuk-tag--red"),
    };
    OutsideDelivery {
        label,
        class,
        at: format::time(at),
        detail,
    }
}

/// A message's timeline in words, naming attachments by position.
pub fn receipts(timeline: Vec<RecipientTimeline>, attachment_names: &[String]) -> Vec<Receipt> {
    timeline
        .into_iter()
        .map(|line| Receipt {
            delivered: line.delivered_at.map(format::time).unwrap_or_default(),
            first_opened: line.opened_at.first().map(format::time),
            last_opened: line.opened_at.last().map(format::time),
            opens: line.opened_at.len(),
            opened_by: line.opened_by.join(", "),
            downloads: line
                .downloads
                .iter()
                .map(|(position, at)| {
                    let name = attachment_names
                        .get(*position)
                        .map_or("an attachment", String::as_str);
                    format!("{name}, {}", format::time(at))
                })
                .collect(),
            reply: line
                .reply
                .map(|(mark, closed)| (format::reply_mark(mark, false), closed.map(format::time))),
            outside: line
                .outside
                .map(|(kind, at, detail)| outside_delivery(kind, at, detail)),
            name: line.name,
            email: line.email,
        })
        .collect()
}

/// Whether the message asked any recipient for a reply (the table then has a column for it).
pub fn asks_reply(receipts: &[Receipt]) -> bool {
    receipts.iter().any(|r| r.reply.is_some())
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/receipts.html")]
pub struct ReceiptsPartial {
    pub message_id: i64,
    pub receipts: Vec<Receipt>,
}

/// The live timeline, polled by htmx on the thread page; does not keep the session alive.
pub async fn receipts_partial(
    State(app): State<AppState>,
    Path(message_id): Path<i64>,
    PollingUser(user): PollingUser,
) -> Result<ReceiptsPartial, AppError> {
    let names = app
        .mail
        .attachment_names(&user.account, &user.identity()?, message_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let timeline = app
        .audit
        .delivery_timeline(user.account.id, message_id, app.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ReceiptsPartial {
        message_id,
        receipts: receipts(timeline, &names),
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

fn shown_events(trail: Trail) -> Vec<ShownEvent> {
    let people = trail.people;
    let name_of = |id: Option<i64>| match id.and_then(|id| people.get(&id)) {
        Some((name, email)) => format!("{name} <{email}>"),
        None => "Casemail".to_string(),
    };
    trail
        .events
        .into_iter()
        .map(|e| ShownEvent {
            seq: e.seq,
            at: format::time(e.at),
            what: e.kind.describe(),
            kind: e.kind.as_str(),
            who: name_of(e.actor_id),
            subject: match (e.subject_type, e.subject_id) {
                (SubjectKind::User, id) => name_of(id),
                (kind, Some(id)) => format!("{kind} {id}"),
                (kind, None) => kind.to_string(),
            },
            detail: e.payload,
            address: e.client_address,
        })
        .collect()
}

/// A CSV cell: quoted, with formula-like starts neutralised so a spreadsheet never
/// evaluates what a user typed.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
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
    let (case, trail) = app
        .audit
        .case_trail(
            &user.account,
            case_id,
            query.person.parse().ok(),
            &query.kind,
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let people = app
        .cases
        .participants(&user.account, case_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.user_id, p.name))
        .collect();
    Ok((case.reference, shown_events(trail), people))
}

/// A statement of the chain's state, for printed and exported audits: read from the
/// scheduled check's checkpoint, so a page costs the same however long the chain is.
async fn verification_statement(app: &AppState) -> Result<String, AppError> {
    Ok(match app.audit.chain_state().await? {
        ChainState::Intact {
            up_to,
            hash,
            at,
            later,
        } => {
            let pending = match later {
                0 => String::new(),
                1 => " 1 later event is checked at the next run.".to_string(),
                n => format!(" {n} later events are checked at the next run."),
            };
            format!(
                "Chain verified up to event {up_to} at {}: the audit chain of {up_to} events is \
                 intact (hash {hash}).{pending}",
                format::time(at)
            )
        }
        ChainState::Broken { up_to, at, broken } => format!(
            "WARNING, checked {}: the audit chain is broken after event {up_to}: {broken}.",
            format::time(at)
        ),
        ChainState::Unchecked => "The audit chain has not been checked yet: the scheduled \
             check runs within a minute of the service starting."
            .to_string(),
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
        .map_err(anyhow::Error::from)?;
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
    let mut events = shown_events(app.audit.own_activity(&user.account).await?);
    for event in &mut events {
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
        events,
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
    let day = |s: &str, offset: i64| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s.trim(), format)
            .ok()
            .map(|d| d.midnight().assume_utc().unix_timestamp() + offset)
    };
    let search = TrailSearch {
        person: query.person.clone(),
        organisation: query.organisation.clone(),
        kind_prefix: query.kind.clone(),
        from: day(&query.from, 0),
        until: day(&query.until, 86_400),
    };
    let trail = app
        .audit
        .search(&user.account, &search)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(shown_events(trail))
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
    .map_err(anyhow::Error::from)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("Smith, J"), "\"Smith, J\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}

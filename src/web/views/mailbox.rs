//! Folders: listing, moving, marking read, emptying Deleted, and the live unread count.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::clock::display_time;
use crate::crypto::UserIdentity;
use crate::domain::Summary;
use crate::domain::{Folder, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Cursor, MailboxRow};
use crate::web::csrf::CsrfToken;
use crate::web::extract::{CurrentUser, PollingUser};
use crate::web::page::{Page, Section};

const PAGE_SIZE: i64 = 50;

/// A listed message, decrypted for its owner.
pub struct ListedMessage {
    pub entry_id: i64,
    pub thread_id: i64,
    pub unread: bool,
    pub correspondent: String,
    pub organisation: String,
    pub subject: String,
    pub snippet: String,
    pub has_attachments: bool,
    pub when: String,
    pub case_reference: Option<String>,
}

impl ListedMessage {
    pub fn decrypt(identity: &UserIdentity, row: &MailboxRow, sent_folder: bool) -> Self {
        let summary: Option<Summary> = crate::crypto::open_item(identity, &row.summary).ok();
        let (subject, snippet, to) = match summary {
            Some(s) => (s.subject, s.snippet, s.to),
            None => (
                "(this copy cannot be decrypted)".into(),
                String::new(),
                String::new(),
            ),
        };
        let (correspondent, organisation) = if sent_folder {
            (format!("To: {to}"), String::new())
        } else {
            (row.sender_name.clone(), row.sender_organisation.clone())
        };
        Self {
            entry_id: row.entry_id,
            thread_id: row.thread_id,
            unread: row.is_read == 0,
            correspondent,
            organisation,
            subject,
            snippet,
            has_attachments: row.has_attachments != 0,
            when: display_time(row.delivered_at),
            case_reference: row.case_reference.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/mailbox.html")]
pub struct MailboxPage {
    page: Page,
    folder: Folder,
    messages: Vec<ListedMessage>,
    older: Option<String>,
    case_filter: Option<(i64, String)>,
    notice: Option<&'static str>,
    recovery_secret_path: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    case: Option<i64>,
}

pub async fn home() -> Redirect {
    Redirect::to("/mail/inbox")
}

pub async fn folder(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(folder): Path<String>,
    Query(query): Query<ListQuery>,
    user: CurrentUser,
) -> Result<MailboxPage, AppError> {
    let folder = Folder::parse(&folder).map_err(|_| AppError::NotFound)?;
    let after = query.after.as_deref().and_then(parse_cursor);
    let case_filter = match query.case {
        Some(case_id) => Some(
            app.store
                .case_for_user(user.account.id, case_id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let mut rows = app
        .store
        .mailbox_page_for_case(
            user.account.id,
            folder,
            case_filter.as_ref().map(|c| c.id),
            after,
            PAGE_SIZE + 1,
        )
        .await?;
    let older = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| format!("{}.{}", r.sent_at, r.entry_id))
    } else {
        None
    };
    let identity = user.identity()?;
    let messages = rows
        .iter()
        .map(|row| ListedMessage::decrypt(&identity, row, folder == Folder::Sent))
        .collect();
    let recovery_secret_path = (user.account.role == Role::ServiceAdmin)
        .then(|| app.recovery_secret_on_disk())
        .flatten()
        .map(|p| p.display().to_string());
    Ok(MailboxPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Mail).await?,
        folder,
        messages,
        older,
        case_filter: case_filter.map(|c| (c.id, c.reference)),
        notice: notice(query.done.as_deref()),
        recovery_secret_path,
    })
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "archive" => Some("Moved to Archive."),
        "deleted" => {
            Some("Moved to Deleted. You can restore messages from there until you empty it.")
        }
        "restore" => Some("Restored."),
        "inbox" => Some("Moved to Inbox."),
        "read" => Some("Marked as read."),
        "unread" => Some("Marked as unread."),
        "emptied" => Some("Deleted messages have been removed for good."),
        "none" => Some("Select at least one message first."),
        _ => None,
    }
}

fn parse_cursor(input: &str) -> Option<Cursor> {
    let (sent_at, entry_id) = input.split_once('.')?;
    Some(Cursor {
        sent_at: sent_at.parse().ok()?,
        entry_id: entry_id.parse().ok()?,
    })
}

/// Applies one action to the selected messages of a folder, then shows the folder again.
pub async fn bulk(
    State(app): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let back = Folder::parse(value("folder")).unwrap_or(Folder::Inbox);
    let entries: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "entry")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let action = value("action");
    if entries.is_empty() {
        return Ok(Redirect::to(&format!("/mail/{}?done=none", back.as_str())).into_response());
    }
    let store = &app.store;
    let id = user.account.id;
    match action {
        "archive" => store.move_entries(id, &entries, Folder::Archive).await?,
        "inbox" => store.move_entries(id, &entries, Folder::Inbox).await?,
        "delete" => store.move_entries(id, &entries, Folder::Deleted).await?,
        "restore" => store.restore_entries(id, &entries).await?,
        "read" => store.set_read(id, &entries, true).await?,
        "unread" => store.set_read(id, &entries, false).await?,
        _ => {
            return Err(AppError::BadRequest(
                "Choose what to do with the selected messages.",
            ));
        }
    }
    let done = if action == "delete" {
        "deleted"
    } else {
        action
    };
    Ok(Redirect::to(&format!("/mail/{}?done={done}", back.as_str())).into_response())
}

pub async fn empty_deleted(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Redirect, AppError> {
    app.store.empty_deleted(user.account.id).await?;
    Ok(Redirect::to("/mail/deleted?done=emptied"))
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/unread_count.html")]
pub struct UnreadCount {
    unread: i64,
}

/// The navigation's unread count, polled by htmx; does not keep the session alive.
pub async fn unread_count(
    State(app): State<AppState>,
    PollingUser(user): PollingUser,
) -> Result<UnreadCount, AppError> {
    Ok(UnreadCount {
        unread: app.store.unread_count(user.account.id).await?,
    })
}

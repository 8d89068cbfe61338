//! Folders: listing, moving, marking read, emptying Deleted, and the live unread count.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};

use crate::crypto::MailboxKeys;
use crate::domain::{Folder, Role, SortKey};
use crate::mail::{FolderAction, FolderPage, ListedMessage};
use crate::state::AppState;
use crate::store::Cursor;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, PollingUser};
use crate::web::page::{Page, Section};
use crate::web::views::mail_list::{Column, ListQuery, ListView};

#[derive(Template, WebTemplate)]
#[template(path = "pages/mailbox.html")]
pub struct MailboxPage {
    page: Page,
    folder: Folder,
    view: ListView,
    messages: Vec<ListedMessage>,
    columns: Vec<Column>,
    next_href: Option<String>,
    /// Where the list's rows are fetched again when new mail arrives.
    refresh_href: Option<String>,
    case_filter: Option<(i64, String)>,
    /// The filter's choices: the user's cases with titles, and senders' organisations.
    cases: Vec<(i64, String, String)>,
    organisations: Vec<(i64, String)>,
    notice: Option<&'static str>,
    recovery_secret_path: Option<String>,
}

impl MailboxPage {
    fn organisation_name(&self) -> Option<&str> {
        let id = self.view.filter.organisation_id?;
        self.organisations
            .iter()
            .find(|(o, _)| *o == id)
            .map(|(_, name)| name.as_str())
    }
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
    let view = ListView::from_query(folder, &query);
    let keys = user.mailbox_keys(&app).await?;
    // The page's reads do not depend on each other: asked together, on a database
    // server they run side by side on separate connections, and the page waits for the
    // slowest instead of their sum.
    let (listing, cases, remembered, page) = tokio::try_join!(
        list(&app, &user, &keys, &view, query.after.as_deref()),
        async { Ok::<_, AppError>(app.cases.list(&user.account, &keys).await?) },
        async { Ok::<_, AppError>(app.mail.folder_organisations(&user.account, folder).await?) },
        Page::signed_in(&app, &csrf, &user, Section::Mail),
    )?;
    let cases = cases
        .into_iter()
        .map(|c| (c.case.id, c.case.reference, c.title))
        .collect();
    let mut organisations = organisation_choices(&remembered, &listing);
    if let Some(id) = view.filter.organisation_id
        && !organisations.iter().any(|(o, _)| *o == id)
        && let Some(org) = app.directory.organisation_name(id).await?
    {
        organisations.push((id, org));
    }
    let recovery_secret_path = (user.account.role == Role::ServiceAdmin)
        .then(|| app.accounts.recovery_secret_on_disk())
        .flatten()
        .map(|p| p.display().to_string());
    // Only a first page refreshes itself: later pages would shift under the reader.
    let refresh_href = (query.after.is_none() && view.page == 0).then(|| view.rows_href());
    Ok(MailboxPage {
        page,
        folder,
        columns: view.columns(),
        next_href: view.next_href(&listing),
        refresh_href,
        messages: listing.messages,
        case_filter: listing.case.map(|c| (c.id, c.reference)),
        cases,
        organisations,
        view,
        notice: notice(query.done.as_deref()),
        recovery_secret_path,
    })
}

/// The filter's organisations: the folder's remembered choices and those of the page's own
/// letters (which may have arrived since the choices were read), by name.
fn organisation_choices(remembered: &[(i64, String)], listing: &FolderPage) -> Vec<(i64, String)> {
    let mut choices = remembered.to_vec();
    for (id, name) in listing.sender_organisations() {
        if !choices.iter().any(|(known, _)| known == id) {
            choices.push((*id, name.clone()));
        }
    }
    choices.sort_by(|a, b| a.1.cmp(&b.1));
    choices
}

/// One page of the list the view describes.
async fn list(
    app: &AppState,
    user: &CurrentUser,
    keys: &MailboxKeys,
    view: &ListView,
    after: Option<&str>,
) -> Result<FolderPage, AppError> {
    let listing = if view.sort.key == SortKey::Subject {
        app.search
            .subject_page(
                &user.account,
                keys,
                view.folder,
                &view.filter,
                view.sort.descending,
                view.page,
            )
            .await?
    } else {
        app.mail
            .folder_page(
                &user.account,
                keys,
                view.folder,
                &view.filter,
                view.sort,
                after.and_then(parse_cursor),
                view.page,
            )
            .await?
    };
    let listing = listing.ok_or(AppError::NotFound)?;
    // Mail that arrived since the last visit is still sealed as delivered: take it in
    // now, so the next page is cheap to open and the search index covers it.
    if listing.messages.iter().any(|m| m.waiting) {
        app.intake.start(user.account.id, keys.clone());
    }
    Ok(listing)
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/mail_rows_refresh.html")]
pub struct MailRows {
    page: Page,
    folder: Folder,
    view: ListView,
    messages: Vec<ListedMessage>,
    columns: Vec<Column>,
    next_href: Option<String>,
    refresh_href: Option<String>,
}

/// A folder's first page, list only, fetched again when the unread count rises; a
/// background request, so it does not keep the session alive.
pub async fn rows(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(folder): Path<String>,
    Query(query): Query<ListQuery>,
    PollingUser(user): PollingUser,
) -> Result<MailRows, AppError> {
    let folder = Folder::parse(&folder).map_err(|_| AppError::NotFound)?;
    let view = ListView::from_query(folder, &query);
    let keys = user.mailbox_keys(&app).await?;
    let (listing, page) = tokio::try_join!(
        list(&app, &user, &keys, &view, None),
        Page::signed_in(&app, &csrf, &user, Section::Mail),
    )?;
    Ok(MailRows {
        page,
        folder,
        columns: view.columns(),
        next_href: view.next_href(&listing),
        refresh_href: Some(view.rows_href()),
        messages: listing.messages,
        view,
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
    // The list the form came from, rebuilt from its parts rather than echoed.
    let carried: ListQuery = serde_urlencoded::from_str(value("view")).unwrap_or_default();
    let back_to = ListView::from_query(back, &carried).href();
    let join = if back_to.contains('?') { '&' } else { '?' };
    let entries: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "entry")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let action = value("action");
    if entries.is_empty() {
        return Ok(Redirect::to(&format!("{back_to}{join}done=none")).into_response());
    }
    let filing = match action {
        "archive" => FolderAction::Archive,
        "inbox" => FolderAction::ToInbox,
        "delete" => FolderAction::Delete,
        "restore" => FolderAction::Restore,
        "read" => FolderAction::MarkRead,
        "unread" => FolderAction::MarkUnread,
        _ => {
            return Err(AppError::BadRequest(
                "Choose what to do with the selected messages.",
            ));
        }
    };
    app.mail.file(&user.account, filing, &entries).await?;
    let done = if action == "delete" {
        "deleted"
    } else {
        action
    };
    Ok(Redirect::to(&format!("{back_to}{join}done={done}")).into_response())
}

pub async fn empty_deleted(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Redirect, AppError> {
    app.mail.empty_deleted(&user.account).await?;
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
        unread: app.mail.unread_count(&user.account).await?,
    })
}

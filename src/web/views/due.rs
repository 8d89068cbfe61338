//! Letters that need the user's reply, soonest date first, and saying that a
//! conversation needs none.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Redirect;

use crate::mail::{DUE_LIMIT, ListedMessage};
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/due.html")]
pub struct DuePage {
    page: Page,
    overdue: Vec<ListedMessage>,
    due: Vec<ListedMessage>,
    /// More letters await a reply than the page lists.
    truncated: bool,
    /// The person's team and delegated mailboxes with letters awaiting a reply there.
    elsewhere: Vec<AwaitingElsewhere>,
}

/// Letters awaiting a reply in a mailbox the person may switch to.
pub struct AwaitingElsewhere {
    pub owner_id: i64,
    pub name: String,
    pub team: bool,
    pub due: i64,
    pub overdue: i64,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<DuePage, AppError> {
    let keys = user.mailbox_keys(&app).await?;
    let letters = app.mail.due(&user.account, &keys).await?;
    let page = Page::signed_in(&app, &csrf, &user, Section::Mail).await?;
    let truncated = letters.len() as i64 >= DUE_LIMIT;
    let (overdue, due) = letters
        .into_iter()
        .partition(|m| m.reply_by.is_some_and(|by| by < page.now));
    Ok(DuePage {
        page,
        overdue,
        due,
        truncated,
        elsewhere: awaiting_elsewhere(&app, &user).await?,
    })
}

/// From the person's own mailbox: what awaits a reply in their teams' mailboxes and
/// those delegated to them (switching shows the letters themselves).
async fn awaiting_elsewhere(
    app: &AppState,
    user: &CurrentUser,
) -> Result<Vec<AwaitingElsewhere>, AppError> {
    if user.account.acting_delegate.is_some() {
        return Ok(Vec::new());
    }
    let person = user.person();
    let teams = app.accounts.teams_of(person).await?;
    let delegated = app.accounts.delegated_mailboxes(person).await?;
    let mailboxes = teams
        .into_iter()
        .map(|t| (t.id, t.name, true))
        .chain(delegated.into_iter().map(|d| (d.owner_id, d.name, false)));
    let mut out = Vec::new();
    for (owner_id, name, team) in mailboxes {
        let (due, overdue) = app.mail.awaiting_in(owner_id).await?;
        if due > 0 {
            out.push(AwaitingElsewhere {
                owner_id,
                name,
                team,
                due,
                overdue,
            });
        }
    }
    Ok(out)
}

/// Closes what the conversation asks of the user as needing no reply.
pub async fn no_reply_needed(
    State(app): State<AppState>,
    Path(thread_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Redirect, AppError> {
    app.mail
        .no_reply_needed(&user.account, thread_id, &client.address)
        .await?;
    Ok(Redirect::to(&format!("/threads/{thread_id}?no_reply=1")))
}

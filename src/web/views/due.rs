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
    })
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

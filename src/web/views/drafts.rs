//! Drafts: the list, deleting one, and saving while typing (htmx autosave).

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::Redirect;
use serde::Deserialize;

use super::upload::read_compose_form;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::format;
use crate::web::page::{Page, Section};

pub struct ListedDraft {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub updated: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/drafts.html")]
pub struct DraftsPage {
    page: Page,
    drafts: Vec<ListedDraft>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct DraftsQuery {
    saved: Option<String>,
    deleted: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<DraftsQuery>,
    user: CurrentUser,
) -> Result<DraftsPage, AppError> {
    let drafts = app
        .mail
        .drafts(&user.account, &user.identity()?)
        .await?
        .into_iter()
        .map(|draft| ListedDraft {
            id: draft.id,
            to: draft.composition.to,
            subject: if draft.composition.subject.trim().is_empty() {
                "(no subject)".to_string()
            } else {
                draft.composition.subject
            },
            updated: format::time(draft.updated_at),
        })
        .collect();
    let notice = if query.saved.is_some() {
        Some("Your draft has been saved.")
    } else if query.deleted.is_some() {
        Some("The draft has been deleted.")
    } else {
        None
    };
    Ok(DraftsPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Mail).await?,
        drafts,
        notice,
    })
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> Result<Redirect, AppError> {
    if !app.mail.delete_draft(&user.account, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/drafts?deleted=1"))
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/draft_status.html")]
pub struct DraftStatus {
    draft_id: i64,
    saved_at: String,
}

/// Saves the compose form as it is being typed, so that nothing is lost if the session
/// ends or the browser closes. Attachments are not part of drafts.
pub async fn autosave(
    State(app): State<AppState>,
    user: CurrentUser,
    multipart: Multipart,
) -> Result<DraftStatus, AppError> {
    let submitted = read_compose_form(&app, &user.account, multipart, false).await?;
    let draft_id = app
        .mail
        .save_draft(
            &user.account,
            submitted.fields.draft_id,
            &submitted.fields.composition(),
        )
        .await?;
    Ok(DraftStatus {
        draft_id,
        saved_at: format::time(app.clock.now()),
    })
}

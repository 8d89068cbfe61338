//! The directory of people in the service, and address suggestions while composing.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::state::AppState;
use crate::store::DirectoryEntry;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, Section};

#[derive(Deserialize, Default)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    field: String,
    /// The To or Cc field's value, as htmx sends it from the input being typed in.
    #[serde(default)]
    to: String,
    #[serde(default)]
    cc: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/directory.html")]
pub struct DirectoryPage {
    page: Page,
    query: String,
    people: Vec<DirectoryEntry>,
    searched: bool,
    /// Secure domains outside Casemail whose addresses can be written to.
    outside: Vec<crate::gateway::ReachableDomain>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<DirectoryQuery>,
    user: CurrentUser,
) -> Result<DirectoryPage, AppError> {
    let searched = !query.q.trim().is_empty();
    let people = app.directory.search(&query.q).await?;
    Ok(DirectoryPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Directory).await?,
        query: query.q,
        people,
        searched,
        outside: app.gateway.reachable_domains().await?,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/address_suggestions.html")]
pub struct Suggestions {
    field: String,
    people: Vec<DirectoryEntry>,
}

/// Up to eight people matching the last address being typed into To or Cc.
pub async fn suggest(
    State(app): State<AppState>,
    Query(query): Query<DirectoryQuery>,
    _user: CurrentUser,
) -> Result<Suggestions, AppError> {
    let field = if query.field == "cc" { "cc" } else { "to" }.to_string();
    let value = if field == "cc" { &query.cc } else { &query.to };
    let people = app.directory.suggest(value).await?;
    Ok(Suggestions { field, people })
}

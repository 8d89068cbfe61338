//! The search page; the search itself is in `crate::search`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::domain::FieldErrors;
use crate::mail::ListedMessage;
use crate::search::MailQuery;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, Section};

const MAX_RESULTS: usize = 200;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/search.html")]
pub struct SearchPage {
    page: Page,
    query: SearchQuery,
    errors: FieldErrors,
    searched: bool,
    messages: Vec<ListedMessage>,
    truncated: bool,
    /// Some mail was still being prepared for search.
    incomplete: bool,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<SearchQuery>,
    user: CurrentUser,
) -> Result<SearchPage, AppError> {
    let mut errors = FieldErrors::default();
    let from = errors.check("from", parse_day(&query.from, 0)).flatten();
    let until = errors
        .check("until", parse_day(&query.until, 86_400))
        .flatten();
    let searched = [&query.q, &query.sender, &query.from, &query.until]
        .iter()
        .any(|v| !v.trim().is_empty());
    let mut messages = Vec::new();
    let mut truncated = false;
    let mut incomplete = false;
    if searched && errors.is_empty() {
        let keys = user.mailbox_keys(&app).await?;
        let found = app
            .search
            .search(
                &user.account,
                &keys,
                &MailQuery {
                    words: &query.q,
                    sender: &query.sender,
                    from: from.unwrap_or(i64::MIN),
                    until: until.unwrap_or(i64::MAX),
                    limit: MAX_RESULTS,
                },
            )
            .await?;
        truncated = found.truncated;
        incomplete = found.incomplete;
        messages = found.messages;
    }
    Ok(SearchPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Search).await?,
        query,
        errors,
        searched,
        messages,
        truncated,
        incomplete,
    })
}

/// A date typed as YYYY-MM-DD, as Unix seconds at its start plus `offset`.
fn parse_day(input: &str, offset: i64) -> Result<Option<i64>, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(input, format)
        .map(|day| Some(day.midnight().assume_utc().unix_timestamp() + offset))
        .map_err(|_| "Enter a real date in the format 2026-11-23")
}

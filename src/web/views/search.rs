//! Searching one's own mail. Content is encrypted, so search decrypts each candidate's
//! small per-reader summary in the session; sender and date narrow the candidates first
//! using metadata that is stored in clear.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::mailbox::ListedMessage;
use crate::app::{AppState, Casemail};
use crate::crypto::UserIdentity;
use crate::error::AppError;
use crate::mail_content::Summary;
use crate::store::MailboxRow;
use crate::web::csrf::CsrfToken;
use crate::web::extract::CurrentUser;
use crate::web::form::FormErrors;
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
    errors: FormErrors,
    searched: bool,
    messages: Vec<ListedMessage>,
    truncated: bool,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<SearchQuery>,
    user: CurrentUser,
) -> Result<SearchPage, AppError> {
    let mut errors = FormErrors::default();
    let from = errors.check("from", parse_day(&query.from, 0)).flatten();
    let until = errors
        .check("until", parse_day(&query.until, 86_400))
        .flatten();
    let searched = [&query.q, &query.sender, &query.from, &query.until]
        .iter()
        .any(|v| !v.trim().is_empty());
    let mut messages = Vec::new();
    let mut truncated = false;
    if searched && errors.is_empty() {
        let rows = app
            .store
            .mailbox_search_candidates(
                user.account.id,
                from.unwrap_or(i64::MIN),
                until.unwrap_or(i64::MAX),
            )
            .await?;
        let identity = user.identity()?;
        let words = query.q.clone();
        let sender = query.sender.clone();
        let found = tokio::task::spawn_blocking(move || search(&identity, rows, &words, &sender))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        truncated = found.len() > MAX_RESULTS;
        messages = found.into_iter().take(MAX_RESULTS).collect();
    }
    Ok(SearchPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Search).await?,
        query,
        errors,
        searched,
        messages,
        truncated,
    })
}

/// Messages whose sender matches `sender` and whose summary holds every word of `words`,
/// newest first.
pub fn search(
    identity: &UserIdentity,
    rows: Vec<MailboxRow>,
    words: &str,
    sender: &str,
) -> Vec<ListedMessage> {
    let words: Vec<String> = words.split_whitespace().map(str::to_lowercase).collect();
    let sender = sender.trim().to_lowercase();
    rows.iter()
        .filter(|row| {
            sender.is_empty()
                || row.sender_name.to_lowercase().contains(&sender)
                || row.sender_email.contains(&sender)
                || row.sender_organisation.to_lowercase().contains(&sender)
        })
        .filter(|row| {
            words.is_empty()
                || Casemail::open_item::<Summary>(identity, &row.summary)
                    .is_ok_and(|s| words.iter().all(|w| s.search.contains(w.as_str())))
        })
        .map(|row| ListedMessage::decrypt(identity, row, false))
        .collect()
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

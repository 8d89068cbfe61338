//! One error type for every handler. A user sees a page (or, for htmx requests, a short
//! notice) that names the problem and what to do; internal details are logged with the
//! request id by `web::errors`, never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    SignInRequired { expired: bool, next: Option<String> },
    #[error("second factor needed")]
    SecondFactorNeeded,
    #[error("second factor enrolment needed")]
    SecondFactorSetup,
    #[error("passkey needed")]
    PasskeySetup,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("request forgery check failed")]
    Csrf,
    #[error("request took too long")]
    TimedOut,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A delegate asked for something that belongs to the mailbox's owner alone.
    #[error("not open to a delegate")]
    OwnerOnly { can_send: bool },
    /// A form field that is not valid UTF-8 text: refused rather than silently altered.
    #[error("field {field} is not valid text")]
    InvalidText { field: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(AppError: crate::crypto::KeyError);

/// Attached to error responses for `web::errors` to render (and log, when `detail` is set).
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message, detail) = match self {
            Self::SignInRequired { expired, next } => return sign_in_redirect(expired, next),
            Self::SecondFactorNeeded => return redirect("/sign-in/code"),
            Self::SecondFactorSetup => return redirect("/account/two-factor"),
            Self::PasskeySetup => return redirect("/account/passkeys"),
            Self::PasswordChangeRequired => return redirect("/account/password"),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link, \
                 the item may have been moved or you may not have access to it."
                    .to_string(),
                None,
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security, forms only work for a limited time. Go back, reload the \
                 page and try again. Nothing was changed."
                    .to_string(),
                None,
            ),
            Self::TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                "That took too long",
                "The page could not be prepared in time. Try again in a minute; if it keeps \
                 happening, tell your administrator."
                    .to_string(),
                None,
            ),
            Self::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "There is a problem with your request",
                message.to_string(),
                None,
            ),
            Self::OwnerOnly { can_send } => (
                StatusCode::FORBIDDEN,
                "This is for the mailbox's owner",
                if can_send {
                    "You are working in a team's mailbox or as a colleague's delegate. \
                     Account settings, teams, cases and administration are reached from your \
                     own mailbox: switch back to it to reach yours."
                } else {
                    "You can read this mailbox as a delegate, but not send from it or change \
                     it. Switch back to your own mailbox to write."
                }
                .to_string(),
                None,
            ),
            Self::InvalidText { field } => (
                StatusCode::BAD_REQUEST,
                "There is a problem with your request",
                format!(
                    "The form field “{field}” contains characters that are not valid \
                     text, so nothing was saved. Go back, retype that field and send the form \
                     again."
                ),
                None,
            ),
            Self::Internal(error)
                if crate::store::storage_trouble(error.as_ref())
                    == Some(crate::store::StorageTrouble::Unreachable) =>
            {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Attachments cannot be reached just now",
                    "The store that keeps attachments is not answering, so this could not be \
                     done. Nothing was lost. Try again in a few minutes; if it goes on, tell \
                     your administrator and quote the reference below."
                        .to_string(),
                    Some(format!("blob store unreachable: {error:#}")),
                )
            }
            Self::Internal(error) if crate::store::storage_unavailable(error.as_ref()) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "Casemail cannot save anything just now",
                "The service's storage is full or cannot be written, so nothing was changed. \
                 Try again later. Your administrator can see this in the service's log; if it \
                 goes on, tell them and quote the reference below."
                    .to_string(),
                Some(format!("storage unavailable: {error:#}")),
            ),
            Self::Internal(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem with the service",
                "Try again later. If it keeps happening, tell your administrator and quote \
                 the reference below."
                    .to_string(),
                Some(format!("{error:#}")),
            ),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorReport {
            status,
            title,
            message,
            detail,
        });
        response
    }
}

fn redirect(location: &'static str) -> Response {
    let mut response = Redirect::to(location).into_response();
    response
        .headers_mut()
        .insert("hx-redirect", HeaderValue::from_static(location));
    response
}

/// Sends the browser to sign in, remembering where it was going. htmx requests get an
/// `HX-Redirect` so the whole page changes rather than a fragment.
fn sign_in_redirect(expired: bool, next: Option<String>) -> Response {
    let mut query = Vec::new();
    if expired {
        query.push(("expired", "1".to_string()));
    }
    if let Some(next) = next {
        query.push(("next", next));
    }
    let location = if query.is_empty() {
        "/sign-in".to_string()
    } else {
        format!(
            "/sign-in?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    };
    let mut response = Redirect::to(&location).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("hx-redirect", value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

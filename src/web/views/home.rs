//! The first page after sign-in.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::State;

use crate::app::AppState;
use crate::clock::display_time;
use crate::error::AppError;
use crate::web::csrf::CsrfToken;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    page: Page,
    first_name: String,
    last_sign_in: Option<String>,
    /// Shown to service admins while a generated recovery secret is still on this server.
    recovery_secret_path: Option<String>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<HomePage, AppError> {
    let account = &user.account;
    let recovery_secret_path = (account.role == crate::domain::Role::ServiceAdmin)
        .then(|| app.recovery_secret_on_disk())
        .flatten()
        .map(|p| p.display().to_string());
    Ok(HomePage {
        first_name: account
            .name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        last_sign_in: account.last_sign_in_at.map(display_time),
        recovery_secret_path,
        page: Page::signed_in(&csrf, &user, Section::Home),
    })
}

//! Bulk provisioning: an administrator uploads a CSV of people to invite. Every row is
//! checked first; nothing is created unless every row is valid.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::{invite_one, scope};
use crate::domain::{EmailAddress, PersonName};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::OrganisationListing;
use crate::web::csrf::CsrfToken;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

pub const MAX_ROWS: usize = 500;
const MAX_BYTES: usize = 512 * 1024;

pub struct RowProblem {
    pub line: usize,
    pub text: String,
    pub problems: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_bulk.html")]
pub struct BulkPage {
    page: Page,
    organisations: Vec<OrganisationListing>,
    problems: Vec<RowProblem>,
    general: Option<String>,
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<BulkPage, AppError> {
    Ok(BulkPage {
        organisations: scope(&app, &user).await?,
        page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
        problems: Vec::new(),
        general: None,
    })
}

struct ValidRow {
    name: PersonName,
    email: EmailAddress,
    organisation_id: i64,
    admin: bool,
}

pub async fn upload(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let organisations = scope(&app, &user).await?;
    let mut bytes = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("The upload could not be read. Try again."))?
    {
        if field.name() != Some("file") {
            continue;
        }
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|_| AppError::BadRequest("The upload could not be read. Try again."))?
        {
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(AppError::BadRequest(
                    "The file is too large: upload at most 500 people at a time.",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    let (rows, problems, general) = check(&app, &organisations, &bytes).await?;
    if general.is_some() || !problems.is_empty() {
        let mut response = BulkPage {
            page: Page::signed_in(&app, &csrf, &user, Section::Admin).await?,
            organisations,
            problems,
            general,
        }
        .into_response();
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    for row in rows {
        invite_one(
            &app,
            &user,
            &client,
            row.organisation_id,
            &row.email,
            &row.name,
            row.admin,
        )
        .await?;
    }
    Ok(Redirect::to("/admin/invitations?done=sent").into_response())
}

/// Checks every row: columns name, email, organisation, admin (yes/no).
async fn check(
    app: &AppState,
    organisations: &[OrganisationListing],
    bytes: &[u8],
) -> Result<(Vec<ValidRow>, Vec<RowProblem>, Option<String>), AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(str::to_lowercase).collect::<Vec<_>>(),
        Err(_) => {
            return Ok((
                valid,
                problems,
                Some("The file is not a readable CSV file.".into()),
            ));
        }
    };
    if headers.first().map(String::as_str) != Some("name")
        || headers.get(1).map(String::as_str) != Some("email")
    {
        return Ok((
            valid,
            problems,
            Some("The first line must be the column names: name,email,organisation,admin".into()),
        ));
    }
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if index >= MAX_ROWS {
            return Ok((
                Vec::new(),
                problems,
                Some(format!(
                    "The file has more than {MAX_ROWS} people. Split it into smaller files."
                )),
            ));
        }
        let Ok(record) = record else {
            problems.push(RowProblem {
                line,
                text: String::new(),
                problems: vec!["This line could not be read".into()],
            });
            continue;
        };
        let field = |n: usize| record.get(n).unwrap_or("").to_string();
        let mut row_problems = Vec::new();
        let name = PersonName::parse(&field(0))
            .map_err(|e| row_problems.push(e.to_string()))
            .ok();
        let email = EmailAddress::parse(&field(1))
            .map_err(|e| row_problems.push(e.to_string()))
            .ok();
        if let Some(email) = &email {
            if seen.contains(&email.as_str().to_string()) {
                row_problems.push("This email address appears more than once in the file".into());
            } else if app.store.address_record(email).await?.is_some() {
                row_problems.push("There is already an account with this email address".into());
            }
            seen.push(email.as_str().to_string());
        }
        let organisation = field(2);
        let organisation_id = organisations
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(&organisation))
            .map(|o| o.id);
        if organisation_id.is_none() {
            row_problems.push(format!(
                "“{organisation}” is not an organisation you administer"
            ));
        }
        let admin = match field(3).to_lowercase().as_str() {
            "" | "no" | "n" | "false" => false,
            "yes" | "y" | "true" => true,
            other => {
                row_problems.push(format!("Admin must be yes or no, not “{other}”"));
                false
            }
        };
        match (name, email, organisation_id, row_problems.is_empty()) {
            (Some(name), Some(email), Some(organisation_id), true) => valid.push(ValidRow {
                name,
                email,
                organisation_id,
                admin,
            }),
            _ => problems.push(RowProblem {
                line,
                text: record.iter().collect::<Vec<_>>().join(", "),
                problems: row_problems,
            }),
        }
    }
    if valid.is_empty() && problems.is_empty() {
        return Ok((
            valid,
            problems,
            Some("The file has no people in it.".into()),
        ));
    }
    Ok((valid, problems, None))
}

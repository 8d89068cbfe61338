//! Writing mail: the form (new, reply, reply all, forward, from a draft), sending with
//! attachments streamed straight into encrypted blobs, and saving drafts.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::upload::{ComposeFields, read_compose_form};
use crate::domain::FieldErrors;
use crate::mail::{SendAcrossProblem, StageProblem};
use crate::state::AppState;
use crate::store::StorageTrouble;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/compose.html")]
pub struct ComposePage {
    page: Page,
    errors: FieldErrors,
    form: ComposeFields,
    heading: &'static str,
    forwarded_attachments: Vec<String>,
    max_attachment: String,
    /// The user's open cases (id, reference, title), offered for tagging a new conversation.
    cases: Vec<(i64, String, String)>,
    /// Secure domains outside Casemail that letters may go to, and how they are protected.
    outside: Vec<crate::gateway::ReachableDomain>,
    /// The addresses in To and Cc that are at those domains: the letter leaves Casemail.
    leaving: Vec<String>,
}

impl ComposePage {
    async fn new(
        app: &AppState,
        csrf: &CsrfToken,
        user: &CurrentUser,
        form: ComposeFields,
        errors: FieldErrors,
        heading: &'static str,
        forwarded_attachments: Vec<String>,
    ) -> Result<Self, AppError> {
        let outside = app.gateway.reachable_domains().await?;
        let leaving = form
            .to
            .split([',', ';'])
            .chain(form.cc.split([',', ';']))
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| {
                a.rsplit_once('@')
                    .is_some_and(|(_, d)| outside.iter().any(|o| o.domain == d))
            })
            .collect();
        Ok(Self {
            page: Page::signed_in(app, csrf, user, Section::Compose).await?,
            errors,
            form,
            heading,
            forwarded_attachments,
            max_attachment: format::size(app.config.max_attachment_bytes()),
            outside,
            leaving,
            cases: app
                .cases
                .open_cases(&user.account, &user.mailbox_keys(app).await?)
                .await?
                .into_iter()
                .map(|c| (c.case.id, c.case.reference, c.title))
                .collect(),
        })
    }
}

#[derive(Deserialize, Default)]
pub struct ComposeQuery {
    reply_to: Option<i64>,
    all: Option<String>,
    forward: Option<i64>,
    draft: Option<i64>,
    to: Option<String>,
    case: Option<i64>,
}

pub async fn form(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<ComposeQuery>,
    user: CurrentUser,
) -> Result<ComposePage, AppError> {
    let mut form = ComposeFields {
        to: query.to.clone().unwrap_or_default(),
        case_id: query.case,
        ..ComposeFields::default()
    };
    let mut heading = "Write a message";
    let mut forwarded_attachments = Vec::new();
    if let Some(draft_id) = query.draft {
        let composition = app
            .mail
            .draft(&user.account, &user.identity()?, draft_id)
            .await?
            .ok_or(AppError::NotFound)?;
        form = ComposeFields::from_composition(composition, Some(draft_id));
        heading = "Continue your draft";
    } else if let Some(original) = query.reply_to.or(query.forward) {
        let forward = query.forward.is_some();
        let prefill = app
            .mail
            .prefill(
                &user.account,
                &user.identity()?,
                original,
                forward,
                query.all.is_some(),
            )
            .await?
            .ok_or(AppError::NotFound)?;
        heading = if forward {
            "Forward a message"
        } else {
            "Reply"
        };
        form = ComposeFields::from_composition(prefill.composition, None);
        forwarded_attachments = prefill.forwarded_attachments;
    }
    ComposePage::new(
        &app,
        &csrf,
        &user,
        form,
        FieldErrors::default(),
        heading,
        forwarded_attachments,
    )
    .await
}

/// Sends the message or saves it as a draft, as the pressed button says. On a mistake the
/// form comes back with everything typed still in it.
pub async fn submit(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    client: ClientInfo,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let submitted = read_compose_form(&app, &user.account, multipart, true).await?;
    let form = submitted.fields;
    let mut errors = submitted.errors;
    if form.action == "draft" {
        // Drafts keep no files: dropping the staged ones removes them.
        drop(submitted.attachments);
        let id = app
            .mail
            .save_draft(&user.account, form.draft_id, &form.composition())
            .await?;
        return Ok(Redirect::to(&format!("/drafts?saved={id}")).into_response());
    }
    if let Some(trouble) = submitted.storage_failed {
        drop(submitted.attachments);
        return kept_after_storage_failure(&app, &csrf, &user, form, trouble).await;
    }
    if let (Some((mut outgoing, addressees)), true) = (submitted.ready, errors.is_empty()) {
        outgoing.fingerprint(&user.mailbox_keys(&app).await?)?;
        let mut attachments = submitted.attachments;
        if let Some(original) = outgoing.forward_of {
            match app
                .mail
                .forward_attachments(&user.account, user.identity()?, original, &addressees)
                .await
            {
                Ok(forwarded) => attachments.extend(forwarded),
                Err(StageProblem::OverAllowance) => {
                    errors.add(
                        "body",
                        format!(
                            "The forwarded attachments do not fit in your storage allowance of \
                             {}. Ask your administrator for more space, or forward the message \
                             without them.",
                            format::size(app.config.storage_quota_bytes())
                        ),
                    );
                    return rerender(&app, &csrf, &user, form, errors).await;
                }
                Err(StageProblem::Internal(error)) => return Err(AppError::Internal(error)),
                Err(_) => return Err(AppError::BadRequest("The attachments could not be read.")),
            }
        }
        let delivered = match app
            .mail
            .send_from_session(
                &user.account,
                &user.identity()?,
                outgoing,
                &addressees,
                attachments,
                &client.address,
            )
            .await
        {
            Ok(delivered) => delivered,
            Err(SendAcrossProblem::Internal(error)) => {
                match crate::store::storage_trouble(error.as_ref()) {
                    Some(trouble) => {
                        tracing::error!(error = %format!("{error:#}"), "storage unavailable for sending");
                        return kept_after_storage_failure(&app, &csrf, &user, form, trouble).await;
                    }
                    None => return Err(AppError::Internal(error)),
                }
            }
            Err(problem) => {
                errors.add("to", problem.to_string());
                return rerender(&app, &csrf, &user, form, errors).await;
            }
        };
        if let Some(draft_id) = form.draft_id {
            app.mail.delete_draft(&user.account, draft_id).await?;
        }
        return Ok(
            Redirect::to(&format!("/threads/{}?sent=1", delivered.thread_id)).into_response(),
        );
    }
    drop(submitted.attachments);
    if !submitted.attachment_names.is_empty() {
        errors.add(
            "attachments",
            format!(
                "Attach your files again ({}): for your security, files are not kept when a \
                 message cannot be sent",
                submitted.attachment_names.join(", ")
            ),
        );
    }
    rerender(&app, &csrf, &user, form, errors).await
}

/// The form back as typed, with what is wrong.
async fn rerender(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    mut form: ComposeFields,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    form.action = String::new();
    let mut response =
        ComposePage::new(app, csrf, user, form, errors, "Write a message", Vec::new())
            .await?
            .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The disk is full or read-only, or the attachment store does not answer: the message was
/// not sent. It is kept as a draft if the database can still be written, and in any case
/// comes back in the form as typed.
async fn kept_after_storage_failure(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    mut form: ComposeFields,
    trouble: StorageTrouble,
) -> Result<Response, AppError> {
    let (why, status) = match trouble {
        StorageTrouble::Full => (
            "the service’s storage is full or cannot be written",
            axum::http::StatusCode::INSUFFICIENT_STORAGE,
        ),
        StorageTrouble::Unreachable => (
            "the store that keeps attachments is not answering",
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
        ),
    };
    let mut errors = FieldErrors::default();
    match app
        .mail
        .save_draft(&user.account, form.draft_id, &form.composition())
        .await
    {
        Ok(id) => {
            form.draft_id = Some(id);
            errors.add(
                "body",
                format!(
                    "Your message was not sent because {why}. It has been kept in your \
                     drafts, without its attachments: send it again later."
                ),
            );
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "could not keep a draft either");
            errors.add(
                "body",
                format!(
                    "Your message was not sent because {why}, and it could not be kept as a \
                     draft. What you typed is below: copy it somewhere safe before you leave \
                     this page, and send it again later."
                ),
            );
        }
    }
    let mut response = rerender(app, csrf, user, form, errors).await?;
    *response.status_mut() = status;
    Ok(response)
}

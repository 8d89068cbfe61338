//! Writing mail: the form (new, reply, reply all, forward, from a draft), sending with
//! attachments streamed straight into encrypted blobs, and saving drafts.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::upload::{ComposeFields, read_compose_form};
use crate::crypto::open;
use crate::domain::{AddressList, Body, Subject};
use crate::domain::{DraftContent, EnvelopeContent};
use crate::error::AppError;
use crate::mail::{AddressProblem, Outgoing};
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::form::FormErrors;
use crate::web::page::{Page, Section};

#[derive(Template, WebTemplate)]
#[template(path = "pages/compose.html")]
pub struct ComposePage {
    page: Page,
    errors: FormErrors,
    form: ComposeFields,
    heading: &'static str,
    forwarded_attachments: Vec<String>,
    max_attachment: String,
    /// The user's open cases, offered for tagging a new conversation.
    cases: Vec<(i64, String)>,
}

async fn open_cases(app: &AppState, user: &CurrentUser) -> Result<Vec<(i64, String)>, AppError> {
    Ok(app
        .store
        .cases_for_user(user.account.id)
        .await?
        .into_iter()
        .filter(|c| c.status == "open")
        .map(|c| (c.id, c.reference))
        .collect())
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
        let draft = app
            .store
            .draft(user.account.id, draft_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let content: DraftContent = crate::crypto::open_item(&user.identity()?, &draft.content)?;
        form = ComposeFields {
            to: content.to,
            cc: content.cc,
            subject: content.subject,
            body: content.body,
            reply_to: content.reply_to,
            forward_of: content.forward_of,
            case_id: content.case_id,
            draft_id: Some(draft_id),
            ..ComposeFields::default()
        };
        heading = "Continue your draft";
    } else if let Some(original) = query.reply_to.or(query.forward) {
        let (envelope, _, _) = app
            .store
            .message_for_user(user.account.id, original)
            .await?
            .ok_or(AppError::NotFound)?;
        let content: EnvelopeContent = serde_json::from_slice(
            &open(&user.identity()?, &envelope).map_err(anyhow::Error::from)?,
        )
        .map_err(anyhow::Error::from)?;
        let meta = original_metadata(&app, &user, original).await?;
        let quoted = quote(&meta.sender_line, &meta.sent, &content.body);
        if query.forward.is_some() {
            heading = "Forward a message";
            form.subject = Subject::forward(&content.subject);
            form.body = format!("\n\n---------- Forwarded message ----------\n{quoted}");
            form.forward_of = Some(original);
            forwarded_attachments = content.attachments.iter().map(|a| a.name.clone()).collect();
        } else {
            heading = "Reply";
            form.subject = Subject::reply(&content.subject);
            form.body = format!("\n\n{quoted}");
            form.reply_to = Some(original);
            let me = user.account.email.as_str();
            let sender_is_me = meta.sender_email == me;
            let mut to: Vec<String> = if sender_is_me {
                meta.to.clone()
            } else {
                vec![meta.sender_email.clone()]
            };
            let mut cc: Vec<String> = Vec::new();
            if query.all.is_some() {
                if !sender_is_me {
                    to.extend(meta.to.iter().cloned());
                }
                cc.extend(meta.cc.iter().cloned());
            }
            to.retain(|a| a != me);
            cc.retain(|a| a != me && !to.contains(a));
            to.dedup();
            form.to = to.join(", ");
            form.cc = cc.join(", ");
        }
    }
    Ok(ComposePage {
        page: Page::signed_in(&app, &csrf, &user, Section::Compose).await?,
        errors: FormErrors::default(),
        form,
        heading,
        forwarded_attachments,
        max_attachment: super::thread::human_size(app.config.max_attachment_bytes()),
        cases: open_cases(&app, &user).await?,
    })
}

struct OriginalMetadata {
    sender_line: String,
    sender_email: String,
    sent: String,
    to: Vec<String>,
    cc: Vec<String>,
}

async fn original_metadata(
    app: &AppState,
    user: &CurrentUser,
    message_id: i64,
) -> Result<OriginalMetadata, AppError> {
    let thread_id = app
        .thread_of(user.account.id, message_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = app
        .store
        .thread_for_user(user.account.id, thread_id)
        .await?;
    let row = rows
        .iter()
        .find(|r| r.message_id == message_id)
        .ok_or(AppError::NotFound)?;
    let addressees = app.store.addressees(&[message_id]).await?;
    let of_kind = |kind: &str| {
        addressees
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.email.clone())
            .collect()
    };
    Ok(OriginalMetadata {
        sender_line: format!("{} <{}>", row.sender_name, row.sender_email),
        sender_email: row.sender_email.clone(),
        sent: crate::clock::display_time(row.sent_at),
        to: of_kind("to"),
        cc: of_kind("cc"),
    })
}

fn quote(sender: &str, sent: &str, body: &str) -> String {
    let quoted: Vec<String> = body.lines().map(|l| format!("> {l}")).collect();
    format!("On {sent}, {sender} wrote:\n{}", quoted.join("\n"))
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
    let mut form = submitted.fields;
    let mut errors = submitted.errors;
    if form.action == "draft" {
        for staged in &submitted.attachments {
            let _ = app.blobs.delete(&staged.blob_id);
        }
        let id = save_draft(&app, &user, &form).await?;
        return Ok(Redirect::to(&format!("/drafts?saved={id}")).into_response());
    }
    let outgoing = match (submitted.validated, errors.is_empty()) {
        (Some(outgoing), true) => Some(outgoing),
        _ => None,
    };
    if let (Some(outgoing), Some(addressees)) = (outgoing, submitted.addressees) {
        let mut attachments = submitted.attachments;
        if let Some(original) = outgoing.forward_of {
            let recipients = addressees
                .content_recipients(&user.account)
                .map_err(AppError::Internal)?;
            let forwarded = app
                .forward_attachments(&user.account, user.identity()?, original, recipients)
                .await?;
            attachments.extend(forwarded);
        }
        let draft_id = form.draft_id;
        let delivered = app
            .send(
                &user.account,
                outgoing,
                &addressees,
                attachments,
                &client.address,
            )
            .await?;
        if let Some(draft_id) = draft_id {
            app.store.delete_draft(user.account.id, draft_id).await?;
        }
        return Ok(
            Redirect::to(&format!("/threads/{}?sent=1", delivered.thread_id)).into_response(),
        );
    }
    for staged in &submitted.attachments {
        let _ = app.blobs.delete(&staged.blob_id);
    }
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
    form.action = String::new();
    let mut response = ComposePage {
        page: Page::signed_in(&app, &csrf, &user, Section::Compose).await?,
        errors,
        form,
        heading: "Write a message",
        forwarded_attachments: Vec::new(),
        max_attachment: super::thread::human_size(app.config.max_attachment_bytes()),
        cases: open_cases(&app, &user).await?,
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// Validates what was typed, in the order the person sees the fields.
pub async fn validate(
    app: &AppState,
    sender: &crate::store::UserAccount,
    form: &ComposeFields,
    errors: &mut FormErrors,
) -> Result<Option<(Outgoing, crate::mail::Addressees)>, AppError> {
    let to = errors.check("to", AddressList::parse(&form.to));
    let cc = errors.check("cc", AddressList::parse(&form.cc));
    let subject = errors.check("subject", Subject::parse(&form.subject));
    let body = errors.check("body", Body::parse(&form.body));
    let addressees = match (&to, &cc) {
        (Some(to), Some(cc)) => match app.resolve_addressees(sender, to, cc).await {
            Ok(addressees) => Some(addressees),
            Err(AddressProblem::Internal(error)) => return Err(AppError::Internal(error)),
            Err(problem) => {
                errors.add("to", problem.to_string());
                None
            }
        },
        _ => None,
    };
    let (Some(to), Some(cc), Some(subject), Some(body), Some(addressees)) =
        (to, cc, subject, body, addressees)
    else {
        return Ok(None);
    };
    // A case-tagged conversation may only include the case's participants.
    let case_id = match form.reply_to {
        Some(message_id) => match app.thread_of(sender.id, message_id).await? {
            Some(thread_id) => app.store.thread_case(thread_id).await?,
            None => return Err(AppError::NotFound),
        },
        None => form.case_id,
    };
    if let Some(case_id) = case_id {
        if app.store.case_for_user(sender.id, case_id).await?.is_none() {
            errors.add("case_id", "Choose one of your cases");
            return Ok(None);
        }
        let emails = to
            .addresses()
            .iter()
            .chain(cc.addresses())
            .map(|e| e.as_str());
        match app.check_case_addressees(case_id, emails).await {
            Ok(()) => {}
            Err(crate::cases::CaseProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem) => {
                errors.add("to", problem.to_string());
                return Ok(None);
            }
        }
    }
    Ok(Some((
        Outgoing {
            to,
            cc,
            subject,
            body,
            reply_to: form.reply_to,
            forward_of: form.forward_of,
            case_id: if form.reply_to.is_some() {
                None
            } else {
                case_id
            },
        },
        addressees,
    )))
}

pub async fn save_draft(
    app: &AppState,
    user: &CurrentUser,
    form: &ComposeFields,
) -> Result<i64, AppError> {
    let content = DraftContent {
        to: form.to.clone(),
        cc: form.cc.clone(),
        subject: form.subject.clone(),
        body: form.body.clone(),
        reply_to: form.reply_to,
        forward_of: form.forward_of,
        case_id: form.case_id,
    };
    let sealed = crate::crypto::seal_item(&user.account.public_recipient, &content)?;
    let now = app.clock.now();
    let saved = app
        .store
        .save_draft(user.account.id, form.draft_id, &sealed, now)
        .await?;
    match saved {
        Some(id) => Ok(id),
        // The draft was sent or deleted elsewhere meanwhile: keep this text as a new one.
        None => Ok(app
            .store
            .save_draft(user.account.id, None, &sealed, now)
            .await?
            .ok_or_else(|| anyhow::anyhow!("draft insert returned no id"))?),
    }
}

//! Reading the compose form: text fields into memory (bounded), files streamed through
//! age into the blob store as they arrive, so a 1 GiB attachment never sits in memory.

use std::io::Write;

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use bytes::Bytes;

use super::compose::validate;
use crate::crypto::{Recipients, SealingWriter};
use crate::domain::AttachmentInfo;
use crate::domain::clean_file_name;
use crate::error::AppError;
use crate::mail::{Addressees, Outgoing, StagedAttachment};
use crate::state::AppState;
use crate::store::UserAccount;
use crate::web::form::FormErrors;

/// Text fields are small; anything larger than this is not a message someone typed.
const TEXT_FIELD_LIMIT: usize = 2 * 1024 * 1024;
const MAX_ATTACHMENTS: usize = 20;

/// What the compose form holds, exactly as typed.
#[derive(Default)]
pub struct ComposeFields {
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub reply_to: Option<i64>,
    pub forward_of: Option<i64>,
    pub draft_id: Option<i64>,
    pub case_id: Option<i64>,
    pub action: String,
}

impl ComposeFields {
    fn set(&mut self, name: &str, value: String) {
        let number = || value.trim().parse().ok();
        match name {
            "to" => self.to = value,
            "cc" => self.cc = value,
            "subject" => self.subject = value,
            "body" => self.body = value,
            "reply_to" => self.reply_to = number(),
            "forward_of" => self.forward_of = number(),
            "draft_id" => self.draft_id = number(),
            "case_id" => self.case_id = number(),
            "action" => self.action = value,
            _ => {}
        }
    }
}

pub struct SubmittedCompose {
    pub fields: ComposeFields,
    pub errors: FormErrors,
    pub validated: Option<Outgoing>,
    pub addressees: Option<Addressees>,
    pub attachments: Vec<StagedAttachment>,
    pub attachment_names: Vec<String>,
}

enum Check {
    NotYet,
    Valid(Box<(Outgoing, Addressees, Recipients)>),
    Invalid,
}

/// Reads the whole form. Fields arrive in page order (addresses, subject, body, then
/// files), so the recipients are known and checked before the first file byte arrives and
/// each file is encrypted to them as it streams in. With `for_sending` false (draft
/// autosave) nothing is validated and files are skipped.
pub async fn read_compose_form(
    app: &AppState,
    sender: &UserAccount,
    mut multipart: Multipart,
    for_sending: bool,
) -> Result<SubmittedCompose, AppError> {
    let mut fields = ComposeFields::default();
    let mut errors = FormErrors::default();
    let mut check = Check::NotYet;
    let mut attachments = Vec::new();
    let mut attachment_names = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "attachments" {
            let text = read_text(&mut field).await?;
            fields.set(&name, text);
            continue;
        }
        let file_name = clean_file_name(field.file_name().unwrap_or_default());
        if field.file_name().unwrap_or_default().is_empty() || !for_sending {
            drain(&mut field).await?;
            continue;
        }
        attachment_names.push(file_name.clone());
        if matches!(check, Check::NotYet) {
            check = run_check(app, sender, &fields, &mut errors).await?;
        }
        if attachment_names.len() > MAX_ATTACHMENTS {
            errors.add(
                "attachments",
                format!("Attach {MAX_ATTACHMENTS} files or fewer"),
            );
            check = Check::Invalid;
        }
        let Check::Valid(valid) = &check else {
            drain(&mut field).await?;
            continue;
        };
        let media_type = field.content_type().map(str::to_string).unwrap_or_else(|| {
            mime_guess::from_path(&file_name)
                .first_or_octet_stream()
                .to_string()
        });
        match stage(
            app,
            valid.2.clone(),
            &mut field,
            file_name.clone(),
            media_type,
        )
        .await?
        {
            Some(staged) => attachments.push(staged),
            None => {
                errors.add(
                    "attachments",
                    format!(
                        "“{file_name}” is larger than the {} limit for one file. Send it in \
                         parts or compress it.",
                        super::thread::human_size(app.config.max_attachment_bytes())
                    ),
                );
                check = Check::Invalid;
            }
        }
    }
    if for_sending && matches!(check, Check::NotYet) {
        check = run_check(app, sender, &fields, &mut errors).await?;
    }
    let (validated, addressees) = match check {
        Check::Valid(valid) => {
            let (outgoing, addressees, _) = *valid;
            (Some(outgoing), Some(addressees))
        }
        _ => (None, None),
    };
    Ok(SubmittedCompose {
        fields,
        errors,
        validated,
        addressees,
        attachments,
        attachment_names,
    })
}

async fn run_check(
    app: &AppState,
    sender: &UserAccount,
    fields: &ComposeFields,
    errors: &mut FormErrors,
) -> Result<Check, AppError> {
    Ok(match validate(app, sender, fields, errors).await? {
        Some((outgoing, addressees)) => {
            let recipients = addressees
                .content_recipients(sender)
                .map_err(AppError::Internal)?;
            Check::Valid(Box::new((outgoing, addressees, recipients)))
        }
        None => Check::Invalid,
    })
}

/// Streams one file through age into a new blob. None if it exceeds the size limit (the
/// partial blob is removed).
async fn stage(
    app: &AppState,
    recipients: Recipients,
    field: &mut Field<'_>,
    name: String,
    media_type: String,
) -> Result<Option<StagedAttachment>, AppError> {
    let limit = app.config.max_attachment_bytes();
    let (pending, file) = app.blobs.create().map_err(internal)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut writer = SealingWriter::new(&recipients, file)?;
        while let Some(chunk) = rx.blocking_recv() {
            writer.write_all(&chunk)?;
        }
        Ok(writer.finish()?)
    });
    let mut received: u64 = 0;
    let mut too_large = false;
    while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
        received += chunk.len() as u64;
        if received > limit {
            too_large = true;
            break;
        }
        if tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::from(e)))?;
    if too_large {
        drain(field).await?;
        return Ok(None);
    }
    let (file, size, sha256) = written?;
    let blob_id = pending.commit(file).map_err(internal)?;
    Ok(Some(StagedAttachment {
        blob_id,
        info: AttachmentInfo {
            name,
            media_type,
            size,
            sha256,
        },
    }))
}

async fn read_text(field: &mut Field<'_>) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
        if bytes.len() + chunk.len() > TEXT_FIELD_LIMIT {
            return Err(AppError::BadRequest(
                "A field of the form was too long. Put long documents in an attachment.",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest("The form contained text that is not valid UTF-8."))
}

async fn drain(field: &mut Field<'_>) -> Result<(), AppError> {
    while field.chunk().await.map_err(bad_form)?.is_some() {}
    Ok(())
}

fn bad_form(_: axum::extract::multipart::MultipartError) -> AppError {
    AppError::BadRequest("The form could not be read. Try sending it again.")
}

fn internal(error: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(error.into())
}

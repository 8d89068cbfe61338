//! Reading the compose form: text fields into memory (bounded), files streamed through
//! age into the blob store as they arrive, so a 1 GiB attachment never sits in memory.

use axum::extract::Multipart;
use axum::extract::multipart::Field;

use crate::crypto::Recipients;
use crate::domain::FieldErrors;
use crate::domain::{Composition, clean_file_name};
use crate::mail::{Addressees, Outgoing, StageProblem, StagedAttachment};
use crate::state::AppState;
use crate::store::UserAccount;
use crate::web::error::AppError;
use crate::web::format;

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
    /// "Reply needed by", as typed.
    pub reply_by: String,
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
            "reply_by" => self.reply_by = value,
            "action" => self.action = value,
            _ => {}
        }
    }

    pub fn composition(&self) -> Composition {
        Composition {
            to: self.to.clone(),
            cc: self.cc.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            reply_to: self.reply_to,
            forward_of: self.forward_of,
            case_id: self.case_id,
            reply_by: self.reply_by.clone(),
        }
    }

    pub fn from_composition(composition: Composition, draft_id: Option<i64>) -> Self {
        Self {
            to: composition.to,
            cc: composition.cc,
            subject: composition.subject,
            body: composition.body,
            reply_to: composition.reply_to,
            forward_of: composition.forward_of,
            case_id: composition.case_id,
            reply_by: composition.reply_by,
            draft_id,
            action: String::new(),
        }
    }
}

pub struct SubmittedCompose {
    pub fields: ComposeFields,
    pub errors: FieldErrors,
    pub ready: Option<(Outgoing, Addressees)>,
    pub attachments: Vec<StagedAttachment>,
    pub attachment_names: Vec<String>,
    /// An attachment could not be stored: the disk is full or read-only, or the attachment
    /// store does not answer.
    pub storage_failed: Option<crate::store::StorageTrouble>,
}

enum Check {
    NotYet,
    Valid(Box<(Outgoing, Addressees, Recipients)>),
    Invalid,
}

/// Reads the whole form. Fields arrive in page order (addresses, subject, body, then
/// files), so the recipients are known and checked before the first file byte arrives and
/// each file is encrypted to them as it streams in. With `for_sending` false (draft
/// autosave) nothing is checked and files are skipped.
pub async fn read_compose_form(
    app: &AppState,
    sender: &UserAccount,
    mut multipart: Multipart,
    for_sending: bool,
) -> Result<SubmittedCompose, AppError> {
    let mut fields = ComposeFields::default();
    let mut errors = FieldErrors::default();
    let mut check = Check::NotYet;
    let mut attachments = Vec::new();
    let mut attachment_names = Vec::new();
    let mut allowance = None;
    let mut storage_failed = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "attachments" {
            let text = read_text(&mut field, &name).await?;
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
        let chunks = Box::pin(futures_util::stream::unfold(&mut field, |field| async {
            match field.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), field)),
                Ok(None) => None,
                Err(error) => Some((Err(error), field)),
            }
        }));
        let left = match allowance {
            Some(left) => left,
            None => app.mail.storage_left(sender).await?,
        };
        match app
            .mail
            .stage_attachment(valid.2.clone(), file_name.clone(), media_type, chunks, left)
            .await
        {
            Ok(staged) => {
                allowance = Some(left.saturating_sub(staged.info.size));
                attachments.push(staged);
            }
            Err(StageProblem::OverAllowance) => {
                drain(&mut field).await?;
                errors.add(
                    "attachments",
                    format!(
                        "“{file_name}” does not fit in your storage allowance of {} ({} left). \
                         Ask your administrator for more space, or send a smaller file.",
                        format::size(app.config.storage_quota_bytes()),
                        format::size(left)
                    ),
                );
                check = Check::Invalid;
            }
            Err(StageProblem::TooLarge) => {
                drain(&mut field).await?;
                errors.add(
                    "attachments",
                    format!(
                        "“{file_name}” is larger than the {} limit for one file. Send it in \
                         parts or compress it.",
                        format::size(app.config.max_attachment_bytes())
                    ),
                );
                check = Check::Invalid;
            }
            // Returning drops the attachments staged so far, which removes their blobs.
            Err(StageProblem::Upload) => return Err(bad_form_message()),
            Err(StageProblem::Internal(error))
                if crate::store::storage_unavailable(error.as_ref()) =>
            {
                tracing::error!(error = %format!("{error:#}"), "storage unavailable for an attachment");
                drain(&mut field).await?;
                storage_failed = crate::store::storage_trouble(error.as_ref());
                check = Check::Invalid;
            }
            Err(StageProblem::Internal(error)) => return Err(AppError::Internal(error)),
        }
    }
    if for_sending && matches!(check, Check::NotYet) {
        check = run_check(app, sender, &fields, &mut errors).await?;
    }
    let ready = match check {
        Check::Valid(valid) => {
            let (outgoing, addressees, _) = *valid;
            Some((outgoing, addressees))
        }
        _ => None,
    };
    Ok(SubmittedCompose {
        fields,
        errors,
        ready,
        attachments,
        attachment_names,
        storage_failed,
    })
}

async fn run_check(
    app: &AppState,
    sender: &UserAccount,
    fields: &ComposeFields,
    errors: &mut FieldErrors,
) -> Result<Check, AppError> {
    Ok(
        match app
            .mail
            .check_composition(sender, &fields.composition())
            .await?
        {
            Ok((outgoing, addressees)) => {
                let recipients = addressees.content_recipients(sender)?;
                Check::Valid(Box::new((outgoing, addressees, recipients)))
            }
            Err(problems) => {
                errors.extend(problems);
                Check::Invalid
            }
        },
    )
}

async fn read_text(field: &mut Field<'_>, name: &str) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
        if bytes.len() + chunk.len() > TEXT_FIELD_LIMIT {
            return Err(AppError::BadRequest(
                "A field of the form was too long. Put long documents in an attachment.",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| AppError::InvalidText {
        field: name.to_string(),
    })
}

async fn drain(field: &mut Field<'_>) -> Result<(), AppError> {
    while field.chunk().await.map_err(bad_form)?.is_some() {}
    Ok(())
}

fn bad_form(_: axum::extract::multipart::MultipartError) -> AppError {
    bad_form_message()
}

fn bad_form_message() -> AppError {
    AppError::BadRequest("The form could not be read. Try sending it again.")
}

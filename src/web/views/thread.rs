//! Reading a conversation, and downloading its attachments as decrypted streams.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use crate::audit::Origin;
use crate::clock::display_time;
use crate::crypto::{open, opening_reader};
use crate::domain::EnvelopeContent;
use crate::domain::{AttachmentRisk, clean_file_name, safe_media_type};
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::page::{Page, Section};

pub struct ShownAttachment {
    pub position: usize,
    pub name: String,
    pub size: String,
    pub warning: Option<&'static str>,
}

pub struct ShownMessage {
    pub message_id: i64,
    pub sender: String,
    pub sender_email: String,
    pub organisation: String,
    pub to: String,
    pub cc: String,
    pub sent: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<ShownAttachment>,
    pub from_me: bool,
    pub deleted: bool,
    pub expanded: bool,
    /// The delivery and read timeline, for messages the viewer sent.
    pub receipts: Option<Vec<super::audit::Receipt>>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/thread.html")]
pub struct ThreadPage {
    page: Page,
    subject: String,
    messages: Vec<ShownMessage>,
    last_message_id: i64,
    sent_notice: bool,
    thread_id: i64,
    /// (id, reference) of the case the thread is tagged with.
    case: Option<(i64, String)>,
    /// The user's open cases, offered for tagging an untagged thread.
    taggable: Vec<(i64, String)>,
    tag_error: Option<String>,
}

#[derive(Deserialize)]
pub struct ThreadQuery {
    #[serde(default)]
    sent: Option<String>,
    #[serde(default)]
    tag_error: Option<String>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(thread_id): Path<i64>,
    Query(query): Query<ThreadQuery>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<ThreadPage, AppError> {
    let rows = app
        .store
        .thread_for_user(user.account.id, thread_id)
        .await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    let identity = user.identity()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
    let addressees = app.store.addressees(&ids).await?;
    let names = |message_id: i64, kind: &str| {
        addressees
            .iter()
            .filter(|a| a.message_id == message_id && a.kind == kind)
            .map(|a| format!("{} <{}>", a.name, a.email))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let count = rows.len();
    let mut messages = Vec::with_capacity(count);
    for (index, row) in rows.iter().enumerate() {
        // A copy addressed to keys this person no longer has (new keys were issued) stays
        // unreadable; say so rather than fail the whole conversation.
        let content: EnvelopeContent = open(&identity, &row.envelope)
            .map_err(anyhow::Error::from)
            .and_then(|plain| Ok(serde_json::from_slice(&plain)?))
            .unwrap_or_else(|_| EnvelopeContent {
                subject: "(cannot be decrypted)".into(),
                body: "This message was encrypted to keys your account no longer has, so it \
                       cannot be read."
                    .into(),
                attachments: Vec::new(),
            });
        let receipts = if row.sender_id == user.account.id {
            let names: Vec<String> = content.attachments.iter().map(|a| a.name.clone()).collect();
            super::audit::receipts_for(&app, user.account.id, row.message_id, &names).await?
        } else {
            None
        };
        messages.push(ShownMessage {
            receipts,
            message_id: row.message_id,
            sender: row.sender_name.clone(),
            sender_email: row.sender_email.clone(),
            organisation: row.sender_organisation.clone(),
            to: names(row.message_id, "to"),
            cc: names(row.message_id, "cc"),
            sent: display_time(row.sent_at),
            subject: content.subject,
            body: content.body,
            attachments: content
                .attachments
                .iter()
                .enumerate()
                .map(|(position, a)| ShownAttachment {
                    position,
                    name: a.name.clone(),
                    size: human_size(a.size),
                    warning: AttachmentRisk::of(&a.name).warning(),
                })
                .collect(),
            from_me: row.sender_id == user.account.id,
            deleted: row.folder == "deleted",
            expanded: row.is_read == 0 || index + 1 == count,
        });
    }
    let now = app.clock.now();
    let first = app
        .store
        .mark_thread_read(user.account.id, thread_id, now)
        .await?;
    // Reading content is recorded: each message shown to someone other than its sender.
    let case_id = app.store.thread_case(thread_id).await?;
    let origin = Origin::user(&user.account, &client.address);
    let opened: Vec<_> = rows
        .iter()
        .filter(|r| r.sender_id != user.account.id)
        .map(|r| {
            let mut event = origin.event(
                now,
                EventKind::MessageOpened,
                SubjectKind::Message,
                Some(r.message_id),
                serde_json::json!({ "first": first.contains(&r.message_id) }),
            );
            event.case_id = case_id;
            event
        })
        .collect();
    app.store.audit(&opened).await?;
    let subject = messages
        .first()
        .map(|m| m.subject.clone())
        .unwrap_or_default();
    let last_message_id = messages.last().map(|m| m.message_id).unwrap_or_default();
    let case = match app.store.thread_case(thread_id).await? {
        Some(case_id) => app
            .store
            .case_for_user(user.account.id, case_id)
            .await?
            .map(|c| (c.id, c.reference)),
        None => None,
    };
    let taggable = if case.is_none() {
        app.store
            .cases_for_user(user.account.id)
            .await?
            .into_iter()
            .filter(|c| c.status == "open")
            .map(|c| (c.id, c.reference))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ThreadPage {
        page: Page::signed_in(&app, &csrf, &user, Section::Mail).await?,
        subject,
        messages,
        last_message_id,
        sent_notice: query.sent.is_some(),
        thread_id,
        case,
        taggable,
        tag_error: query.tag_error.filter(|e| e.len() < 300),
    })
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    case_id: String,
}

/// Tags a thread with one of the user's cases.
pub async fn tag_case(
    State(app): State<AppState>,
    Path(thread_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    axum::Form(form): axum::Form<TagForm>,
) -> Result<axum::response::Redirect, AppError> {
    let Ok(case_id) = form.case_id.parse::<i64>() else {
        return Err(AppError::BadRequest(
            "Choose a case to tag the conversation with.",
        ));
    };
    match app.tag_thread(&user.account, thread_id, case_id).await {
        Ok(true) => {
            let payload = serde_json::json!({ "thread": thread_id });
            super::cases::record_case_event(
                &app,
                &user,
                &client,
                EventKind::CaseThreadTagged,
                case_id,
                payload,
            )
            .await?;
            Ok(axum::response::Redirect::to(&format!(
                "/threads/{thread_id}"
            )))
        }
        Ok(false) => Err(AppError::NotFound),
        Err(crate::cases::CaseProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let query = serde_urlencoded::to_string([("tag_error", problem.to_string())])
                .unwrap_or_default();
            Ok(axum::response::Redirect::to(&format!(
                "/threads/{thread_id}?{query}"
            )))
        }
    }
}

/// Streams an attachment, decrypting as it goes: never whole in memory.
pub async fn download(
    State(app): State<AppState>,
    Path((message_id, position)): Path<(i64, usize)>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let (envelope, _, rows) = app
        .store
        .message_for_user(user.account.id, message_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let identity = user.identity()?;
    let content: EnvelopeContent = open(&identity, &envelope)
        .map_err(anyhow::Error::from)
        .and_then(|plain| Ok(serde_json::from_slice(&plain)?))?;
    let (Some(info), Some(row)) = (content.attachments.get(position), rows.get(position)) else {
        return Err(AppError::NotFound);
    };
    let reader = app
        .blobs
        .open(&row.blob_id)
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut event = Origin::user(&user.account, &client.address).event(
        app.clock.now(),
        EventKind::AttachmentDownloaded,
        SubjectKind::Message,
        Some(message_id),
        serde_json::json!({ "attachment": position, "size": info.size }),
    );
    event.case_id = app.store.message_case(message_id).await?;
    app.store.audit(&[event]).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut plain = match opening_reader(&identity, reader) {
            Ok(plain) => plain,
            Err(error) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(error.to_string())));
                return;
            }
        };
        loop {
            let mut chunk = vec![0u8; 256 * 1024];
            match plain.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    chunk.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = tx.blocking_send(Err(error));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(safe_media_type(&info.media_type)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    let name = clean_file_name(&info.name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.0} KB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MB", b / KIB / KIB)
    } else {
        format!("{:.2} GB", b / KIB / KIB / KIB)
    }
}

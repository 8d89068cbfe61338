//! Reading a conversation, and downloading its attachments as decrypted streams.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::cases::CaseProblem;
use crate::clock::display_date;
use crate::domain::{
    AttachmentRisk, EnvelopeContent, Folder, ReplyMark, ReplyState, clean_file_name,
    safe_media_type,
};
use crate::mail::ThreadMessage;
use crate::state::AppState;
use crate::store::SameLetter;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format::{self, ShownReply};
use crate::web::page::{Page, Section};

pub struct ShownAttachment {
    pub position: usize,
    pub name: String,
    pub size: String,
    pub warning: Option<&'static str>,
}

pub struct ShownMessage {
    pub message_id: i64,
    /// The reader's own copy, and whether archiving or deleting the conversation moves it
    /// (received copies outside Deleted; the Sent folder keeps what was sent).
    pub entry_id: i64,
    pub fileable: bool,
    pub sender: String,
    /// "Sent by … on behalf of …", when a delegate sent it.
    pub sent_by: Option<String>,
    pub sender_email: String,
    pub organisation: String,
    /// For a letter from outside Casemail: how it arrived and what its checks found.
    pub received_via: Option<String>,
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
    /// The reply asked for: of the viewer on a received letter, or by them on their own.
    pub reply: Option<ShownReply>,
    /// The same letter in the office's other mailboxes: a line saying where and whether
    /// this copy repeats an earlier one.
    pub same_letter: Option<SameLetterNote>,
}

pub struct SameLetterNote {
    /// This copy repeats a letter that reached the office before.
    pub duplicate: bool,
    /// The other mailboxes, each with when it reached them.
    pub elsewhere: String,
}

/// A letter in the conversation still waiting for the viewer's reply.
pub struct AwaitedReply {
    pub sender: String,
    pub by: String,
    pub overdue: bool,
}

/// How a team's conversation is being handled, for its members.
pub struct TeamHandling {
    /// Whether the team still owes an answer.
    pub open: bool,
    pub state: &'static str,
    /// The member who has it in hand.
    pub assignee: Option<(i64, String)>,
    /// The member reading, and the team's members to choose from.
    pub me: i64,
    pub members: Vec<(i64, String)>,
    pub assigned_notice: bool,
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
    /// The whole conversation for printing: every message unfolded, no actions.
    print: bool,
    /// Some of the reader's copies can be archived or deleted from here.
    can_file: bool,
    /// The soonest letter here that awaits the reader's reply.
    awaited: Option<AwaitedReply>,
    no_reply_notice: bool,
    team: Option<TeamHandling>,
}

#[derive(Deserialize)]
pub struct ThreadQuery {
    #[serde(default)]
    print: Option<String>,
    #[serde(default)]
    sent: Option<String>,
    #[serde(default)]
    tag_error: Option<String>,
    #[serde(default)]
    no_reply: Option<String>,
    #[serde(default)]
    assigned: Option<String>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(thread_id): Path<i64>,
    Query(query): Query<ThreadQuery>,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<ThreadPage, AppError> {
    let opened = app
        .mail
        .open_thread(&user.account, &user.identity()?, thread_id, &client.address)
        .await?
        .ok_or(AppError::NotFound)?;
    let count = opened.messages.len();
    let print = query.print.is_some();
    let now = app.clock.now();
    let awaited = opened
        .messages
        .iter()
        .filter(|m| m.row.reply_state == ReplyState::Open)
        .filter_map(|m| Some((m.row.reply_by?, &m.row.sender_name)))
        .min_by_key(|(by, _)| *by)
        .map(|(by, sender)| AwaitedReply {
            sender: sender.clone(),
            by: display_date(by),
            overdue: now > by,
        });
    // The navigation's counts are read after the thread is marked read (they include it).
    let (page, team) =
        tokio::try_join!(Page::signed_in(&app, &csrf, &user, Section::Mail), async {
            match user.account.is_team {
                true => team_handling(
                    &app,
                    &user,
                    thread_id,
                    &opened.messages,
                    query.assigned.is_some(),
                )
                .await
                .map(Some),
                false => Ok(None),
            }
        },)?;
    let messages: Vec<ShownMessage> = opened
        .messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| shown(message, &user, index + 1 == count || print, now))
        .collect();
    let subject = messages
        .first()
        .map(|m| m.subject.clone())
        .unwrap_or_default();
    let last_message_id = messages.last().map_or(0, |m| m.message_id);
    let can_file = messages.iter().any(|m| m.fileable);
    Ok(ThreadPage {
        page,
        subject,
        messages,
        last_message_id,
        sent_notice: query.sent.is_some(),
        thread_id,
        case: opened.case.map(|c| (c.id, c.reference)),
        taggable: opened
            .taggable
            .into_iter()
            .map(|c| (c.id, c.reference))
            .collect(),
        tag_error: query.tag_error.filter(|e| e.len() < 300),
        print,
        can_file,
        awaited,
        no_reply_notice: query.no_reply.is_some(),
        team,
    })
}

/// A note on a letter that also reached other mailboxes of the reader's office.
fn same_letter_note(message_id: i64, others: &[SameLetter]) -> Option<SameLetterNote> {
    if others.is_empty() {
        return None;
    }
    Some(SameLetterNote {
        duplicate: others.iter().any(|o| o.message_id < message_id),
        elsewhere: others
            .iter()
            .map(|o| {
                let kind = if o.is_team != 0 {
                    " (team mailbox)"
                } else {
                    ""
                };
                format!("{}{kind}, {}", o.name, format::time(o.sent_at))
            })
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Where a team's conversation stands: owed an answer, answered or needing none, and
/// whose hands it is in.
async fn team_handling(
    app: &AppState,
    user: &CurrentUser,
    thread_id: i64,
    messages: &[ThreadMessage],
    assigned_notice: bool,
) -> Result<TeamHandling, AppError> {
    let states: Vec<ReplyState> = messages.iter().map(|m| m.row.reply_state).collect();
    let open = states.contains(&ReplyState::Open);
    let state = if open {
        "Waiting for the team's reply"
    } else if states.contains(&ReplyState::Answered) {
        "Answered"
    } else if states.contains(&ReplyState::NotNeeded) {
        "No reply needed"
    } else {
        "Nothing asked of the team"
    };
    let members = app
        .accounts
        .team_for_member(user.person(), user.account.id)
        .await?
        .map(|(_, members)| members.into_iter().map(|m| (m.member_id, m.name)).collect())
        .unwrap_or_default();
    Ok(TeamHandling {
        open,
        state,
        assignee: app.mail.assignee(&user.account, thread_id).await?,
        me: user.person().id,
        members,
        assigned_notice,
    })
}

fn shown(message: ThreadMessage, user: &CurrentUser, last: bool, now: i64) -> ShownMessage {
    let row = message.row;
    let from_me = row.sender_id == user.account.id;
    let reply = match (from_me, row.reply_by) {
        (true, Some(by)) => Some(ShownReply {
            label: format!("You asked for a reply by {}", display_date(by)),
            class: "govuk-tag--blue",
        }),
        _ => ReplyMark::of_copy(row.reply_state, row.reply_by, now)
            .map(|mark| format::reply_mark(mark, false)),
    };
    // A copy addressed to keys this person no longer has (new keys were issued) stays
    // unreadable; say so rather than fail the whole conversation.
    let content = message.content.unwrap_or_else(|| EnvelopeContent {
        subject: "(cannot be decrypted)".into(),
        body: "This message was encrypted to keys your account no longer has, so it \
               cannot be read."
            .into(),
        attachments: Vec::new(),
    });
    let names = |list: &[crate::store::AddresseeRow]| {
        list.iter()
            .map(|a| format!("{} <{}>", a.name, a.email))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let attachment_names: Vec<String> =
        content.attachments.iter().map(|a| a.name.clone()).collect();
    ShownMessage {
        receipts: message
            .timeline
            .map(|timeline| super::audit::receipts(timeline, &attachment_names)),
        message_id: row.message_id,
        entry_id: row.entry_id,
        fileable: !matches!(row.folder, Folder::Deleted | Folder::Sent),
        sent_by: row
            .sent_by_name
            .map(|delegate| format!("Sent by {delegate} on behalf of {}", row.sender_name)),
        sender: row.sender_name,
        sender_email: row.sender_email,
        organisation: row.sender_organisation,
        received_via: row.received_via,
        to: names(&message.to),
        cc: names(&message.cc),
        sent: format::time(row.sent_at),
        subject: content.subject,
        body: content.body,
        attachments: content
            .attachments
            .iter()
            .enumerate()
            .map(|(position, a)| ShownAttachment {
                position,
                name: a.name.clone(),
                size: format::size(a.size),
                warning: AttachmentRisk::of(&a.name).warning(),
            })
            .collect(),
        from_me,
        reply,
        same_letter: same_letter_note(row.message_id, &message.same_letter),
        deleted: row.folder == Folder::Deleted,
        expanded: !row.is_read || last,
    }
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
    match app
        .cases
        .tag_thread(&user.account, thread_id, case_id, &client.address)
        .await
    {
        Ok(()) => Ok(axum::response::Redirect::to(&format!(
            "/threads/{thread_id}"
        ))),
        Err(CaseProblem::NotFound) => Err(AppError::NotFound),
        Err(CaseProblem::Internal(e)) => Err(AppError::Internal(e)),
        Err(problem) => {
            let query = serde_urlencoded::to_string([("tag_error", problem.to_string())])
                .map_err(anyhow::Error::from)?;
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
    let download = app
        .mail
        .download(
            &user.account,
            user.identity()?,
            message_id,
            position,
            &client.address,
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let info = download.info;
    let mut response = Body::from_stream(download.body).into_response();
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

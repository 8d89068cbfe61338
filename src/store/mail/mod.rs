//! Threads, messages, mailbox entries and attachments. Every read is scoped by the user
//! asking: a message is visible to a user only through their own mailbox entry.

mod delivery;
mod mailbox;
mod replies;
mod storage;

use sqlx::FromRow;

use crate::domain::{Addressing, Folder, ReplyState};

pub use delivery::SameLetter;
pub use replies::{NavigationCounts, ReminderRow};

pub(super) use delivery::insert_delivery;

/// One person's copy of a message being delivered.
pub struct NewEntry {
    pub user_id: i64,
    pub folder: Folder,
    pub is_read: bool,
    /// Subject and snippet, encrypted to this person alone.
    pub summary: Vec<u8>,
}

pub struct NewAttachment {
    pub blob_id: String,
    pub size: i64,
}

pub struct Delivery {
    /// The thread a reply continues; a new thread is started when None.
    pub thread_id: Option<i64>,
    /// For a new thread: its case and whether it carries a plea negotiation. A reply
    /// inherits both from its thread.
    pub case_id: Option<i64>,
    pub plea: bool,
    pub sender_id: i64,
    pub sent_at: i64,
    pub envelope: Vec<u8>,
    pub size: i64,
    pub forwarded_from: Option<i64>,
    pub to: Vec<i64>,
    pub cc: Vec<i64>,
    pub entries: Vec<NewEntry>,
    pub attachments: Vec<NewAttachment>,
    /// For the audit trail: the sender's organisation, where they sent from, and the
    /// message this one answers.
    pub sender_org_id: i64,
    pub client_address: String,
    pub reply_to: Option<i64>,
    /// When the sender needs an answer from the To addressees (Unix seconds).
    pub reply_by: Option<i64>,
    /// The delegate who pressed Send, when it was not the mailbox's owner (`sender_id`),
    /// with their organisation.
    pub sent_by: Option<(i64, i64)>,
    /// The team mailboxes among the To addressees: each letter to a team awaits the
    /// team's answer, with or without a reply-by date.
    pub teams: Vec<i64>,
    /// The letter's keyed fingerprint; a copy reaching an organisation that the same
    /// letter from the same sender reached shortly before is marked a duplicate.
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Delivered {
    pub message_id: i64,
    pub thread_id: i64,
}

/// A row of a folder listing.
pub struct MailboxRow {
    pub entry_id: i64,
    pub message_id: i64,
    pub thread_id: i64,
    pub is_read: bool,
    pub sent_at: i64,
    pub delivered_at: i64,
    pub has_attachments: bool,
    pub summary: Vec<u8>,
    pub sender_name: String,
    pub sender_email: String,
    pub sender_organisation_id: i64,
    pub sender_organisation: String,
    pub case_reference: Option<String>,
    pub reply_by: Option<i64>,
    pub reply_state: ReplyState,
    /// On a team's copy: the member who has it in hand.
    pub assigned_to: Option<i64>,
    /// The earlier message this copy repeats (the same letter into the same office).
    pub duplicate_of: Option<i64>,
}

#[derive(FromRow)]
pub(super) struct StoredMailboxRow {
    entry_id: i64,
    message_id: i64,
    thread_id: i64,
    is_read: i64,
    sent_at: i64,
    delivered_at: i64,
    has_attachments: i64,
    summary: Vec<u8>,
    sender_name: String,
    sender_email: String,
    sender_organisation_id: i64,
    sender_organisation: String,
    case_reference: Option<String>,
    reply_by: Option<i64>,
    #[sqlx(try_from = "String")]
    reply_state: ReplyState,
    assigned_to: Option<i64>,
    duplicate_of: Option<i64>,
}

impl From<StoredMailboxRow> for MailboxRow {
    fn from(row: StoredMailboxRow) -> Self {
        Self {
            entry_id: row.entry_id,
            message_id: row.message_id,
            thread_id: row.thread_id,
            is_read: row.is_read != 0,
            sent_at: row.sent_at,
            delivered_at: row.delivered_at,
            has_attachments: row.has_attachments != 0,
            summary: row.summary,
            sender_name: row.sender_name,
            sender_email: row.sender_email,
            sender_organisation_id: row.sender_organisation_id,
            sender_organisation: row.sender_organisation,
            case_reference: row.case_reference,
            reply_by: row.reply_by,
            reply_state: row.reply_state,
            assigned_to: row.assigned_to,
            duplicate_of: row.duplicate_of,
        }
    }
}

pub(super) fn listing(rows: Vec<StoredMailboxRow>) -> Vec<MailboxRow> {
    rows.into_iter().map(MailboxRow::from).collect()
}

/// A message of a thread as seen by one member of it.
pub struct ThreadMessageRow {
    pub entry_id: i64,
    pub message_id: i64,
    pub folder: Folder,
    pub is_read: bool,
    pub sent_at: i64,
    pub envelope: Vec<u8>,
    pub sender_id: i64,
    pub sender_name: String,
    pub sender_email: String,
    pub sender_organisation: String,
    /// The reader's copy: the answer asked of them, if any.
    pub reply_by: Option<i64>,
    pub reply_state: ReplyState,
    /// The delegate who sent it on the sender's behalf.
    pub sent_by_name: Option<String>,
    /// For a letter from outside Casemail: how it arrived and what its checks found.
    pub received_via: Option<String>,
    /// When the reader first opened their copy (None: never, or it is their sent copy).
    pub first_read_at: Option<i64>,
    /// The case the conversation is tagged with.
    pub case_id: Option<i64>,
}

#[derive(FromRow)]
pub(super) struct StoredThreadMessage {
    entry_id: i64,
    message_id: i64,
    #[sqlx(try_from = "String")]
    folder: Folder,
    is_read: i64,
    sent_at: i64,
    envelope: Vec<u8>,
    sender_id: i64,
    sender_name: String,
    sender_email: String,
    sender_organisation: String,
    reply_by: Option<i64>,
    #[sqlx(try_from = "String")]
    reply_state: ReplyState,
    sent_by_name: Option<String>,
    received_via: Option<String>,
    first_read_at: Option<i64>,
    case_id: Option<i64>,
}

impl From<StoredThreadMessage> for ThreadMessageRow {
    fn from(row: StoredThreadMessage) -> Self {
        Self {
            entry_id: row.entry_id,
            message_id: row.message_id,
            folder: row.folder,
            is_read: row.is_read != 0,
            sent_at: row.sent_at,
            envelope: row.envelope,
            sender_id: row.sender_id,
            sender_name: row.sender_name,
            sender_email: row.sender_email,
            sender_organisation: row.sender_organisation,
            reply_by: row.reply_by,
            reply_state: row.reply_state,
            sent_by_name: row.sent_by_name,
            received_via: row.received_via,
            first_read_at: row.first_read_at,
            case_id: row.case_id,
        }
    }
}

#[derive(FromRow)]
pub struct AddresseeRow {
    pub message_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: Addressing,
    pub name: String,
    pub email: String,
}

#[derive(FromRow)]
pub struct AttachmentRow {
    pub position: i64,
    pub blob_id: String,
    pub size: i64,
}

/// Unread counts stop here; the navigation then shows "999+".
pub const UNREAD_CAP: i64 = 1000;

/// When one mailbox received a message and when its owner first opened it.
#[derive(FromRow, Debug)]
pub struct ReceiptRow {
    pub user_id: i64,
    #[sqlx(try_from = "String")]
    pub folder: Folder,
    pub delivered_at: i64,
    pub first_read_at: Option<i64>,
    pub reply_by: Option<i64>,
    #[sqlx(try_from = "String")]
    pub reply_state: ReplyState,
    pub reply_closed_at: Option<i64>,
}

/// Where a folder listing continues from: the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sent_at: i64,
    pub entry_id: i64,
}

pub(super) const MAILBOX_COLUMNS: &str = "e.id AS entry_id, e.message_id, e.thread_id, e.is_read, \
     e.sent_at, e.delivered_at, e.has_attachments, e.summary, u.name AS sender_name, \
     u.email AS sender_email, o.id AS sender_organisation_id, o.name AS sender_organisation, \
     c.reference AS case_reference, \
     e.reply_by, e.reply_state, e.assigned_to, e.duplicate_of";

pub(super) const MAILBOX_FROM: &str = "FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
     JOIN users u ON u.id = m.sender_id JOIN organisations o ON o.id = u.organisation_id \
     LEFT JOIN cases c ON c.id = e.case_id";

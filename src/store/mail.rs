//! Threads, messages, mailbox entries and attachments. Every read is scoped by the user
//! asking: a message is visible to a user only through their own mailbox entry.

use sqlx::FromRow;

use super::audit::{NewEvent, append};
use super::cases::CASE_VISIBLE;
use super::{Change, Store, StoreResult, flag};
use crate::domain::{Addressing, EventKind, Folder, SubjectKind};

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
    pub sender_organisation: String,
    pub case_reference: Option<String>,
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
    sender_organisation: String,
    case_reference: Option<String>,
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
            sender_organisation: row.sender_organisation,
            case_reference: row.case_reference,
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
}

#[derive(FromRow)]
struct StoredThreadMessage {
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
}

/// Where a folder listing continues from: the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sent_at: i64,
    pub entry_id: i64,
}

pub(super) const MAILBOX_COLUMNS: &str = "e.id AS entry_id, e.message_id, e.thread_id, e.is_read, \
     e.sent_at, e.delivered_at, e.has_attachments, e.summary, u.name AS sender_name, \
     u.email AS sender_email, o.name AS sender_organisation, c.reference AS case_reference";

pub(super) const MAILBOX_FROM: &str = "FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
     JOIN users u ON u.id = m.sender_id JOIN organisations o ON o.id = u.organisation_id \
     LEFT JOIN cases c ON c.id = e.case_id";

impl Change {
    /// Delivers a message as part of this change: it is in every mailbox or in none, with
    /// its audit events.
    pub async fn deliver(&mut self, delivery: &Delivery) -> StoreResult<Delivered> {
        insert_delivery(self.tx(), delivery).await
    }

    /// Marks a user's copies in a thread read, recording the first opening of each.
    /// Returns the messages opened for the first time now.
    pub async fn mark_thread_read(
        &mut self,
        user_id: i64,
        thread_id: i64,
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        let first: Vec<(i64,)> = sqlx::query_as(
            "UPDATE mailbox_entries SET first_read_at = $3 \
             WHERE user_id = $1 AND thread_id = $2 AND first_read_at IS NULL \
             AND folder <> 'sent' RETURNING message_id",
        )
        .bind(user_id)
        .bind(thread_id)
        .bind(now)
        .fetch_all(self.conn())
        .await?;
        sqlx::query(
            "UPDATE mailbox_entries SET is_read = 1 WHERE user_id = $1 AND thread_id = $2 \
             AND is_read = 0",
        )
        .bind(user_id)
        .bind(thread_id)
        .execute(self.conn())
        .await?;
        Ok(first.into_iter().map(|(id,)| id).collect())
    }
}

impl Store {
    /// Delivers many messages in one transaction (benchmarks seeding a mailbox).
    pub async fn deliver_many(
        &self,
        deliveries: &[Delivery],
        now: i64,
    ) -> StoreResult<Vec<Delivered>> {
        let mut change = self.begin(now).await?;
        let mut out = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            out.push(change.deliver(delivery).await?);
        }
        change.commit().await?;
        Ok(out)
    }

    /// One page of a folder, newest first, starting after `after`.
    pub async fn mailbox_page(
        &self,
        user_id: i64,
        folder: Folder,
        after: Option<Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<MailboxRow>> {
        self.mailbox_page_for_case(user_id, folder, None, after, limit)
            .await
    }

    /// One page of a folder, optionally only the messages tagged with `case_id`.
    pub async fn mailbox_page_for_case(
        &self,
        user_id: i64,
        folder: Folder,
        case_id: Option<i64>,
        after: Option<Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<MailboxRow>> {
        let after = after.unwrap_or(Cursor {
            sent_at: i64::MAX,
            entry_id: i64::MAX,
        });
        let case_filter = if case_id.is_some() {
            "AND e.case_id = $6"
        } else {
            ""
        };
        let query = format!(
            "SELECT {MAILBOX_COLUMNS} {MAILBOX_FROM} \
             WHERE e.user_id = $1 AND e.folder = $2 {case_filter} \
               AND (e.sent_at < $3 OR (e.sent_at = $3 AND e.id < $4)) AND {CASE_VISIBLE} \
             ORDER BY e.sent_at DESC, e.id DESC LIMIT $5"
        );
        let mut query = sqlx::query_as(&query)
            .bind(user_id)
            .bind(folder.as_str())
            .bind(after.sent_at)
            .bind(after.entry_id)
            .bind(limit);
        if let Some(case_id) = case_id {
            query = query.bind(case_id);
        }
        Ok(listing(query.fetch_all(&self.pool).await?))
    }

    /// A participant's messages in a case's threads, in any folder but Deleted.
    pub async fn case_messages(&self, user_id: i64, case_id: i64) -> StoreResult<Vec<MailboxRow>> {
        let rows: Vec<StoredMailboxRow> = sqlx::query_as(&format!(
            "SELECT {MAILBOX_COLUMNS} {MAILBOX_FROM} \
             WHERE e.user_id = $1 AND e.case_id = $2 AND e.folder <> 'deleted' AND {CASE_VISIBLE} \
             ORDER BY e.sent_at DESC, e.id DESC LIMIT 500"
        ))
        .bind(user_id)
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(listing(rows))
    }

    /// Every entry of a user outside Deleted within a date range, for search.
    pub async fn mailbox_search_candidates(
        &self,
        user_id: i64,
        from: i64,
        until: i64,
    ) -> StoreResult<Vec<MailboxRow>> {
        let rows: Vec<StoredMailboxRow> = sqlx::query_as(&format!(
            "SELECT {MAILBOX_COLUMNS} {MAILBOX_FROM} \
             WHERE e.user_id = $1 AND e.folder <> 'deleted' AND {CASE_VISIBLE} \
               AND e.sent_at >= $2 AND e.sent_at < $3 \
             ORDER BY e.sent_at DESC, e.id DESC"
        ))
        .bind(user_id)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(listing(rows))
    }

    /// Unread messages in the inbox, counted up to `UNREAD_CAP` so that a huge backlog
    /// costs no more than a full navigation badge.
    pub async fn unread_count(&self, user_id: i64) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mailbox_entries e WHERE e.user_id = $1 \
             AND e.folder = 'inbox' AND e.is_read = 0 AND {CASE_VISIBLE} LIMIT {UNREAD_CAP}) t"
        ))
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// The messages of a thread that this user holds a copy of, oldest first. Empty when the
    /// user is not part of the thread.
    pub async fn thread_for_user(
        &self,
        user_id: i64,
        thread_id: i64,
    ) -> StoreResult<Vec<ThreadMessageRow>> {
        let rows: Vec<StoredThreadMessage> = sqlx::query_as(&format!(
            "SELECT e.id AS entry_id, e.message_id, e.folder, e.is_read, m.sent_at, m.envelope, \
             m.sender_id, u.name AS sender_name, u.email AS sender_email, \
             o.name AS sender_organisation \
             FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             JOIN users u ON u.id = m.sender_id \
             JOIN organisations o ON o.id = u.organisation_id \
             WHERE e.user_id = $1 AND e.thread_id = $2 AND {CASE_VISIBLE} \
             ORDER BY m.sent_at, m.id"
        ))
        .bind(user_id)
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ThreadMessageRow::from).collect())
    }

    pub async fn addressees(&self, message_ids: &[i64]) -> StoreResult<Vec<AddresseeRow>> {
        let mut out = Vec::new();
        for message_id in message_ids {
            let rows: Vec<AddresseeRow> = sqlx::query_as(
                "SELECT a.message_id, a.kind, u.name, u.email FROM message_addressees a \
                 JOIN users u ON u.id = a.user_id WHERE a.message_id = $1 \
                 ORDER BY a.kind DESC, u.name",
            )
            .bind(message_id)
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn set_read(&self, user_id: i64, entry_ids: &[i64], read: bool) -> StoreResult<()> {
        for entry_id in entry_ids {
            sqlx::query("UPDATE mailbox_entries SET is_read = $1 WHERE user_id = $2 AND id = $3")
                .bind(flag(read))
                .bind(user_id)
                .bind(entry_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Files entries in `folder`. Moving to Deleted remembers where they came from.
    pub async fn move_entries(
        &self,
        user_id: i64,
        entry_ids: &[i64],
        folder: Folder,
    ) -> StoreResult<()> {
        let sql = match folder {
            Folder::Deleted => {
                "UPDATE mailbox_entries SET restore_folder = CASE WHEN folder = 'deleted' \
                 THEN restore_folder ELSE folder END, folder = 'deleted' \
                 WHERE user_id = $1 AND id = $2"
            }
            _ => {
                "UPDATE mailbox_entries SET folder = $3, restore_folder = $3 \
                 WHERE user_id = $1 AND id = $2"
            }
        };
        for entry_id in entry_ids {
            sqlx::query(sql)
                .bind(user_id)
                .bind(entry_id)
                .bind(folder.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Returns deleted entries to the folder they were deleted from.
    pub async fn restore_entries(&self, user_id: i64, entry_ids: &[i64]) -> StoreResult<()> {
        for entry_id in entry_ids {
            sqlx::query(
                "UPDATE mailbox_entries SET folder = restore_folder \
                 WHERE user_id = $1 AND id = $2 AND folder = 'deleted'",
            )
            .bind(user_id)
            .bind(entry_id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Removes the user's copies in Deleted for good. Other people's copies are untouched.
    pub async fn empty_deleted(&self, user_id: i64) -> StoreResult<u64> {
        let result =
            sqlx::query("DELETE FROM mailbox_entries WHERE user_id = $1 AND folder = 'deleted'")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected())
    }

    /// Delivery and first opening of every copy of a message (the sender's included).
    pub async fn delivery_receipts(&self, message_id: i64) -> StoreResult<Vec<ReceiptRow>> {
        let rows = sqlx::query_as(
            "SELECT user_id, folder, delivered_at, first_read_at FROM mailbox_entries \
             WHERE message_id = $1 ORDER BY user_id",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The envelope and attachments of a message, only if this user holds a copy of it.
    pub async fn message_for_user(
        &self,
        user_id: i64,
        message_id: i64,
    ) -> StoreResult<Option<(Vec<u8>, i64, Vec<AttachmentRow>)>> {
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(&format!(
            "SELECT m.envelope, m.thread_id FROM mailbox_entries e \
             JOIN messages m ON m.id = e.message_id \
             WHERE e.user_id = $1 AND e.message_id = $2 AND {CASE_VISIBLE}"
        ))
        .bind(user_id)
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((envelope, thread_id)) = row else {
            return Ok(None);
        };
        let attachments = sqlx::query_as(
            "SELECT position, blob_id, size FROM attachments WHERE message_id = $1 \
             ORDER BY position",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((envelope, thread_id, attachments)))
    }
}

pub(super) async fn insert_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    delivery: &Delivery,
) -> StoreResult<Delivered> {
    let (thread_id, case_id) = match delivery.thread_id {
        Some(id) => {
            let (case_id,): (Option<i64>,) =
                sqlx::query_as("SELECT case_id FROM threads WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
            (id, case_id)
        }
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO threads (kind, created_by, created_at, case_id) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(if delivery.plea {
                "plea"
            } else {
                "correspondence"
            })
            .bind(delivery.sender_id)
            .bind(delivery.sent_at)
            .bind(delivery.case_id)
            .fetch_one(&mut **tx)
            .await?;
            (id, delivery.case_id)
        }
    };
    let (message_id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (thread_id, sender_id, sent_at, envelope, size, \
             attachment_count, forwarded_from) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(thread_id)
    .bind(delivery.sender_id)
    .bind(delivery.sent_at)
    .bind(&delivery.envelope)
    .bind(delivery.size)
    .bind(delivery.attachments.len() as i64)
    .bind(delivery.forwarded_from)
    .fetch_one(&mut **tx)
    .await?;
    let addressees: Vec<(i64, Addressing)> = delivery
        .to
        .iter()
        .map(|id| (*id, Addressing::To))
        .chain(delivery.cc.iter().map(|id| (*id, Addressing::Cc)))
        .collect();
    // Many rows per statement: a message to twenty people is two inserts, not forty.
    for chunk in addressees.chunks(100) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO message_addressees (message_id, user_id, kind) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(message_id);
        for (user_id, kind) in chunk {
            query = query.bind(*user_id).bind(kind.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    for (position, attachment) in delivery.attachments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO attachments (message_id, position, blob_id, size) \
                 VALUES ($1, $2, $3, $4)",
        )
        .bind(message_id)
        .bind(position as i64)
        .bind(&attachment.blob_id)
        .bind(attachment.size)
        .execute(&mut **tx)
        .await?;
    }
    let has_attachments = flag(!delivery.attachments.is_empty());
    for chunk in delivery.entries.chunks(100) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 6 + 4 * i;
                format!(
                    "(${}, $1, $2, ${}, ${}, ${}, $3, $3, $4, ${}, $5)",
                    b,
                    b + 1,
                    b + 1,
                    b + 2,
                    b + 3
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO mailbox_entries (user_id, message_id, thread_id, folder, \
             restore_folder, is_read, sent_at, delivered_at, has_attachments, summary, case_id) \
             VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(message_id)
            .bind(thread_id)
            .bind(delivery.sent_at)
            .bind(has_attachments)
            .bind(case_id);
        for entry in chunk {
            query = query
                .bind(entry.user_id)
                .bind(entry.folder.as_str())
                .bind(flag(entry.is_read))
                .bind(&entry.summary);
        }
        query.execute(&mut **tx).await?;
    }
    append(
        tx,
        &delivery_events(delivery, message_id, thread_id, case_id),
    )
    .await?;
    Ok(Delivered {
        message_id,
        thread_id,
    })
}

/// Sent, replied or forwarded, and delivered to each mailbox: recorded with the delivery.
fn delivery_events(
    delivery: &Delivery,
    message_id: i64,
    thread_id: i64,
    case_id: Option<i64>,
) -> Vec<NewEvent> {
    let event = |kind: EventKind, actor: Option<i64>, payload: serde_json::Value| NewEvent {
        at: delivery.sent_at,
        kind,
        actor_id: actor,
        actor_org_id: actor.map(|_| delivery.sender_org_id),
        subject_type: SubjectKind::Message,
        subject_id: Some(message_id),
        case_id,
        client_address: if actor.is_some() {
            delivery.client_address.clone()
        } else {
            String::new()
        },
        payload: payload.to_string(),
    };
    let sender = Some(delivery.sender_id);
    let mut events = vec![event(
        EventKind::MessageSent,
        sender,
        serde_json::json!({
            "thread": thread_id,
            "to": delivery.to.len(),
            "cc": delivery.cc.len(),
            "attachments": delivery.attachments.len(),
            "size": delivery.size,
        }),
    )];
    if let Some(original) = delivery.reply_to {
        events.push(event(
            EventKind::MessageReplied,
            sender,
            serde_json::json!({ "in_reply_to": original }),
        ));
    }
    if let Some(original) = delivery.forwarded_from {
        events.push(event(
            EventKind::MessageForwarded,
            sender,
            serde_json::json!({ "original": original }),
        ));
    }
    for entry in delivery
        .entries
        .iter()
        .filter(|e| e.user_id != delivery.sender_id)
    {
        events.push(event(
            EventKind::MessageDelivered,
            None,
            serde_json::json!({ "recipient": entry.user_id, "folder": entry.folder.as_str() }),
        ));
    }
    events
}

//! Reading and filing one user's copies: folder pages, case listings, threads, read marks
//! and moves. Every query is scoped by the user asking.

use super::{
    AddresseeRow, AttachmentRow, Cursor, MAILBOX_COLUMNS, MAILBOX_FROM, MailboxRow, ReceiptRow,
    StoredMailboxRow, StoredThreadMessage, ThreadMessageRow, UNREAD_CAP, listing,
};
use crate::domain::{Folder, ListFilter, MailSort, SortKey};
use crate::store::cases::CASE_VISIBLE;
use crate::store::{Store, StoreResult, flag};

impl Store {
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
        let filter = ListFilter {
            case_id,
            ..ListFilter::default()
        };
        self.mailbox_listing(
            user_id,
            folder,
            &filter,
            MailSort::default(),
            after,
            0,
            limit,
        )
        .await
    }

    /// One page of a folder narrowed by `filter` and ordered by `sort`. The default order
    /// (newest first) pages by cursor, so deep pages cost no more than the first; the
    /// others page by `offset`. Subject order is not here: subjects are sealed.
    #[allow(clippy::too_many_arguments)]
    pub async fn mailbox_listing(
        &self,
        user_id: i64,
        folder: Folder,
        filter: &ListFilter,
        sort: MailSort,
        after: Option<Cursor>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<MailboxRow>> {
        let (conditions, ids) = filter_conditions(filter, 3);
        let mut next = 3 + ids.len();
        let mut keyset = String::new();
        let after = after.filter(|_| sort.is_default());
        if after.is_some() {
            // A row comparison, which both backends turn into one range of the folder's
            // index (PostgreSQL filters an OR of the two row by row).
            keyset = format!(
                "AND (e.sent_at, e.id) < (${a}, ${b})",
                a = next,
                b = next + 1
            );
            next += 2;
        }
        let direction = if sort.descending { "DESC" } else { "ASC" };
        let order = match sort.key {
            SortKey::Date | SortKey::Subject => format!("e.sent_at {direction}, e.id {direction}"),
            SortKey::Sender => {
                format!("LOWER(u.name) {direction}, e.sent_at DESC, e.id DESC")
            }
            // Untagged messages last either way.
            SortKey::Case => {
                format!("c.reference IS NULL, c.reference {direction}, e.sent_at DESC, e.id DESC")
            }
            // Letters without a date last either way.
            SortKey::ReplyBy => {
                format!("e.reply_by IS NULL, e.reply_by {direction}, e.sent_at DESC, e.id DESC")
            }
        };
        let query = format!(
            "SELECT {MAILBOX_COLUMNS} {MAILBOX_FROM} \
             WHERE e.user_id = $1 AND e.folder = $2 {conditions} {keyset} AND {CASE_VISIBLE} \
             ORDER BY {order} LIMIT ${next} OFFSET ${}",
            next + 1
        );
        let mut query = sqlx::query_as(&query).bind(user_id).bind(folder.as_str());
        for id in ids {
            query = query.bind(id);
        }
        if let Some(after) = after {
            query = query.bind(after.sent_at).bind(after.entry_id);
        }
        let query = query.bind(limit).bind(offset.max(0));
        Ok(listing(query.fetch_all(&self.pool).await?))
    }

    /// Every entry of a folder that `filter` lets through with its summary, newest first,
    /// at most `cap`: the candidates a subject order is made from.
    pub async fn mailbox_summaries(
        &self,
        user_id: i64,
        folder: Folder,
        filter: &ListFilter,
        cap: i64,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        let (conditions, ids) = filter_conditions(filter, 3);
        let query = format!(
            "SELECT e.id, e.summary FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             JOIN users u ON u.id = m.sender_id LEFT JOIN cases c ON c.id = e.case_id \
             WHERE e.user_id = $1 AND e.folder = $2 {conditions} AND {CASE_VISIBLE} \
             ORDER BY e.sent_at DESC, e.id DESC LIMIT ${}",
            3 + ids.len()
        );
        let mut query = sqlx::query_as(&query).bind(user_id).bind(folder.as_str());
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.bind(cap).fetch_all(&self.pool).await?)
    }

    /// The organisations that sent the folder's latest 500 messages, by name: the choices
    /// of the organisation filter, cheap however large the folder.
    pub async fn folder_sender_organisations(
        &self,
        user_id: i64,
        folder: Folder,
    ) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT o.id, o.name FROM \
               (SELECT e.message_id FROM mailbox_entries e WHERE e.user_id = $1 AND e.folder = $2 \
                ORDER BY e.sent_at DESC, e.id DESC LIMIT 500) recent \
             JOIN messages m ON m.id = recent.message_id JOIN users u ON u.id = m.sender_id \
             JOIN organisations o ON o.id = u.organisation_id ORDER BY o.name",
        )
        .bind(user_id)
        .bind(folder.as_str())
        .fetch_all(&self.pool)
        .await?)
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
             AND e.folder = 'inbox' AND e.is_read = 0 AND {CASE_VISIBLE} \
             ORDER BY e.id DESC LIMIT {UNREAD_CAP}) t"
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
             o.name AS sender_organisation, e.reply_by, e.reply_state, \
             d.name AS sent_by_name, m.received_via, e.first_read_at, e.case_id \
             FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             JOIN users u ON u.id = m.sender_id LEFT JOIN users d ON d.id = m.sent_by \
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
            "SELECT user_id, folder, delivered_at, first_read_at, reply_by, reply_state, \
             reply_closed_at \
             FROM mailbox_entries \
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

/// SQL conditions for `filter`, numbering parameters from `first`, with the values to bind
/// in order. Only numbers are bound; the text is fixed.
fn filter_conditions(filter: &ListFilter, first: usize) -> (String, Vec<i64>) {
    let mut sql = String::new();
    let mut ids = Vec::new();
    if filter.unread_only {
        sql.push_str(" AND e.is_read = 0");
    }
    if filter.with_attachments {
        sql.push_str(" AND e.has_attachments = 1");
    }
    if filter.needs_reply {
        sql.push_str(" AND e.reply_state = 'open'");
    }
    for (column, value) in [
        ("e.case_id", filter.case_id),
        ("u.organisation_id", filter.organisation_id),
    ] {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ${}", first + ids.len()));
            ids.push(value);
        }
    }
    (sql, ids)
}

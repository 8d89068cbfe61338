//! Storage for mail search: each user's encrypted index segments, and the metadata
//! filters (dates, sender, folder) that need no decryption.

use super::cases::CASE_VISIBLE;
use super::{MailboxRow, Store, StoreResult};

pub struct SegmentRow {
    pub id: i64,
    pub last_entry_id: i64,
    pub content: Vec<u8>,
}

impl Store {
    pub async fn search_segments(&self, user_id: i64) -> StoreResult<Vec<SegmentRow>> {
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, last_entry_id, content FROM search_segments WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, last_entry_id, content)| SegmentRow {
                id,
                last_entry_id,
                content,
            })
            .collect())
    }

    /// Summaries of a user's entries newer than the index.
    pub async fn summaries_after(
        &self,
        user_id: i64,
        entry_id: i64,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        let rows = sqlx::query_as(
            "SELECT id, summary FROM mailbox_entries WHERE user_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(user_id)
        .bind(entry_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Stores a new segment, replacing the segments `replaces` (a merge) in one transaction.
    pub async fn put_search_segment(
        &self,
        user_id: i64,
        last_entry_id: i64,
        entry_count: i64,
        content: &[u8],
        replaces: &[i64],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for id in replaces {
            sqlx::query("DELETE FROM search_segments WHERE user_id = $1 AND id = $2")
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO search_segments (user_id, last_entry_id, entry_count, content) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(last_entry_id)
        .bind(entry_count)
        .bind(content)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ids of a user's searchable entries (not in Deleted) in a date range whose sender's
    /// name, address or organisation contains `sender`, newest first.
    pub async fn search_filter(
        &self,
        user_id: i64,
        from: i64,
        until: i64,
        sender: &str,
    ) -> StoreResult<Vec<i64>> {
        let pattern = format!(
            "%{}%",
            sender.trim().to_lowercase().replace(['%', '_', '\\'], "")
        );
        let rows: Vec<(i64,)> = sqlx::query_as(&format!(
            "SELECT e.id FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             JOIN users u ON u.id = m.sender_id JOIN organisations o ON o.id = u.organisation_id \
             WHERE e.user_id = $1 AND e.folder <> 'deleted' AND e.sent_at >= $2 \
               AND e.sent_at < $3 AND {CASE_VISIBLE} \
               AND (LOWER(u.name) LIKE $4 OR u.email LIKE $4 OR LOWER(o.name) LIKE $4) \
             ORDER BY e.sent_at DESC, e.id DESC"
        ))
        .bind(user_id)
        .bind(from)
        .bind(until)
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Listing rows for the given entries of a user, newest first.
    pub async fn mailbox_rows(
        &self,
        user_id: i64,
        entry_ids: &[i64],
    ) -> StoreResult<Vec<MailboxRow>> {
        if entry_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..entry_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT {} {} WHERE e.user_id = $1 AND e.id IN ({}) ORDER BY e.sent_at DESC, e.id DESC",
            super::mail::MAILBOX_COLUMNS,
            super::mail::MAILBOX_FROM,
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as(&sql).bind(user_id);
        for id in entry_ids {
            query = query.bind(*id);
        }
        Ok(super::mail::listing(query.fetch_all(&self.pool).await?))
    }
}

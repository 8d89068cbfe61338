//! Storage for mailbox keys and mail search: each mailbox's wrapped key, the summaries
//! waiting to be taken in under it, the sealed postings of its search index, and the
//! metadata filters (dates, sender, folder) that need no decryption.

use super::cases::CASE_VISIBLE;
use super::{MailboxRow, Store, StoreResult, numbered_placeholders};

/// The SQL condition a searchable entry meets: not in Deleted, in the date range, from a
/// sender whose name, address or organisation contains the pattern, in a visible case.
const SEARCHABLE: &str = "e.user_id = $1 AND e.folder <> 'deleted' AND e.sent_at >= $2 \
     AND e.sent_at < $3 AND (LOWER(u.name) LIKE $4 OR u.email LIKE $4 OR LOWER(o.name) LIKE $4)";
const SEARCH_FROM: &str = "FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
     JOIN users u ON u.id = m.sender_id JOIN organisations o ON o.id = u.organisation_id";

/// The shard of postings rows not split by their words' first letters yet: intake writes
/// them so, and a bucket's unsplit rows may hold any of its words.
pub const UNSPLIT: i64 = -1;

/// How many ids one query names, well under either backend's limit on parameters.
const IDS_PER_QUERY: usize = 500;

/// A bucket's (or shard's) posting rows to replace by the shares made from them, as
/// (shard, sealed content).
pub struct Reshelved {
    pub bucket: i64,
    pub replaces: Vec<i64>,
    pub shares: Vec<(i64, Vec<u8>)>,
}

/// What a search narrows by besides words.
pub struct SearchBounds<'a> {
    pub from: i64,
    pub until: i64,
    pub sender: &'a str,
}

impl SearchBounds<'_> {
    fn sender_pattern(&self) -> String {
        format!(
            "%{}%",
            self.sender
                .trim()
                .to_lowercase()
                .replace(['%', '_', '\\'], "")
        )
    }
}

impl Store {
    pub async fn mailbox_key(&self, user_id: i64) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT wrapped FROM mailbox_keys WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores a mailbox's key unless one is already there (two first requests racing keep
    /// the first); read it back with `mailbox_key`.
    pub async fn add_mailbox_key(&self, user_id: i64, wrapped: &[u8], now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mailbox_keys (user_id, wrapped, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(wrapped)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The oldest summaries of a mailbox not yet taken in after entry `after`, as (entry
    /// id, age item). Starting after the last batch matters on PostgreSQL: the index of
    /// waiting entries keeps the dead versions of earlier batches until vacuumed, and a
    /// scan from the start would step over all of them every time.
    pub async fn waiting_summaries(
        &self,
        user_id: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT id, summary FROM mailbox_entries WHERE user_id = $1 AND taken_in = 0 \
             AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(user_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn has_waiting_summaries(&self, user_id: i64) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mailbox_entries WHERE user_id = $1 AND taken_in = 0 LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Replaces taken-in summaries with their re-sealed form and adds the postings made
    /// from them, in one transaction. False, with nothing changed, if another process took
    /// any of them in first; an entry deleted meanwhile is simply skipped.
    pub async fn take_in(
        &self,
        user_id: i64,
        resealed: &[(i64, Vec<u8>)],
        postings: &[(i64, Vec<u8>)],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        for (entry_id, summary) in resealed {
            let changed = sqlx::query(
                "UPDATE mailbox_entries SET summary = $1, taken_in = 1 \
                 WHERE user_id = $2 AND id = $3 AND taken_in = 0",
            )
            .bind(summary)
            .bind(user_id)
            .bind(entry_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                let still_there: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM mailbox_entries WHERE user_id = $1 AND id = $2",
                )
                .bind(user_id)
                .bind(entry_id)
                .fetch_optional(&mut *tx)
                .await?;
                if still_there.is_some() {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
        }
        for (bucket, content) in postings {
            insert_postings(&mut tx, user_id, *bucket, UNSPLIT, content).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The posting rows a search for a word reads, as (shard, sealed content): every row
    /// of the bucket, or with `shard` only that shard's and the bucket's unsplit rows.
    pub async fn postings(
        &self,
        user_id: i64,
        bucket: i64,
        shard: Option<i64>,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        let query = match shard {
            None => sqlx::query_as(
                "SELECT shard, content FROM search_postings WHERE user_id = $1 AND bucket = $2",
            )
            .bind(user_id)
            .bind(bucket),
            Some(shard) => sqlx::query_as(
                "SELECT shard, content FROM search_postings WHERE user_id = $1 AND bucket = $2 \
                 AND shard IN ($3, $4)",
            )
            .bind(user_id)
            .bind(bucket)
            .bind(UNSPLIT)
            .bind(shard),
        };
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// The rows of one shard of a bucket (or its unsplit rows), oldest first, as (row id,
    /// sealed content).
    pub async fn shard_postings(
        &self,
        user_id: i64,
        bucket: i64,
        shard: i64,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT id, content FROM search_postings WHERE user_id = $1 AND bucket = $2 \
             AND shard = $3 ORDER BY id",
        )
        .bind(user_id)
        .bind(bucket)
        .bind(shard)
        .fetch_all(&self.pool)
        .await?)
    }

    /// (bucket, shard) of a mailbox's postings that have more than `rows` rows, or that
    /// are unsplit and hold more than `unsplit_bytes` together.
    pub async fn crowded_postings(
        &self,
        user_id: i64,
        rows: i64,
        unsplit_bytes: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            // Split rows only ever count by number, which their index answers alone;
            // only the few unsplit rows are weighed.
            "SELECT bucket, shard FROM search_postings WHERE user_id = $1 AND shard <> $3 \
             GROUP BY bucket, shard HAVING COUNT(*) > $2 \
             UNION ALL \
             SELECT bucket, shard FROM search_postings WHERE user_id = $1 AND shard = $3 \
             GROUP BY bucket, shard HAVING COUNT(*) > $2 OR SUM(LENGTH(content)) > $4",
        )
        .bind(user_id)
        .bind(rows)
        .bind(UNSPLIT)
        .bind(unsplit_bytes)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces posting rows by the shares made from them, for several buckets in one
    /// transaction: after a busy round a thousand buckets may be merged at once, and one
    /// commit each would be a thousand flushes.
    pub async fn replace_postings(&self, user_id: i64, reshelved: &[Reshelved]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for bucket in reshelved {
            for ids in bucket.replaces.chunks(IDS_PER_QUERY) {
                let sql = format!(
                    "DELETE FROM search_postings WHERE user_id = $1 AND bucket = $2 AND id IN ({})",
                    numbered_placeholders(3, ids.len())
                );
                let mut query = sqlx::query(&sql).bind(user_id).bind(bucket.bucket);
                for id in ids {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await?;
            }
            for (shard, content) in &bucket.shares {
                insert_postings(&mut tx, user_id, bucket.bucket, *shard, content).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of a user's searchable entries, newest first, at most `limit`.
    pub async fn search_filter(
        &self,
        user_id: i64,
        bounds: &SearchBounds<'_>,
        limit: usize,
    ) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT e.id {SEARCH_FROM} WHERE {SEARCHABLE} AND {CASE_VISIBLE} \
             ORDER BY e.sent_at DESC, e.id DESC LIMIT $5"
        ))
        .bind(user_id)
        .bind(bounds.from)
        .bind(bounds.until)
        .bind(bounds.sender_pattern())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Of `candidates` (entry ids, highest first), those that are searchable, at least
    /// `limit` of them when there are so many, newest first. Entry ids grow with delivery,
    /// so reading the candidates in chunks from the highest id stops early.
    pub async fn search_candidates(
        &self,
        user_id: i64,
        bounds: &SearchBounds<'_>,
        candidates: &[i64],
        limit: usize,
    ) -> StoreResult<Vec<i64>> {
        let pattern = bounds.sender_pattern();
        let mut found: Vec<(i64, i64)> = Vec::new();
        for chunk in candidates.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT e.sent_at, e.id {SEARCH_FROM} WHERE {SEARCHABLE} AND {CASE_VISIBLE} \
                 AND e.id IN ({})",
                numbered_placeholders(5, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (i64, i64)>(&sql)
                .bind(user_id)
                .bind(bounds.from)
                .bind(bounds.until)
                .bind(&pattern);
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(query.fetch_all(&self.pool).await?);
            if found.len() > limit {
                break;
            }
        }
        found.sort_by(|a, b| b.cmp(a));
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// Listing rows for the given entries of a user, newest first.
    pub async fn mailbox_rows(
        &self,
        user_id: i64,
        entry_ids: &[i64],
    ) -> StoreResult<Vec<MailboxRow>> {
        let mut rows = Vec::with_capacity(entry_ids.len());
        for chunk in entry_ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT {} {} WHERE e.user_id = $1 AND e.id IN ({})",
                super::mail::MAILBOX_COLUMNS,
                super::mail::MAILBOX_FROM,
                numbered_placeholders(2, chunk.len())
            );
            let mut query = sqlx::query_as(&sql).bind(user_id);
            for id in chunk {
                query = query.bind(*id);
            }
            rows.extend(super::mail::listing(query.fetch_all(&self.pool).await?));
        }
        rows.sort_by_key(|row| std::cmp::Reverse((row.sent_at, row.entry_id)));
        Ok(rows)
    }
}

async fn insert_postings(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    bucket: i64,
    shard: i64,
    content: &[u8],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO search_postings (user_id, bucket, shard, content) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(bucket)
    .bind(shard)
    .bind(content)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

//! How much attachment space people use, and which blobs messages still refer to.

use std::collections::HashSet;

use crate::store::{Store, StoreResult};

impl Store {
    /// Bytes of attachments on the messages `user_id` has sent (as stored, whoever else
    /// still holds the message).
    pub async fn attachment_bytes_sent(&self, user_id: i64) -> StoreResult<i64> {
        let (bytes,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(a.size), 0) AS BIGINT) FROM attachments a \
             JOIN messages m ON m.id = a.message_id WHERE m.sender_id = $1",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(bytes)
    }

    pub async fn attachment_count(&self) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM attachments")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Of `blob_ids`, the ones some attachment refers to.
    pub async fn referenced_blobs(&self, blob_ids: &[String]) -> StoreResult<HashSet<String>> {
        let mut referenced = HashSet::new();
        for batch in blob_ids.chunks(200) {
            let sql = format!(
                "SELECT blob_id FROM attachments WHERE blob_id IN ({0}) \
                 UNION SELECT blob_id FROM outbound_mail WHERE blob_id IN ({0})",
                super::super::numbered_placeholders(1, batch.len())
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql);
            for id in batch {
                query = query.bind(id);
            }
            referenced.extend(
                query
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|(id,)| id),
            );
        }
        Ok(referenced)
    }
}

//! Unsent messages, encrypted to their author alone.

use super::{Store, StoreResult};

pub struct DraftRow {
    pub id: i64,
    pub updated_at: i64,
    pub content: Vec<u8>,
}

impl Store {
    /// Creates a draft, or replaces the content of the author's draft `id`. Returns its id,
    /// or None when `id` names no draft of this author.
    pub async fn save_draft(
        &self,
        user_id: i64,
        id: Option<i64>,
        content: &[u8],
        now: i64,
    ) -> StoreResult<Option<i64>> {
        match id {
            Some(id) => {
                let result = sqlx::query(
                    "UPDATE drafts SET content = $1, updated_at = $2 WHERE id = $3 AND user_id = $4",
                )
                .bind(content)
                .bind(now)
                .bind(id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
                Ok((result.rows_affected() == 1).then_some(id))
            }
            None => {
                // In a transaction of its own: SQLite commits an INSERT … RETURNING when
                // the statement is reset, after its row has been read, and a failed
                // commit (a full disk) would go unreported.
                let mut tx = self.pool.begin().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO drafts (user_id, updated_at, content) VALUES ($1, $2, $3) \
                     RETURNING id",
                )
                .bind(user_id)
                .bind(now)
                .bind(content)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(id))
            }
        }
    }

    pub async fn drafts(&self, user_id: i64) -> StoreResult<Vec<DraftRow>> {
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, updated_at, content FROM drafts WHERE user_id = $1 \
             ORDER BY updated_at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, updated_at, content)| DraftRow {
                id,
                updated_at,
                content,
            })
            .collect())
    }

    pub async fn draft(&self, user_id: i64, id: i64) -> StoreResult<Option<DraftRow>> {
        let row: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, updated_at, content FROM drafts WHERE user_id = $1 AND id = $2",
        )
        .bind(user_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, updated_at, content)| DraftRow {
            id,
            updated_at,
            content,
        }))
    }

    /// Deletes one of the user's drafts; false if they have no draft with that id.
    pub async fn delete_draft(&self, user_id: i64, id: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM drafts WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

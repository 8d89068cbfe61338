//! Browsers that have signed in to an account before, known by the digest of the random
//! token in their device cookie.

use super::{Store, StoreResult};

impl Store {
    /// Remembers (or refreshes) a browser that has just signed in to `user_id`.
    pub async fn trust_device(&self, token_hash: &str, user_id: i64, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO trusted_devices (token_hash, user_id, created_at, last_used_at) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (token_hash) DO UPDATE SET last_used_at = $3 \
             WHERE trusted_devices.user_id = $2",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account a device token has signed in to, if it was used since `used_since`.
    pub async fn trusted_device_user(
        &self,
        token_hash: &str,
        used_since: i64,
    ) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM trusted_devices WHERE token_hash = $1 AND last_used_at >= $2",
        )
        .bind(token_hash)
        .bind(used_since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user_id,)| user_id))
    }
}

//! Counting failed sign-ins in the database, so that every instance sees the same counts.

use super::{Store, StoreResult};

pub struct ThrottleOutcome {
    pub failures: i64,
    pub paused_until: i64,
}

impl Store {
    /// The time until which sign-in for this key is paused, if it is paused now.
    pub async fn sign_in_paused_until(&self, key: &str, now: i64) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT paused_until FROM sign_in_throttle WHERE throttle_key = $1 \
             AND paused_until > $2",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(until,)| until))
    }

    /// Counts one failure in the current window (starting a new window when the old one
    /// has passed) and pauses the key once `limit` failures fall in one window. One
    /// statement, so concurrent failures cannot lose counts.
    pub async fn record_sign_in_failure(
        &self,
        key: &str,
        now: i64,
        window_seconds: i64,
        limit: i64,
        pause_seconds: i64,
    ) -> StoreResult<ThrottleOutcome> {
        let (failures, paused_until): (i64, i64) = sqlx::query_as(
            "INSERT INTO sign_in_throttle (throttle_key, window_start, failures, paused_until) \
             VALUES ($1, $2, 1, 0) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN sign_in_throttle.window_start <= $3 THEN 1 \
                               ELSE sign_in_throttle.failures + 1 END, \
               window_start = CASE WHEN sign_in_throttle.window_start <= $3 THEN $2 \
                                   ELSE sign_in_throttle.window_start END, \
               paused_until = CASE WHEN sign_in_throttle.window_start > $3 \
                                    AND sign_in_throttle.failures + 1 >= $4 THEN $5 \
                                   ELSE sign_in_throttle.paused_until END \
             RETURNING failures, paused_until",
        )
        .bind(key)
        .bind(now)
        .bind(now - window_seconds)
        .bind(limit)
        .bind(now + pause_seconds)
        .fetch_one(&self.pool)
        .await?;
        Ok(ThrottleOutcome {
            failures,
            paused_until,
        })
    }

    pub async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

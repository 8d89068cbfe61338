//! Counting attempts in the database, so that every instance sees the same counts. An
//! attempt is reserved before it is checked, in one statement: of many simultaneous
//! requests, only as many as the limit allows get through to the check.

use super::{Store, StoreResult};
use crate::domain::ThrottleRule;

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may be checked. `paused_until` is set when this attempt was the last
    /// one the window allows: if it fails, the key is paused until then.
    Granted { paused_until: Option<i64> },
    /// The key is paused; the attempt must not be checked.
    Refused { paused_until: i64 },
}

impl Store {
    /// Reserves one attempt under `key`: counts it in the current window (starting a new
    /// window when the old one, or a pause, has passed) unless the key is paused now.
    pub async fn reserve_attempt(
        &self,
        key: &str,
        now: i64,
        rule: ThrottleRule,
    ) -> StoreResult<Reservation> {
        // All SET expressions see the row as it was, on both backends. In a transaction of
        // its own so that a failed commit is reported (see `save_draft`).
        let mut tx = self.pool.begin().await?;
        let (paused_until, granted): (i64, i64) = sqlx::query_as(
            "INSERT INTO throttle_attempts \
               (throttle_key, window_start, attempts, paused_until, granted) \
             VALUES ($1, $2, 1, CASE WHEN 1 >= $4 THEN $5 ELSE 0 END, 1) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               attempts = CASE \
                 WHEN throttle_attempts.paused_until > $2 THEN throttle_attempts.attempts \
                 WHEN throttle_attempts.window_start <= $3 \
                   OR throttle_attempts.paused_until > 0 THEN 1 \
                 ELSE throttle_attempts.attempts + 1 END, \
               window_start = CASE \
                 WHEN throttle_attempts.paused_until > $2 THEN throttle_attempts.window_start \
                 WHEN throttle_attempts.window_start <= $3 \
                   OR throttle_attempts.paused_until > 0 THEN $2 \
                 ELSE throttle_attempts.window_start END, \
               paused_until = CASE \
                 WHEN throttle_attempts.paused_until > $2 THEN throttle_attempts.paused_until \
                 WHEN throttle_attempts.window_start <= $3 \
                   OR throttle_attempts.paused_until > 0 \
                   THEN CASE WHEN 1 >= $4 THEN $5 ELSE 0 END \
                 WHEN throttle_attempts.attempts + 1 >= $4 THEN $5 \
                 ELSE 0 END, \
               granted = CASE \
                 WHEN throttle_attempts.paused_until > $2 THEN 0 ELSE 1 END \
             RETURNING paused_until, granted",
        )
        .bind(key)
        .bind(now)
        .bind(now - rule.window_seconds)
        .bind(rule.limit)
        .bind(now + rule.pause_seconds)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(if granted == 1 {
            Reservation::Granted {
                paused_until: (paused_until > now).then_some(paused_until),
            }
        } else {
            Reservation::Refused { paused_until }
        })
    }

    /// Gives back an attempt that succeeded (or was never checked): it no longer counts,
    /// and a pause it brought about is lifted.
    pub async fn release_attempt(&self, key: &str, rule: ThrottleRule) -> StoreResult<()> {
        sqlx::query(
            "UPDATE throttle_attempts SET \
               attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
               paused_until = CASE WHEN attempts - 1 < $2 THEN 0 ELSE paused_until END \
             WHERE throttle_key = $1",
        )
        .bind(key)
        .bind(rule.limit)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

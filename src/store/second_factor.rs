//! Storage for the TOTP second factor and its recovery codes.

use super::{Store, StoreResult};

impl Store {
    pub async fn totp_secret(
        &self,
        user_id: i64,
    ) -> StoreResult<(Option<Vec<u8>>, Option<Vec<u8>>, i64)> {
        let row: (Option<Vec<u8>>, Option<Vec<u8>>, i64) = sqlx::query_as(
            "SELECT totp_secret, totp_pending_secret, totp_last_step FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row)
    }

    pub async fn set_pending_totp(&self, user_id: i64, sealed: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE users SET totp_pending_secret = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes the pending secret the enrolled one, with fresh recovery codes.
    pub async fn confirm_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $1 WHERE id = $2",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records an accepted code's step, only if it is later than any accepted before.
    pub async fn advance_totp_step(&self, user_id: i64, step: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Spends a recovery code; false if it is unknown or used.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE totp_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
             AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn reset_totp(&self, user_id: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = 0 \
             WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_second_factor_pending(
        &self,
        token_hash: &str,
        pending: bool,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET second_factor_pending = $1 WHERE token_hash = $2")
            .bind(super::flag(pending))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

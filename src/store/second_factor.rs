//! Storage for the TOTP second factor and its recovery codes.

use super::{Change, Store, StoreResult};

/// A user's second factor as stored: both secrets are sealed to the user.
pub struct TotpState {
    pub secret: Option<Vec<u8>>,
    /// A secret being enrolled, not yet confirmed with a code.
    pub pending: Option<Vec<u8>>,
}

impl Store {
    pub async fn totp_state(&self, user_id: i64) -> StoreResult<TotpState> {
        let (secret, pending): (Option<Vec<u8>>, Option<Vec<u8>>) =
            sqlx::query_as("SELECT totp_secret, totp_pending_secret FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(TotpState { secret, pending })
    }

    /// Whether signing in to the account asks for a second factor: an app or a passkey.
    pub async fn has_second_factor(&self, user_id: i64) -> StoreResult<bool> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM users WHERE id = $1 AND totp_secret IS NOT NULL) \
             + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    /// How many of the user's recovery codes are still unused.
    pub async fn unused_recovery_codes(&self, user_id: i64) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    pub async fn set_pending_totp(&self, user_id: i64, sealed: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE users SET totp_pending_secret = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Change {
    /// Makes the pending secret the enrolled one, with fresh recovery codes.
    pub async fn confirm_totp(
        &mut self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $1 WHERE id = $2",
        )
        .bind(step)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        self.replace_recovery_codes(user_id, recovery_hashes).await
    }

    /// Replaces the user's recovery codes (digests) with these.
    pub async fn replace_recovery_codes(
        &mut self,
        user_id: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Records an accepted code's step, only if it is later than any accepted before.
    pub async fn advance_totp_step(&mut self, user_id: i64, step: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Spends a recovery code; false if it is unknown or used.
    pub async fn use_recovery_code(
        &mut self,
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
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes every second factor (the app's secret, recovery codes and passkeys), so that
    /// the person can set one up again after their next sign-in.
    pub async fn reset_second_factor(&mut self, user_id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = 0 \
             WHERE id = $1",
        )
        .bind(user_id)
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        self.remove_all_passkeys(user_id).await?;
        Ok(())
    }
}

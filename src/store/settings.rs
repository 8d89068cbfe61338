//! Deployment-wide values that every instance must agree on (the recovery recipient, the
//! one-time setup link), kept in the database rather than one machine's files.

use super::{Change, Store, StoreResult};

pub const RECOVERY_RECIPIENT: &str = "recovery_recipient";
pub const SETUP_TOKEN_HASH: &str = "setup_token_hash";

impl Store {
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(value,)| value))
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Change {
    /// Deletes a setting only if it still has `value`; true if this call removed it.
    /// Used to spend single-use tokens exactly once across instances.
    pub async fn take_setting(&mut self, key: &str, value: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM settings WHERE key = $1 AND value = $2")
            .bind(key)
            .bind(value)
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

//! Passkeys (WebAuthn credentials) and the ceremony a session has in progress.

use sqlx::FromRow;

use super::{Change, Store, StoreResult};

/// A registered passkey: the credential is the WebAuthn library's own JSON (public key,
/// counter), nothing secret.
#[derive(FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub name: String,
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub credential: &'a str,
    pub now: i64,
}

impl Store {
    pub async fn passkeys(&self, user_id: i64) -> StoreResult<Vec<StoredPasskey>> {
        Ok(sqlx::query_as(
            "SELECT id, name, credential, created_at, last_used_at FROM passkeys \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn passkey_handle(&self, user_id: i64) -> StoreResult<Option<String>> {
        let (handle,): (Option<String>,) =
            sqlx::query_as("SELECT passkey_handle FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(handle)
    }

    /// Keeps the handle of an account's first passkey; another session may have set one
    /// first, and that one wins (the returned handle is the account's).
    pub async fn keep_passkey_handle(&self, user_id: i64, handle: &str) -> StoreResult<String> {
        sqlx::query(
            "UPDATE users SET passkey_handle = $1 WHERE id = $2 AND passkey_handle IS NULL",
        )
        .bind(handle)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(self
            .passkey_handle(user_id)
            .await?
            .unwrap_or_else(|| handle.to_string()))
    }

    /// Starts a ceremony for a session, replacing any earlier one (only the latest
    /// challenge can be answered).
    pub async fn start_passkey_ceremony(&self, token_hash: &str, state: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET passkey_ceremony = $1 WHERE token_hash = $2")
            .bind(state)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a sign-in with a passkey: its new counter and when it was used.
    pub async fn passkey_used(
        &self,
        user_id: i64,
        id: i64,
        credential: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3 AND user_id = $4",
        )
        .bind(credential)
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Change {
    /// Takes the session's ceremony, so each challenge is answered at most once.
    pub async fn take_passkey_ceremony(&mut self, token_hash: &str) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT passkey_ceremony FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.conn())
                .await?;
        let Some(state) = row.and_then(|(state,)| state) else {
            return Ok(None);
        };
        let taken = sqlx::query(
            "UPDATE sessions SET passkey_ceremony = NULL \
             WHERE token_hash = $1 AND passkey_ceremony = $2",
        )
        .bind(token_hash)
        .bind(&state)
        .execute(self.conn())
        .await?;
        Ok((taken.rows_affected() == 1).then_some(state))
    }

    /// Adds a passkey; false if the credential is already registered (to anyone).
    pub async fn add_passkey(&mut self, passkey: &NewPasskey<'_>) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(passkey.user_id)
        .bind(passkey.credential_id)
        .bind(passkey.name)
        .bind(passkey.credential)
        .bind(passkey.now)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The ids of a user's passkeys, holding the account's row until the change ends, so
    /// that simultaneous removals see each other (a write lock on both backends).
    pub async fn lock_passkeys(&mut self, user_id: i64) -> StoreResult<Vec<i64>> {
        sqlx::query("UPDATE users SET passkey_handle = passkey_handle WHERE id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.conn())
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Removes one of a user's passkeys; the name it had, or None if it is not theirs.
    pub async fn remove_passkey(&mut self, user_id: i64, id: i64) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
                .bind(id)
                .bind(user_id)
                .fetch_optional(self.conn())
                .await?;
        Ok(row.map(|(name,)| name))
    }

    pub async fn remove_all_passkeys(&mut self, user_id: i64) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected())
    }
}

//! Sessions: the project's own table, so that a row holds the identity re-wrapped to the
//! session's key, reads count as activity, and every session of a user can end at once.

use sqlx::FromRow;

use super::users::{ACCOUNT_COLUMNS, AccountRow};
use super::{Change, Store, StoreResult, UserAccount, flag};

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub wrapped_identity: &'a [u8],
    pub now: i64,
    pub expires_at: i64,
    pub client_address: &'a str,
    pub user_agent: &'a str,
    /// The session waits for a second-factor code before it can be used.
    pub second_factor_pending: bool,
}

/// A live session together with its account.
pub struct SessionUser {
    pub token_hash: String,
    pub wrapped_identity: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// Passed the password, not yet the second factor.
    pub second_factor_pending: bool,
    /// The owner of the delegated mailbox this session works in, if it has switched.
    pub acting_for: Option<i64>,
    pub account: UserAccount,
}

#[derive(FromRow)]
struct SessionRow {
    token_hash: String,
    wrapped_identity: Vec<u8>,
    session_created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    second_factor_pending: i64,
    acting_for: Option<i64>,
    #[sqlx(flatten)]
    account: AccountRow,
}

impl Store {
    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionUser>> {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT s.token_hash, s.wrapped_identity, s.created_at AS session_created_at, \
             s.last_seen_at, s.expires_at, s.second_factor_pending, s.acting_for, \
             {ACCOUNT_COLUMNS} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN organisations o ON o.id = u.organisation_id WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionUser {
                token_hash: row.token_hash,
                wrapped_identity: row.wrapped_identity,
                created_at: row.session_created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.expires_at,
                second_factor_pending: row.second_factor_pending != 0,
                acting_for: row.acting_for,
                account: row.account.try_into()?,
            })
        })
        .transpose()
    }

    pub async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions past their idle or absolute limit; returns how many.
    pub async fn delete_expired_sessions(&self, now: i64, idle_seconds: i64) -> StoreResult<u64> {
        let result =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(now - idle_seconds)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected())
    }

    pub async fn count_sessions(&self, user_id: i64) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}

impl Change {
    pub async fn create_session(&mut self, session: &NewSession<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, wrapped_identity, created_at, \
             last_seen_at, expires_at, client_address, user_agent, second_factor_pending) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
        )
        .bind(session.token_hash)
        .bind(session.user_id)
        .bind(session.wrapped_identity)
        .bind(session.now)
        .bind(session.expires_at)
        .bind(session.client_address)
        .bind(session.user_agent)
        .bind(flag(session.second_factor_pending))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn end_session(&mut self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Ends every session of a user except, optionally, the one making the request.
    pub async fn end_other_sessions(
        &mut self,
        user_id: i64,
        keep_token_hash: Option<&str>,
    ) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep_token_hash.unwrap_or(""))
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected())
    }

    pub async fn set_second_factor_pending(
        &mut self,
        token_hash: &str,
        pending: bool,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET second_factor_pending = $1 WHERE token_hash = $2")
            .bind(flag(pending))
            .bind(token_hash)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

//! Storage for the account lifecycle: policy candidates, invitations, the notification
//! outbox and scheduled-job locks.

use sqlx::FromRow;

use super::{Backend, Change, Store, StoreResult, flag};
use crate::domain::UserStatus;

#[derive(FromRow, Debug)]
pub struct PolicyCandidate {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    /// Last sign-in, or account creation if never signed in.
    pub last_active: i64,
}

#[derive(Debug)]
pub struct InvitationRow {
    pub id: i64,
    pub organisation_id: i64,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

#[derive(FromRow)]
struct StoredInvitation {
    id: i64,
    organisation_id: i64,
    email: String,
    name: String,
    is_admin: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
}

impl From<StoredInvitation> for InvitationRow {
    fn from(row: StoredInvitation) -> Self {
        Self {
            id: row.id,
            organisation_id: row.organisation_id,
            email: row.email,
            name: row.name,
            is_admin: row.is_admin != 0,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
        }
    }
}

const INVITATION_COLUMNS: &str =
    "id, organisation_id, email, name, is_admin, expires_at, accepted_at";

pub struct NewInvitation<'a> {
    pub organisation_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub is_admin: bool,
    /// SHA-256 of the token in the link.
    pub token_hash: &'a str,
    pub invited_by: i64,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(FromRow, Debug)]
pub struct NotificationRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// A queued notification as an administrator or a test sees it.
#[derive(FromRow, Debug)]
pub struct QueuedNotification {
    pub subject: String,
    pub body: String,
    pub sent_at: Option<i64>,
}

impl Store {
    pub async fn policy_candidates(&self) -> StoreResult<Vec<PolicyCandidate>> {
        let rows = sqlx::query_as(
            "SELECT id, email, name, status, COALESCE(last_sign_in_at, created_at) AS last_active \
             FROM users WHERE status IN ('active', 'locked', 'suspended') AND is_team = 0 AND is_external = 0 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Claims up to `limit` notifications that are due and not claimed by a live lease,
    /// for `holder` until `lease_until`, in one statement: instances claiming at the same
    /// time get different rows (PostgreSQL skips rows another claim has locked; SQLite
    /// runs one writer at a time).
    pub async fn claim_notifications(
        &self,
        holder: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRow>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query_as(&format!(
            "UPDATE notifications SET claimed_by = $1, claimed_until = $2 \
             WHERE id IN (SELECT id FROM notifications \
                          WHERE sent_at IS NULL AND next_attempt_at <= $3 AND claimed_until <= $3 \
                          ORDER BY next_attempt_at, id LIMIT $4 {skip_locked}) \
             RETURNING id, recipient, subject, body, attempts"
        ))
        .bind(holder)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Records the outcome of a claimed batch in one transaction: `sent` went out at `now`,
    /// each of `failed` is retried at its time. Rows whose claim `holder` no longer holds
    /// are left alone.
    pub async fn notifications_done(
        &self,
        holder: &str,
        now: i64,
        sent: &[i64],
        failed: &[(i64, String, i64)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for id in sent {
            sqlx::query(
                "UPDATE notifications SET sent_at = $1, attempts = attempts + 1, claimed_until = 0 \
                 WHERE id = $2 AND claimed_by = $3",
            )
            .bind(now)
            .bind(id)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        }
        for (id, error, retry_at) in failed {
            sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, last_error = $1, \
                 next_attempt_at = $2, claimed_until = 0 WHERE id = $3 AND claimed_by = $4",
            )
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Notifications waiting to be sent (a queue depth for metrics and tests).
    pub async fn notifications_waiting(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Notifications sent or waiting for one address, newest first.
    pub async fn notifications_for(&self, recipient: &str) -> StoreResult<Vec<QueuedNotification>> {
        let rows = sqlx::query_as(
            "SELECT subject, body, sent_at FROM notifications WHERE recipient = $1 ORDER BY id DESC",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Takes the named job lock until `until`, unless another holder has it unexpired.
    pub async fn try_job_lock(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO job_locks (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE job_locks.expires_at <= $4 OR job_locks.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn release_job_lock(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM job_locks WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<InvitationRow>> {
        let row: Option<StoredInvitation> = sqlx::query_as(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    pub async fn pending_invitations(
        &self,
        organisation_ids: &[i64],
    ) -> StoreResult<Vec<InvitationRow>> {
        let mut out = Vec::new();
        for org in organisation_ids {
            let rows: Vec<StoredInvitation> = sqlx::query_as(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations \
                 WHERE organisation_id = $1 AND accepted_at IS NULL ORDER BY id DESC"
            ))
            .bind(org)
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows.into_iter().map(Into::into));
        }
        Ok(out)
    }

    pub async fn invitation(&self, id: i64) -> StoreResult<Option<InvitationRow>> {
        let row: Option<StoredInvitation> = sqlx::query_as(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }
}

impl Change {
    pub async fn create_invitation(&mut self, invitation: &NewInvitation<'_>) -> StoreResult<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO invitations (organisation_id, email, name, is_admin, token_hash, \
             invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(invitation.organisation_id)
        .bind(invitation.email)
        .bind(invitation.name)
        .bind(flag(invitation.is_admin))
        .bind(invitation.token_hash)
        .bind(invitation.invited_by)
        .bind(invitation.now)
        .bind(invitation.expires_at)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    /// Marks an invitation used; false if it was already used (single use, across instances).
    pub async fn accept_invitation(&mut self, id: i64, now: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives an unused invitation a new token and expiry (resending it).
    pub async fn renew_invitation(
        &mut self,
        id: i64,
        token_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE invitations SET token_hash = $1, expires_at = $2 \
             WHERE id = $3 AND accepted_at IS NULL",
        )
        .bind(token_hash)
        .bind(expires_at)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

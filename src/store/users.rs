//! Accounts: creating them, reading them for sign-in and pages, and the changes to their
//! keys, password and status.

use sqlx::FromRow;

use super::{Change, Organisation, Store, StoreError, StoreResult, flag};
use crate::domain::{EmailAddress, OrganisationKind, PersonName, Role, UserStatus};

/// What is needed to create an account; keys arrive already wrapped.
pub struct NewUser<'a> {
    pub organisation_id: i64,
    pub email: &'a EmailAddress,
    pub name: &'a PersonName,
    pub is_admin: bool,
    pub status: UserStatus,
    pub password_hash: &'a str,
    pub public_recipient: &'a str,
    pub identity_wrapped_password: &'a [u8],
    pub identity_wrapped_recovery: &'a [u8],
    pub recovery_recipient: &'a str,
    pub now: i64,
}

/// An account as shown on pages and checked by access rules: metadata only, no keys.
#[derive(Debug, Clone)]
pub struct UserAccount {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub status: UserStatus,
    pub role: Role,
    pub public_recipient: String,
    pub organisation: Organisation,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub password_changed_at: i64,
    pub totp_enrolled: bool,
    /// How many passkeys the account has registered.
    pub passkeys: i64,
    pub must_change_password: bool,
    /// A team mailbox: it never signs in; its members work in it.
    pub is_team: bool,
    /// The colleague working in this mailbox as the owner's delegate, when the request is
    /// theirs rather than the owner's: the audit trail names them as the actor.
    pub acting_delegate: Option<ActingDelegate>,
}

/// A delegate at work in someone else's mailbox.
#[derive(Debug, Clone)]
pub struct ActingDelegate {
    pub id: i64,
    pub organisation_id: i64,
    pub name: String,
    pub can_send: bool,
}

impl UserAccount {
    /// Whether signing in asks for a second factor (an authenticator app or a passkey).
    pub fn has_second_factor(&self) -> bool {
        self.totp_enrolled || self.passkeys > 0
    }
}

/// What sign-in and password change need: the hash and the password-wrapped identity.
pub struct SignInRecord {
    pub id: i64,
    pub organisation_id: i64,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub public_recipient: String,
    pub identity_wrapped_password: Option<Vec<u8>>,
    pub recovery_recipient: Option<String>,
}

pub(super) const ACCOUNT_COLUMNS: &str = "u.id, u.email, u.name, u.status, u.is_admin, \
     u.public_recipient, u.created_at, u.last_sign_in_at, u.password_changed_at, \
     CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS totp_enrolled, \
     (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkey_count, \
     u.must_change_password, u.is_team, \
     o.id AS organisation_id, o.kind AS organisation_kind, o.name AS organisation_name, \
     o.jurisdiction AS organisation_jurisdiction";

#[derive(FromRow)]
pub(super) struct AccountRow {
    id: i64,
    email: String,
    name: String,
    status: String,
    is_admin: i64,
    public_recipient: String,
    created_at: i64,
    last_sign_in_at: Option<i64>,
    password_changed_at: i64,
    totp_enrolled: i64,
    passkey_count: i64,
    must_change_password: i64,
    is_team: i64,
    organisation_id: i64,
    organisation_kind: String,
    organisation_name: String,
    organisation_jurisdiction: String,
}

impl TryFrom<AccountRow> for UserAccount {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> StoreResult<Self> {
        let kind = OrganisationKind::parse(&row.organisation_kind)
            .map_err(|_| StoreError::Corrupt("organisation kind"))?;
        Ok(Self {
            id: row.id,
            email: row.email,
            name: row.name,
            status: UserStatus::parse(&row.status)
                .map_err(|_| StoreError::Corrupt("user status"))?,
            role: Role::of(row.is_admin != 0, kind),
            public_recipient: row.public_recipient,
            organisation: Organisation {
                id: row.organisation_id,
                kind,
                name: row.organisation_name,
                jurisdiction: row.organisation_jurisdiction,
            },
            created_at: row.created_at,
            last_sign_in_at: row.last_sign_in_at,
            password_changed_at: row.password_changed_at,
            totp_enrolled: row.totp_enrolled != 0,
            passkeys: row.passkey_count,
            must_change_password: row.must_change_password != 0,
            is_team: row.is_team != 0,
            acting_delegate: None,
        })
    }
}

#[derive(FromRow)]
struct SignInRow {
    id: i64,
    organisation_id: i64,
    status: String,
    password_hash: Option<String>,
    public_recipient: String,
    identity_wrapped_password: Option<Vec<u8>>,
    recovery_recipient: Option<String>,
}

impl TryFrom<SignInRow> for SignInRecord {
    type Error = StoreError;

    fn try_from(row: SignInRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            organisation_id: row.organisation_id,
            status: UserStatus::parse(&row.status)
                .map_err(|_| StoreError::Corrupt("user status"))?,
            password_hash: row.password_hash,
            public_recipient: row.public_recipient,
            identity_wrapped_password: row.identity_wrapped_password,
            recovery_recipient: row.recovery_recipient,
        })
    }
}

const SIGN_IN_COLUMNS: &str = "id, organisation_id, status, password_hash, public_recipient, \
     identity_wrapped_password, recovery_recipient";

impl Store {
    pub async fn count_users(&self) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    pub async fn sign_in_record(&self, email: &EmailAddress) -> StoreResult<Option<SignInRecord>> {
        let row: Option<SignInRow> = sqlx::query_as(&format!(
            "SELECT {SIGN_IN_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn sign_in_record_by_id(&self, user_id: i64) -> StoreResult<Option<SignInRecord>> {
        let row: Option<SignInRow> = sqlx::query_as(&format!(
            "SELECT {SIGN_IN_COLUMNS} FROM users WHERE id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn user_account(&self, user_id: i64) -> StoreResult<Option<UserAccount>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM users u \
             JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn code_wrap(&self, user_id: i64) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT identity_wrapped_code FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(w,)| w))
    }

    /// The identity wrapped to the recovery recipient, and which recipient that was.
    pub async fn recovery_wrap(&self, user_id: i64) -> StoreResult<Option<(Vec<u8>, String)>> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> = sqlx::query_as(
            "SELECT identity_wrapped_recovery, recovery_recipient FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(wrap, recipient)| Some((wrap?, recipient?))))
    }

    /// Names and addresses of the given users (for showing who did what).
    pub async fn user_names(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, (String, String)>> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            if chunk.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT id, name, email FROM users WHERE id IN ({})",
                super::numbered_placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for (id, name, email) in query.fetch_all(&self.pool).await? {
                out.insert(id, (name, email));
            }
        }
        Ok(out)
    }
}

impl Change {
    /// Creates an account; None when the address is already taken (drop the change then:
    /// on PostgreSQL the failed insert has ended the transaction).
    pub async fn create_user(&mut self, user: &NewUser<'_>) -> StoreResult<Option<i64>> {
        let created: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO users (organisation_id, email, name, is_admin, status, password_hash, \
             public_recipient, identity_wrapped_password, identity_wrapped_recovery, \
             recovery_recipient, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(user.organisation_id)
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(flag(user.is_admin))
        .bind(user.status.as_str())
        .bind(user.password_hash)
        .bind(user.public_recipient)
        .bind(user.identity_wrapped_password)
        .bind(user.identity_wrapped_recovery)
        .bind(user.recovery_recipient)
        .bind(user.now)
        .fetch_one(self.conn())
        .await;
        match created {
            Ok((id,)) => {
                super::directory::index_entry(self.tx(), id).await?;
                super::gateway::note_local_domain(self.tx(), user.email.as_str()).await?;
                Ok(Some(id))
            }
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn record_sign_in(&mut self, user_id: i64, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores a new password hash and the identity re-wrapped under the new password.
    pub async fn change_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        identity_wrapped_password: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, identity_wrapped_password = $2, \
             password_changed_at = $3, must_change_password = 0 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(identity_wrapped_password)
        .bind(now)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn replace_recovery_wrap(
        &mut self,
        user_id: i64,
        identity_wrapped_recovery: &[u8],
        recovery_recipient: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET identity_wrapped_recovery = $1, recovery_recipient = $2 \
             WHERE id = $3",
        )
        .bind(identity_wrapped_recovery)
        .bind(recovery_recipient)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_code_wrap(&mut self, user_id: i64, wrapped: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE users SET identity_wrapped_code = $1 WHERE id = $2")
            .bind(wrapped)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Replaces the password and its wrap, and whether a change is required at next use;
    /// every session of the account ends, and no browser stays known to it.
    pub async fn reset_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        identity_wrapped_password: &[u8],
        must_change: bool,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, identity_wrapped_password = $2, \
             password_changed_at = $3, must_change_password = $4 WHERE id = $5",
        )
        .bind(password_hash)
        .bind(identity_wrapped_password)
        .bind(now)
        .bind(flag(must_change))
        .bind(user_id)
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Gives an account a new identity (its old mail becomes unreadable to it).
    pub async fn replace_identity(
        &mut self,
        user_id: i64,
        public_recipient: &str,
        wrapped_password: &[u8],
        wrapped_recovery: &[u8],
        recovery_recipient: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET public_recipient = $1, identity_wrapped_password = $2, \
             identity_wrapped_recovery = $3, recovery_recipient = $4, identity_wrapped_code = NULL, \
             totp_secret = NULL, totp_pending_secret = NULL WHERE id = $5",
        )
        .bind(public_recipient)
        .bind(wrapped_password)
        .bind(wrapped_recovery)
        .bind(recovery_recipient)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        // The mailbox key was wrapped to the old identity: it and the index sealed under
        // it go with it, and so do delegations: their wraps hold the old identity of the
        // owner, or are sealed to the old identity of the delegate.
        for table in ["search_postings", "mailbox_keys"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user_id)
                .execute(self.conn())
                .await?;
        }
        sqlx::query("DELETE FROM delegations WHERE owner_id = $1 OR delegate_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        // Team wraps were sealed to the old identity too: a manager adds them again.
        sqlx::query("DELETE FROM team_members WHERE member_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes an account for good: its key material is destroyed (so every copy addressed
    /// only to it becomes unreadable), its sessions, mailbox and drafts are removed. The
    /// row stays, with the public key and name, so that mail it sent still shows its sender.
    pub async fn shred_account(&mut self, user_id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET status = 'deleted', password_hash = NULL, \
             identity_wrapped_password = NULL, identity_wrapped_recovery = NULL, \
             identity_wrapped_code = NULL, recovery_recipient = NULL WHERE id = $1",
        )
        .bind(user_id)
        .execute(self.conn())
        .await?;
        for table in [
            "sessions",
            "mailbox_entries",
            "drafts",
            "search_postings",
            "mailbox_keys",
            "totp_recovery_codes",
            "passkeys",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user_id)
                .execute(self.conn())
                .await?;
        }
        sqlx::query("DELETE FROM delegations WHERE owner_id = $1 OR delegate_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM team_members WHERE member_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        sqlx::query("UPDATE sessions SET acting_for = NULL WHERE acting_for = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Changes an account's status. Sessions of an account that may no longer hold one
    /// are removed in the same change, so it takes effect on the next request.
    pub async fn set_user_status(&mut self, user_id: i64, status: UserStatus) -> StoreResult<()> {
        sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(user_id)
            .execute(self.conn())
            .await?;
        if !status.may_hold_session() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Why the account has its status, shown to administrators.
    pub async fn set_status_reason(&mut self, user_id: i64, reason: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET status_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Treats an account as active from `now`: unlocking or reactivating restarts the
    /// inactivity clock, or the policy would lock it again at once.
    pub async fn restart_inactivity_clock(&mut self, user_id: i64, now: i64) -> StoreResult<()> {
        self.record_sign_in(user_id, now).await
    }

    pub async fn set_professional_reference(
        &mut self,
        user_id: i64,
        reference: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET professional_reference = $1 WHERE id = $2")
            .bind(reference)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_ex_directory(&mut self, user_id: i64, ex_directory: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET ex_directory = $1 WHERE id = $2")
            .bind(flag(ex_directory))
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

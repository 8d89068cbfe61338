//! Getting back into an account without losing mail: with the person's recovery code, or
//! by an administrator holding the offline recovery identity for one operation. When
//! neither is possible an administrator can issue new keys, and old mail stays unreadable.

use std::str::FromStr;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{
    ACCOUNT_FAILURE_LIMIT, FAILURE_WINDOW_SECONDS, PAUSE_SECONDS, new_recovery_code,
    normalise_recovery_code,
};
use crate::audit::Origin;
use crate::auth;
use crate::crypto::{RandomToken, UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, Password, UserStatus};
use crate::domain::{EventKind, SubjectKind};
use crate::state::Casemail;
use crate::store::UserAccount;

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(
        "The email address or recovery code is not right. Check the code, including its dashes."
    )]
    Wrong,
    #[error("Too many failed attempts. Wait {0} minutes, then try again.")]
    Paused(i64),
    #[error(
        "That is not a Casemail recovery identity, or not the one this account was wrapped to."
    )]
    WrongIdentity,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::crypto::KeyError> for RecoveryError {
    fn from(error: crate::crypto::KeyError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<crate::store::StoreError> for RecoveryError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

/// A temporary password an administrator passes on; the person must replace it.
fn temporary_password() -> String {
    format!("temp-{}", &RandomToken::generate().as_str()[..16])
}

impl Casemail {
    /// A new recovery code for a signed-in person, replacing the old one.
    pub async fn issue_recovery_code(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
    ) -> anyhow::Result<String> {
        let code = new_recovery_code();
        let wrapped = identity.wrap_with_code(&SecretString::from(code.clone()))?;
        self.store.set_code_wrap(user.id, &wrapped).await?;
        Ok(code)
    }

    /// Resets a forgotten password with the recovery code; returns the new code (the old
    /// one is spent).
    pub async fn recover_with_code(
        &self,
        email: &str,
        code: &str,
        new_password: Password,
        client_address: &str,
    ) -> Result<String, RecoveryError> {
        let now = self.clock.now();
        let key = format!("recovery:{}", email.trim().to_lowercase());
        if let Some(until) = self.store.sign_in_paused_until(&key, now).await? {
            return Err(RecoveryError::Paused(((until - now) + 59) / 60));
        }
        let record = match EmailAddress::parse(email) {
            Ok(email) => self.store.sign_in_record(&email).await?,
            Err(_) => None,
        }
        .filter(|r| r.status != UserStatus::Deleted);
        let wrapped = match &record {
            Some(r) => self.store.code_wrap(r.id).await?,
            None => None,
        };
        let code = SecretString::from(normalise_recovery_code(code));
        let opened = wrapped.and_then(|w| UserIdentity::unwrap_with_code(&w, &code).ok());
        let (Some(record), Some(identity)) = (record, opened) else {
            let outcome = self
                .store
                .record_sign_in_failure(
                    &key,
                    now,
                    FAILURE_WINDOW_SECONDS,
                    ACCOUNT_FAILURE_LIMIT,
                    PAUSE_SECONDS,
                )
                .await?;
            if outcome.paused_until > now {
                return Err(RecoveryError::Paused(
                    ((outcome.paused_until - now) + 59) / 60,
                ));
            }
            return Err(RecoveryError::Wrong);
        };
        self.set_new_password(record.id, &identity, new_password.secret().clone(), false)
            .await?;
        let account = self
            .store
            .user_account(record.id)
            .await?
            .context("account")?;
        let next_code = self.issue_recovery_code(&account, &identity).await?;
        let origin = Origin::user(&account, client_address);
        self.store
            .audit(&[origin.event(
                now,
                EventKind::RecoveredWithCode,
                SubjectKind::User,
                Some(record.id),
                serde_json::json!({}),
            )])
            .await?;
        Ok(next_code)
    }

    async fn set_new_password(
        &self,
        user_id: i64,
        identity: &UserIdentity,
        password: SecretString,
        must_change: bool,
    ) -> anyhow::Result<()> {
        let identity = identity.clone();
        let (hash, wrapped) = self
            .kdf
            .run(move || -> anyhow::Result<_> {
                let hash = auth::hash_password(password.expose_secret())
                    .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                Ok((hash, identity.wrap_with_password(&password)?))
            })
            .await??;
        self.store
            .reset_password(user_id, &hash, &wrapped, must_change, self.clock.now())
            .await?;
        Ok(())
    }

    /// An administrator recovers an account with the offline recovery identity, supplied
    /// for this one operation and never stored. Returns a temporary password for the
    /// person, who must change it when they sign in.
    pub async fn recover_with_identity(
        &self,
        admin: &UserAccount,
        user_id: i64,
        recovery_identity: &str,
        client_address: &str,
    ) -> Result<String, RecoveryError> {
        let line = recovery_identity
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .ok_or(RecoveryError::WrongIdentity)?;
        let custodian =
            age::x25519::Identity::from_str(line).map_err(|_| RecoveryError::WrongIdentity)?;
        let (wrapped, _) = self
            .store
            .recovery_wrap(user_id)
            .await?
            .ok_or(RecoveryError::WrongIdentity)?;
        let identity = UserIdentity::unwrap_with(&wrapped, &custodian)
            .map_err(|_| RecoveryError::WrongIdentity)?;
        let account = self.store.user_account(user_id).await?.context("account")?;
        if identity.recipient() != account.public_recipient {
            return Err(RecoveryError::WrongIdentity);
        }
        let temporary = temporary_password();
        self.set_new_password(
            user_id,
            &identity,
            SecretString::from(temporary.clone()),
            true,
        )
        .await?;
        self.record_admin_reset(
            admin,
            &account,
            EventKind::AccountRecovered,
            client_address,
            false,
        )
        .await?;
        Ok(temporary)
    }

    /// Without any recovery route: new keys and a temporary password. Mail sent to the old
    /// keys can no longer be read by this person.
    pub async fn issue_new_keys(
        &self,
        admin: &UserAccount,
        user_id: i64,
        client_address: &str,
    ) -> anyhow::Result<String> {
        let account = self.store.user_account(user_id).await?.context("account")?;
        let recovery = self.recovery_recipient().await?;
        let recovery_key = parse_recipient(&recovery)?;
        let temporary = temporary_password();
        let password = SecretString::from(temporary.clone());
        let (hash, public, wrapped_password, wrapped_recovery) = self
            .kdf
            .run(move || -> anyhow::Result<_> {
                let identity = UserIdentity::generate();
                let hash = auth::hash_password(password.expose_secret())
                    .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                Ok((
                    hash,
                    identity.recipient(),
                    identity.wrap_with_password(&password)?,
                    identity.wrap_to(&recovery_key)?,
                ))
            })
            .await??;
        self.store
            .replace_identity(
                user_id,
                &public,
                &wrapped_password,
                &wrapped_recovery,
                &recovery,
            )
            .await?;
        self.store
            .reset_password(user_id, &hash, &wrapped_password, true, self.clock.now())
            .await?;
        self.record_admin_reset(
            admin,
            &account,
            EventKind::NewKeysIssued,
            client_address,
            true,
        )
        .await?;
        Ok(temporary)
    }

    async fn record_admin_reset(
        &self,
        admin: &UserAccount,
        account: &UserAccount,
        kind: EventKind,
        client_address: &str,
        keys_replaced: bool,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let event = Origin::user(admin, client_address).event(
            now,
            kind,
            SubjectKind::User,
            Some(account.id),
            serde_json::json!({}),
        );
        self.store.audit(&[event]).await?;
        let body = if keys_replaced {
            format!(
                "Dear {},\n\nAn administrator has given your Casemail account new keys and a temporary \
                 password, which they will tell you. Mail sent to you before today can no longer be \
                 read. You must choose a new password when you sign in.\n",
                account.name
            )
        } else {
            format!(
                "Dear {},\n\nAn administrator has reset your Casemail password. They will tell you a \
                 temporary password; you must choose a new one when you sign in. Your mail is kept.\n",
                account.name
            )
        };
        self.store
            .queue_notification(
                &account.email,
                "Your Casemail password has been reset",
                &body,
                None,
                now,
            )
            .await?;
        Ok(())
    }
}

//! Creating an account: a fresh identity wrapped under the password, to the deployment's
//! recovery recipient and (when asked) under a one-time recovery code. The unwrapped
//! identity never leaves the key-derivation gate.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::Accounts;
use super::recovery::new_recovery_code;
use crate::auth;
use crate::crypto::{UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, Password, PersonName, UserStatus};
use crate::store::{Change, NewUser};

pub struct AccountDraft {
    pub organisation_id: i64,
    pub email: EmailAddress,
    pub name: PersonName,
    pub is_admin: bool,
    pub status: UserStatus,
    pub password: Password,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    #[error("an account with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(CreateAccountError: crate::store::StoreError);

/// The stored form of a new account's secrets, made before the database is touched.
pub(super) struct NewAccountKeys {
    password_hash: String,
    public_recipient: String,
    wrapped_password: Vec<u8>,
    wrapped_recovery: Vec<u8>,
    recovery_recipient: String,
    wrapped_code: Option<Vec<u8>>,
    /// The recovery code to show the person once.
    pub code: Option<String>,
}

impl Accounts {
    /// Creates an account with a fresh identity; returns its id.
    pub async fn create_account(&self, draft: AccountDraft) -> Result<i64, CreateAccountError> {
        self.create(draft, false).await.map(|(id, _)| id)
    }

    /// Creates an account as `create_account` does, plus a recovery code (a third wrap of
    /// the identity) to show the person once.
    pub async fn create_account_with_code(
        &self,
        draft: AccountDraft,
    ) -> Result<(i64, String), CreateAccountError> {
        let (id, code) = self.create(draft, true).await?;
        Ok((id, code.context("a recovery code was asked for")?))
    }

    async fn create(
        &self,
        draft: AccountDraft,
        with_code: bool,
    ) -> Result<(i64, Option<String>), CreateAccountError> {
        let keys = self.new_account_keys(&draft.password, with_code).await?;
        let mut change = self.store.begin(self.clock.now()).await?;
        let id = self.insert_account(&mut change, &draft, &keys).await?;
        change.commit().await?;
        Ok((id, keys.code))
    }

    /// Generates and wraps the identity of a new account (the expensive part: argon2 and
    /// scrypt), bounded by the key-derivation gate.
    pub(super) async fn new_account_keys(
        &self,
        password: &Password,
        with_code: bool,
    ) -> anyhow::Result<NewAccountKeys> {
        let recovery_recipient = self.recovery_recipient().await?;
        let recovery_key =
            parse_recipient(&recovery_recipient).context("recovery recipient is invalid")?;
        let password = password.secret().clone();
        let code = with_code.then(new_recovery_code);
        let code_secret = code.clone().map(SecretString::from);
        let (password_hash, public_recipient, wrapped_password, wrapped_recovery, wrapped_code) =
            self.kdf
                .run(move || -> anyhow::Result<_> {
                    let hash = auth::hash_password(password.expose_secret())
                        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                    let identity = UserIdentity::generate();
                    let wrapped_code = match &code_secret {
                        Some(code) => Some(identity.wrap_with_code(code)?),
                        None => None,
                    };
                    Ok((
                        hash,
                        identity.recipient(),
                        identity.wrap_with_password(&password)?,
                        identity.wrap_to(&recovery_key)?,
                        wrapped_code,
                    ))
                })
                .await??;
        Ok(NewAccountKeys {
            password_hash,
            public_recipient,
            wrapped_password,
            wrapped_recovery,
            recovery_recipient,
            wrapped_code,
            code,
        })
    }

    /// Inserts the account as part of `change`.
    pub(super) async fn insert_account(
        &self,
        change: &mut Change,
        draft: &AccountDraft,
        keys: &NewAccountKeys,
    ) -> Result<i64, CreateAccountError> {
        let id = change
            .create_user(&NewUser {
                organisation_id: draft.organisation_id,
                email: &draft.email,
                name: &draft.name,
                is_admin: draft.is_admin,
                status: draft.status,
                password_hash: &keys.password_hash,
                public_recipient: &keys.public_recipient,
                identity_wrapped_password: &keys.wrapped_password,
                identity_wrapped_recovery: &keys.wrapped_recovery,
                recovery_recipient: &keys.recovery_recipient,
                now: self.clock.now(),
            })
            .await?
            .ok_or(CreateAccountError::EmailTaken)?;
        if let Some(wrapped) = &keys.wrapped_code {
            change.set_code_wrap(id, wrapped).await?;
        }
        Ok(id)
    }
}

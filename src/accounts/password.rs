//! Changing one's password: the identity is re-wrapped under the new one.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::Accounts;
use crate::audit::Origin;
use crate::auth;
use crate::crypto::UserIdentity;
use crate::domain::{EventKind, Password};

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("the current password is wrong")]
    WrongPassword,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(ChangePasswordError: crate::store::StoreError);

impl Accounts {
    /// Re-wraps the identity under a new password after checking the current one. Other
    /// sessions of the user end; the one making the change stays signed in.
    pub async fn change_password(
        &self,
        user_id: i64,
        keep_session: &str,
        current: SecretString,
        new: Password,
        client_address: &str,
    ) -> Result<(), ChangePasswordError> {
        let record = self
            .store
            .sign_in_record_by_id(user_id)
            .await?
            .context("account not found")?;
        let hash = record.password_hash.context("account has no password")?;
        let wrapped = record
            .identity_wrapped_password
            .context("account has no key material")?;
        let new_secret = new.secret().clone();
        let outcome = self
            .kdf
            .run(move || -> anyhow::Result<Option<(String, Vec<u8>)>> {
                if !auth::verify_password(&hash, current.expose_secret()) {
                    return Ok(None);
                }
                let identity = UserIdentity::unwrap_with_password(&wrapped, &current)?;
                let new_hash = auth::hash_password(new_secret.expose_secret())
                    .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                Ok(Some((new_hash, identity.wrap_with_password(&new_secret)?)))
            })
            .await??;
        let origin = Origin {
            actor_id: Some(user_id),
            actor_org_id: Some(record.organisation_id),
            client_address: client_address.to_string(),
            on_behalf_of: None,
        };
        let now = self.clock.now();
        let Some((new_hash, rewrapped)) = outcome else {
            self.store
                .audit(&[origin.user_event(
                    now,
                    EventKind::PasswordChangeFailed,
                    user_id,
                    serde_json::json!({}),
                )])
                .await?;
            return Err(ChangePasswordError::WrongPassword);
        };
        let mut change = self.store.begin(now).await?;
        change
            .change_password(user_id, &new_hash, &rewrapped, now)
            .await?;
        change
            .end_other_sessions(user_id, Some(keep_session))
            .await?;
        change
            .record(&[origin.user_event(
                now,
                EventKind::PasswordChanged,
                user_id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(())
    }
}

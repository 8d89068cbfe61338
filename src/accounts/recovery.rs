//! Getting back into an account without losing mail: with the person's recovery code, or
//! by an administrator holding the offline recovery identity for one operation. When
//! neither is possible an administrator can issue new keys, and old mail stays unreadable.

use std::str::FromStr;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::Accounts;
use super::throttle;
use crate::audit::Origin;
use crate::auth;
use crate::crypto::{RandomToken, UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, EventKind, Password, ThrottleRule, UserStatus, minutes_until};
use crate::store::{Change, NewNotification, UserAccount};

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

internal_from!(RecoveryError: crate::store::StoreError, crate::crypto::KeyError);

/// A temporary password an administrator passes on; the person must replace it.
fn temporary_password() -> String {
    format!("temp-{}", &RandomToken::generate().as_str()[..16])
}

impl Accounts {
    /// A new recovery code for a signed-in person, replacing the old one.
    pub async fn issue_recovery_code(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        client_address: &str,
    ) -> anyhow::Result<String> {
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let code = self.wrap_new_code(&mut change, user.id, identity).await?;
        change
            .record(&[Origin::user(user, client_address).user_event(
                now,
                EventKind::RecoveryCodeIssued,
                user.id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(code)
    }

    async fn wrap_new_code(
        &self,
        change: &mut Change,
        user_id: i64,
        identity: &UserIdentity,
    ) -> anyhow::Result<String> {
        let code = new_recovery_code();
        let secret = SecretString::from(code.clone());
        let identity = identity.clone();
        let wrapped = self
            .kdf
            .run(move || identity.wrap_with_code(&secret))
            .await??;
        change.set_code_wrap(user_id, &wrapped).await?;
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
        device: Option<&str>,
    ) -> Result<String, RecoveryError> {
        let now = self.clock.now();
        let record = match EmailAddress::parse(email) {
            Ok(email) => self.store.sign_in_record(&email).await?,
            Err(_) => None,
        }
        .filter(|r| r.status != UserStatus::Deleted);
        // As for sign-in: a stranger's wrong codes pause new browsers, not the owner's.
        let known_device = self
            .known_device(device, record.as_ref().map(|r| r.id), now)
            .await?;
        let keys = match &known_device {
            Some(device) => vec![(
                throttle::typed_key("recovery:device", device),
                ThrottleRule::RECOVERY_ACCOUNT,
            )],
            None => vec![
                (
                    format!("recovery:address:{client_address}"),
                    ThrottleRule::RECOVERY_ADDRESS,
                ),
                (
                    throttle::typed_key("recovery:account", email),
                    ThrottleRule::RECOVERY_ACCOUNT,
                ),
            ],
        };
        let reserved = match throttle::reserve(&self.store, now, keys).await? {
            Ok(reserved) => reserved,
            Err(until) => return Err(RecoveryError::Paused(minutes_until(now, until))),
        };
        let wrapped = match &record {
            Some(r) => self.store.code_wrap(r.id).await?,
            None => None,
        };
        let code = SecretString::from(normalise_recovery_code(code));
        let opened = match wrapped {
            Some(wrapped) => {
                self.kdf
                    .run(move || UserIdentity::unwrap_with_code(&wrapped, &code).ok())
                    .await?
            }
            None => None,
        };
        let (Some(record), Some(identity)) = (record, opened) else {
            return Err(match reserved.paused_until {
                Some(until) => RecoveryError::Paused(minutes_until(now, until)),
                None => RecoveryError::Wrong,
            });
        };
        reserved.give_back(&self.store).await?;
        let account = self
            .store
            .user_account(record.id)
            .await?
            .context("account")?;
        let (hash, wrapped) = self
            .password_wrap(&identity, new_password.secret().clone())
            .await?;
        let mut change = self.store.begin(now).await?;
        change
            .reset_password(record.id, &hash, &wrapped, false, now)
            .await?;
        let next_code = self
            .wrap_new_code(&mut change, record.id, &identity)
            .await?;
        change
            .record(&[Origin::user(&account, client_address).user_event(
                now,
                EventKind::RecoveredWithCode,
                record.id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(next_code)
    }

    /// A password hash and the identity wrapped under that password.
    async fn password_wrap(
        &self,
        identity: &UserIdentity,
        password: SecretString,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let identity = identity.clone();
        self.kdf
            .run(move || -> anyhow::Result<_> {
                let hash = auth::hash_password(password.expose_secret())
                    .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                Ok((hash, identity.wrap_with_password(&password)?))
            })
            .await?
    }

    /// Recovers an account with the offline recovery identity, supplied for this one
    /// operation and never stored: by an administrator in the web form, or by the key
    /// custodians with `casemail admin recover` on a machine of their choosing (`origin`
    /// says which, for the audit trail). Returns a temporary password for the person, who
    /// must change it when they sign in. The identity is held as a secret, zeroised when
    /// dropped.
    pub async fn recover_with_identity(
        &self,
        origin: &Origin,
        user_id: i64,
        recovery_identity: &SecretString,
    ) -> Result<String, RecoveryError> {
        let custodian = recovery_identity
            .expose_secret()
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .and_then(|line| age::x25519::Identity::from_str(line).ok())
            .ok_or(RecoveryError::WrongIdentity)?;
        let (wrapped, _) = self
            .store
            .recovery_wrap(user_id)
            .await?
            .ok_or(RecoveryError::WrongIdentity)?;
        let identity = UserIdentity::unwrap_with(&wrapped, &custodian)
            .map_err(|_| RecoveryError::WrongIdentity)?;
        drop(custodian);
        let account = self.store.user_account(user_id).await?.context("account")?;
        if identity.recipient() != account.public_recipient {
            return Err(RecoveryError::WrongIdentity);
        }
        let temporary = temporary_password();
        let (hash, wrapped) = self
            .password_wrap(&identity, SecretString::from(temporary.clone()))
            .await?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change
            .reset_password(user_id, &hash, &wrapped, true, now)
            .await?;
        record_admin_reset(
            &mut change,
            origin,
            &account,
            EventKind::AccountRecovered,
            now,
        )
        .await?;
        change.commit().await?;
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
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change
            .replace_identity(
                user_id,
                &public,
                &wrapped_password,
                &wrapped_recovery,
                &recovery,
            )
            .await?;
        change
            .reset_password(user_id, &hash, &wrapped_password, true, now)
            .await?;
        record_admin_reset(
            &mut change,
            &Origin::user(admin, client_address),
            &account,
            EventKind::NewKeysIssued,
            now,
        )
        .await?;
        change.commit().await?;
        Ok(temporary)
    }
}

/// The event and the email to the person whose password an administrator reset.
async fn record_admin_reset(
    change: &mut Change,
    origin: &Origin,
    account: &UserAccount,
    kind: EventKind,
    now: i64,
) -> anyhow::Result<()> {
    change
        .record(&[origin.user_event(now, kind, account.id, serde_json::json!({}))])
        .await?;
    let body = if kind == EventKind::NewKeysIssued {
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
    change
        .notify(&[NewNotification {
            recipient: account.email.clone(),
            subject: "Your Casemail password has been reset".into(),
            body,
            dedupe_key: None,
        }])
        .await?;
    Ok(())
}

/// A recovery code: 20 characters from an unambiguous alphabet (about 100 bits), grouped
/// for reading aloud and writing down.
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("operating system random source unavailable");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Recovery codes are compared without spaces, dashes or case.
pub fn normalise_recovery_code(input: &str) -> String {
    let bare: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    bare.as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

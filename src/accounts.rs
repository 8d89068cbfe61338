//! Account operations shared by the web pages and the command line: creating an account
//! with its keys, signing in (which unlocks the keys for a session), changing a password,
//! and the deployment's recovery key.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Origin;
use crate::auth::{self, SessionCookie};
use crate::crypto::{UserIdentity, generate_recovery_key_pair, parse_recipient};
use crate::domain::{EmailAddress, Password, PersonName, UserStatus};
use crate::domain::{EventKind, SubjectKind};
use crate::state::Casemail;
use crate::store::{NewSession, NewUser, settings};

/// Failed sign-ins per typed address in one window before that address is paused.
pub const ACCOUNT_FAILURE_LIMIT: i64 = 10;
/// Failed sign-ins from one client address in one window before it is paused. Higher than
/// the per-account limit because an office may share one address.
pub const ADDRESS_FAILURE_LIMIT: i64 = 50;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
pub const PAUSE_SECONDS: i64 = 15 * 60;

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

pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: SecretString,
    pub client_address: &'a str,
    pub user_agent: &'a str,
}

pub struct SignedIn {
    pub user_id: i64,
    pub cookie: SessionCookie,
    /// The session waits for a second-factor code before it can be used.
    pub second_factor: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong email address or password")]
    WrongCredentials,
    #[error("sign-in paused after too many failures")]
    Paused { minutes: i64 },
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("the current password is wrong")]
    WrongPassword,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Casemail {
    /// The recovery recipient new wraps are made for: configuration first, else the one
    /// generated for this deployment.
    pub async fn recovery_recipient(&self) -> anyhow::Result<String> {
        if let Some(configured) = &self.config.recovery_recipient {
            return Ok(configured.clone());
        }
        self.store
            .setting(settings::RECOVERY_RECIPIENT)
            .await?
            .context("no recovery recipient: configure CASEMAIL_RECOVERY_RECIPIENT")
    }

    /// Makes sure a recovery recipient exists. When none is configured or stored, generates
    /// a pair and returns the file holding the secret half, which must go offline.
    pub async fn ensure_recovery_key(&self) -> anyhow::Result<Option<PathBuf>> {
        if let Some(configured) = &self.config.recovery_recipient {
            parse_recipient(configured)
                .context("CASEMAIL_RECOVERY_RECIPIENT is not an age X25519 public key")?;
            return Ok(None);
        }
        if self
            .store
            .setting(settings::RECOVERY_RECIPIENT)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        self.rotate_recovery_key().await.map(Some)
    }

    /// Generates a new recovery pair, stores its public half as the deployment's recipient
    /// and writes the secret half to a new file (never overwriting an earlier one).
    pub async fn rotate_recovery_key(&self) -> anyhow::Result<PathBuf> {
        let (public, secret) = generate_recovery_key_pair();
        let path = self.unused_recovery_path();
        write_secret_file(&path, &public, &secret, self.clock.now())?;
        self.store
            .set_setting(settings::RECOVERY_RECIPIENT, &public)
            .await?;
        Ok(path)
    }

    fn unused_recovery_path(&self) -> PathBuf {
        let first = self.config.recovery_secret_path();
        if !first.exists() {
            return first;
        }
        self.config
            .data_dir
            .join(format!("recovery-identity-{}.txt", self.clock.now()))
    }

    /// A recovery secret file still on this server, which the admin is urged to move.
    pub fn recovery_secret_on_disk(&self) -> Option<PathBuf> {
        let dir = std::fs::read_dir(&self.config.data_dir).ok()?;
        dir.filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("recovery-identity"))
            })
    }

    /// Creates an account with a fresh identity wrapped under its password and to the
    /// recovery recipient. The unwrapped identity never leaves this function.
    pub async fn create_account(&self, draft: AccountDraft) -> Result<i64, CreateAccountError> {
        self.create_account_inner(draft, false)
            .await
            .map(|(id, _)| id)
    }

    /// Creates an account as `create_account` does, plus a recovery code (a third wrap of
    /// the identity) to show the person once.
    pub async fn create_account_with_code(
        &self,
        draft: AccountDraft,
    ) -> Result<(i64, String), CreateAccountError> {
        let (id, code) = self.create_account_inner(draft, true).await?;
        Ok((id, code.unwrap_or_default()))
    }

    async fn create_account_inner(
        &self,
        draft: AccountDraft,
        with_code: bool,
    ) -> Result<(i64, Option<String>), CreateAccountError> {
        let recovery = self.recovery_recipient().await?;
        let recovery_key = parse_recipient(&recovery).context("recovery recipient is invalid")?;
        let password = draft.password.secret().clone();
        let code = with_code.then(new_recovery_code);
        let code_secret = code.clone().map(SecretString::from);
        let (hash, identity, wrapped_password, wrapped_recovery, wrapped_code) = self
            .kdf
            .run(move || -> anyhow::Result<_> {
                let hash = auth::hash_password(password.expose_secret())
                    .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
                let identity = UserIdentity::generate();
                let wrapped_password = identity.wrap_with_password(&password)?;
                let wrapped_recovery = identity.wrap_to(&recovery_key)?;
                let wrapped_code = match &code_secret {
                    Some(code) => Some(identity.wrap_with_code(code)?),
                    None => None,
                };
                Ok((
                    hash,
                    identity.recipient(),
                    wrapped_password,
                    wrapped_recovery,
                    wrapped_code,
                ))
            })
            .await??;
        let created = self
            .store
            .create_user(&NewUser {
                organisation_id: draft.organisation_id,
                email: &draft.email,
                name: &draft.name,
                is_admin: draft.is_admin,
                status: draft.status,
                password_hash: &hash,
                public_recipient: &identity,
                identity_wrapped_password: &wrapped_password,
                identity_wrapped_recovery: &wrapped_recovery,
                recovery_recipient: &recovery,
                now: self.clock.now(),
            })
            .await;
        let id = match created {
            Ok(id) => id,
            Err(e) if e.is_unique_violation() => return Err(CreateAccountError::EmailTaken),
            Err(e) => return Err(CreateAccountError::Internal(e.into())),
        };
        if let Some(wrapped) = wrapped_code {
            self.store
                .set_code_wrap(id, &wrapped)
                .await
                .map_err(anyhow::Error::from)?;
        }
        Ok((id, code))
    }

    /// Checks a password and, if it is right, opens a session holding the user's identity
    /// wrapped to a fresh session key. Unknown addresses cost one argon2 run, like known
    /// ones; paused addresses cost none.
    pub async fn sign_in(&self, attempt: SignInAttempt<'_>) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let account_key = format!("account:{}", attempt.email.trim().to_lowercase());
        let address_key = format!("address:{}", attempt.client_address);
        for key in [&account_key, &address_key] {
            if let Some(until) = self
                .store
                .sign_in_paused_until(key, now)
                .await
                .map_err(anyhow::Error::from)?
            {
                self.audit_sign_in(None, &attempt, EventKind::SignInRefused, "paused")
                    .await;
                return Err(SignInError::Paused {
                    minutes: minutes_until(now, until),
                });
            }
        }
        let record = match EmailAddress::parse(attempt.email) {
            Ok(email) => self
                .store
                .sign_in_record(&email)
                .await
                .map_err(anyhow::Error::from)?,
            Err(_) => None,
        }
        .filter(|r| r.status != UserStatus::Deleted && r.password_hash.is_some());
        let hash = record
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| auth::DUMMY_HASH.clone());
        let password = attempt.password.clone();
        let verified = self
            .kdf
            .run(move || auth::verify_password(&hash, password.expose_secret()))
            .await?;
        let record = match record {
            Some(record) if verified => record,
            other => {
                let error = self.count_failure(&account_key, &address_key, now).await;
                let account = other.map(|r| (r.id, r.organisation_id));
                let reason = match error {
                    SignInError::Paused { .. } => "wrong_credentials_now_paused",
                    _ => "wrong_credentials",
                };
                self.audit_sign_in(account, &attempt, EventKind::SignInFailed, reason)
                    .await;
                return Err(error);
            }
        };
        self.store
            .clear_sign_in_failures(&account_key)
            .await
            .map_err(anyhow::Error::from)?;
        let account = Some((record.id, record.organisation_id));
        if let Some(refusal) = record.status.refusal() {
            self.audit_sign_in(
                account,
                &attempt,
                EventKind::SignInRefused,
                record.status.as_str(),
            )
            .await;
            return Err(SignInError::Refused(refusal));
        }
        let wrapped = record
            .identity_wrapped_password
            .clone()
            .context("account has no key material")?;
        let password = attempt.password.clone();
        let identity = self
            .kdf
            .run(move || UserIdentity::unwrap_with_password(&wrapped, &password))
            .await?
            .map_err(anyhow::Error::from)?;
        if identity.recipient() != record.public_recipient {
            return Err(anyhow::anyhow!("unwrapped identity does not match the account").into());
        }
        self.refresh_recovery_wrap(record.id, record.recovery_recipient.as_deref(), &identity)
            .await?;
        let (cookie, session_key) = SessionCookie::generate();
        let sealed = session_key.seal(&identity).map_err(anyhow::Error::from)?;
        self.store
            .create_session(&NewSession {
                token_hash: &cookie.token_hash(),
                user_id: record.id,
                wrapped_identity: &sealed,
                now,
                expires_at: now + self.config.session_max_seconds(),
                client_address: attempt.client_address,
                user_agent: attempt.user_agent,
            })
            .await
            .map_err(anyhow::Error::from)?;
        self.store
            .record_sign_in(record.id, now)
            .await
            .map_err(anyhow::Error::from)?;
        let (totp, _, _) = self
            .store
            .totp_secret(record.id)
            .await
            .map_err(anyhow::Error::from)?;
        let second_factor = totp.is_some();
        if second_factor {
            self.store
                .set_second_factor_pending(&cookie.token_hash(), true)
                .await
                .map_err(anyhow::Error::from)?;
        }
        self.audit_sign_in(account, &attempt, EventKind::SignedIn, "")
            .await;
        Ok(SignedIn {
            user_id: record.id,
            cookie,
            second_factor,
        })
    }

    /// Records a sign-in outcome. The typed address is not recorded, only the account it
    /// belongs to (if any); a failure to write is logged, not shown to the person.
    async fn audit_sign_in(
        &self,
        account: Option<(i64, i64)>,
        attempt: &SignInAttempt<'_>,
        kind: EventKind,
        reason: &str,
    ) {
        let origin = Origin {
            actor_id: account.map(|(id, _)| id),
            actor_org_id: account.map(|(_, org)| org),
            client_address: attempt.client_address.to_string(),
        };
        let event = origin.event(
            self.clock.now(),
            kind,
            SubjectKind::User,
            account.map(|(id, _)| id),
            serde_json::json!({ "reason": reason, "user_agent": attempt.user_agent }),
        );
        if let Err(error) = self.store.audit(&[event]).await {
            tracing::error!(%error, "could not record a sign-in event");
        }
    }

    async fn count_failure(&self, account_key: &str, address_key: &str, now: i64) -> SignInError {
        let mut paused_until = None;
        for (key, limit) in [
            (account_key, ACCOUNT_FAILURE_LIMIT),
            (address_key, ADDRESS_FAILURE_LIMIT),
        ] {
            match self
                .store
                .record_sign_in_failure(key, now, FAILURE_WINDOW_SECONDS, limit, PAUSE_SECONDS)
                .await
            {
                Ok(outcome) if outcome.paused_until > now => {
                    paused_until = Some(outcome.paused_until);
                }
                Ok(_) => {}
                Err(e) => return SignInError::Internal(e.into()),
            }
        }
        match paused_until {
            Some(until) => SignInError::Paused {
                minutes: minutes_until(now, until),
            },
            None => SignInError::WrongCredentials,
        }
    }

    /// After the recovery key is rotated, each account's recovery wrap is renewed the next
    /// time its owner signs in (the only moment the server holds the identity).
    async fn refresh_recovery_wrap(
        &self,
        user_id: i64,
        wrapped_for: Option<&str>,
        identity: &UserIdentity,
    ) -> anyhow::Result<()> {
        let current = self.recovery_recipient().await?;
        if wrapped_for == Some(current.as_str()) {
            return Ok(());
        }
        let wrapped = identity.wrap_to(&parse_recipient(&current)?)?;
        self.store
            .replace_recovery_wrap(user_id, &wrapped, &current)
            .await?;
        Ok(())
    }

    /// Re-wraps the identity under a new password after checking the current one. Other
    /// sessions of the user are ended; the one making the change stays signed in.
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
            .await
            .map_err(anyhow::Error::from)?
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
        };
        let Some((new_hash, rewrapped)) = outcome else {
            let event = origin.event(
                self.clock.now(),
                EventKind::PasswordChangeFailed,
                SubjectKind::User,
                Some(user_id),
                serde_json::json!({}),
            );
            self.store
                .audit(&[event])
                .await
                .map_err(anyhow::Error::from)?;
            return Err(ChangePasswordError::WrongPassword);
        };
        let now = self.clock.now();
        self.store
            .change_password(user_id, &new_hash, &rewrapped, now)
            .await
            .map_err(anyhow::Error::from)?;
        self.store
            .delete_other_sessions(user_id, Some(keep_session))
            .await
            .map_err(anyhow::Error::from)?;
        let event = origin.event(
            now,
            EventKind::PasswordChanged,
            SubjectKind::User,
            Some(user_id),
            serde_json::json!({}),
        );
        self.store
            .audit(&[event])
            .await
            .map_err(anyhow::Error::from)?;
        Ok(())
    }
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

fn minutes_until(now: i64, until: i64) -> i64 {
    ((until - now) + 59) / 60
}

fn write_secret_file(
    path: &std::path::Path,
    public: &str,
    secret: &SecretString,
    now: i64,
) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(
        file,
        "# Casemail recovery identity, created {}\n\
         # Keep this file offline with the key custodians; delete it from the server.\n\
         # public key: {public}\n{}",
        crate::clock::display_time(now),
        secret.expose_secret()
    )?;
    file.sync_all()?;
    Ok(())
}

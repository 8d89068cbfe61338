//! Signing in: the password unlocks the identity, which is re-wrapped to a fresh session
//! key whose secret goes only into the browser's cookie. Failures are throttled per typed
//! address and per client address before any password hashing.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::Accounts;
use crate::audit::Origin;
use crate::auth::{self, SessionCookie};
use crate::crypto::{UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, EventKind, UserStatus};
use crate::store::{Change, NewSession};

/// Failed sign-ins per typed address in one window before that address is paused.
pub const ACCOUNT_FAILURE_LIMIT: i64 = 10;
/// Failed sign-ins from one client address in one window before it is paused. Higher than
/// the per-account limit because an office may share one address.
pub const ADDRESS_FAILURE_LIMIT: i64 = 50;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
pub const PAUSE_SECONDS: i64 = 15 * 60;

pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: SecretString,
    pub client_address: &'a str,
    pub user_agent: &'a str,
    /// The session this browser held before, which the new one replaces.
    pub previous_session: Option<String>,
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

impl From<crate::store::StoreError> for SignInError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

impl Accounts {
    /// Checks a password and, if it is right, opens a session holding the user's identity
    /// wrapped to a fresh session key. Unknown addresses cost one argon2 run, like known
    /// ones; paused addresses cost none.
    pub async fn sign_in(&self, attempt: SignInAttempt<'_>) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let account_key = format!("account:{}", attempt.email.trim().to_lowercase());
        let address_key = format!("address:{}", attempt.client_address);
        for key in [&account_key, &address_key] {
            if let Some(until) = self.store.sign_in_paused_until(key, now).await? {
                self.record_attempt(None, &attempt, EventKind::SignInRefused, "paused")
                    .await;
                return Err(SignInError::Paused {
                    minutes: minutes_until(now, until),
                });
            }
        }
        let record = match EmailAddress::parse(attempt.email) {
            Ok(email) => self.store.sign_in_record(&email).await?,
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
                self.record_attempt(account, &attempt, EventKind::SignInFailed, reason)
                    .await;
                return Err(error);
            }
        };
        self.store.clear_sign_in_failures(&account_key).await?;
        let account = Some((record.id, record.organisation_id));
        if let Some(refusal) = record.status.refusal() {
            self.record_attempt(
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
        let (cookie, session_key) = SessionCookie::generate();
        let sealed = session_key.seal(&identity).map_err(anyhow::Error::from)?;
        let second_factor = self.store.totp_state(record.id).await?.secret.is_some();
        let mut change = self.store.begin(now).await?;
        if let Some(previous) = &attempt.previous_session {
            change.end_session(previous).await?;
        }
        self.refresh_recovery_wrap(
            &mut change,
            record.id,
            record.recovery_recipient.as_deref(),
            &identity,
        )
        .await?;
        change
            .create_session(&NewSession {
                token_hash: &cookie.token_hash(),
                user_id: record.id,
                wrapped_identity: &sealed,
                now,
                expires_at: now + self.config.session_max_seconds(),
                client_address: attempt.client_address,
                user_agent: attempt.user_agent,
                second_factor_pending: second_factor,
            })
            .await?;
        change.record_sign_in(record.id, now).await?;
        change
            .record(&[attempt_event(
                account,
                &attempt,
                EventKind::SignedIn,
                "",
                now,
            )])
            .await?;
        change.commit().await?;
        Ok(SignedIn {
            user_id: record.id,
            cookie,
            second_factor,
        })
    }

    /// Records a refused or failed attempt. The typed address is not recorded, only the
    /// account it belongs to (if any); a failure to write is logged, not shown.
    async fn record_attempt(
        &self,
        account: Option<(i64, i64)>,
        attempt: &SignInAttempt<'_>,
        kind: EventKind,
        reason: &str,
    ) {
        let event = attempt_event(account, attempt, kind, reason, self.clock.now());
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
        change: &mut Change,
        user_id: i64,
        wrapped_for: Option<&str>,
        identity: &UserIdentity,
    ) -> anyhow::Result<()> {
        let current = self.recovery_recipient().await?;
        if wrapped_for == Some(current.as_str()) {
            return Ok(());
        }
        let wrapped = identity.wrap_to(&parse_recipient(&current)?)?;
        change
            .replace_recovery_wrap(user_id, &wrapped, &current)
            .await?;
        Ok(())
    }
}

fn attempt_event(
    account: Option<(i64, i64)>,
    attempt: &SignInAttempt<'_>,
    kind: EventKind,
    reason: &str,
    now: i64,
) -> crate::store::NewEvent {
    let origin = Origin {
        actor_id: account.map(|(id, _)| id),
        actor_org_id: account.map(|(_, org)| org),
        client_address: attempt.client_address.to_string(),
    };
    origin.event(
        now,
        kind,
        crate::domain::SubjectKind::User,
        account.map(|(id, _)| id),
        serde_json::json!({ "reason": reason, "user_agent": attempt.user_agent }),
    )
}

pub(super) fn minutes_until(now: i64, until: i64) -> i64 {
    ((until - now) + 59) / 60
}

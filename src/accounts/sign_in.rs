//! Signing in: the password unlocks the identity, which is re-wrapped to a fresh session
//! key whose secret goes only into the browser's cookie. Each attempt is reserved under
//! the throttles (per client address, and per account or per known browser) before any
//! password hashing.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::Accounts;
use super::throttle;
use crate::audit::Origin;
use crate::auth::{self, SessionCookie};
use crate::crypto::{RandomToken, UserIdentity, parse_recipient, sha256_hex};
use crate::domain::{EmailAddress, EventKind, ThrottleRule, UserStatus, minutes_until};
use crate::store::{Change, NewSession};

/// How long a browser stays known to an account without signing in to it again.
pub const DEVICE_REMEMBERED_SECONDS: i64 = 180 * 24 * 3600;

pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: SecretString,
    pub client_address: &'a str,
    pub user_agent: &'a str,
    /// The session this browser held before, which the new one replaces.
    pub previous_session: Option<String>,
    /// The token of this browser's device cookie, if it has one.
    pub device: Option<String>,
}

pub struct SignedIn {
    pub user_id: i64,
    pub cookie: SessionCookie,
    /// The session waits for a second-factor code before it can be used.
    pub second_factor: bool,
    /// The device token for this browser to keep (new, or the one it sent); none while a
    /// second factor is awaited.
    pub device: Option<String>,
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

internal_from!(SignInError: crate::store::StoreError);

impl Accounts {
    /// Checks a password and, if it is right, opens a session holding the user's identity
    /// wrapped to a fresh session key. Unknown addresses cost one argon2 run, like known
    /// ones; paused attempts cost none. The attempt is reserved under the throttles
    /// before the password is checked (`domain::ThrottleRule` says what they promise).
    pub async fn sign_in(&self, attempt: SignInAttempt<'_>) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let record = match EmailAddress::parse(attempt.email) {
            Ok(email) => self.store.sign_in_record(&email).await?,
            Err(_) => None,
        }
        .filter(|r| r.status != UserStatus::Deleted && r.password_hash.is_some());
        let known_device = self
            .known_device(
                attempt.device.as_deref(),
                record.as_ref().map(|r| r.id),
                now,
            )
            .await?;
        // A browser that has signed in to this account before is counted on its own, not
        // with its client address: others behind the same address cannot pause it.
        let keys = match &known_device {
            Some(device) => vec![(
                throttle::typed_key("sign-in:device", device),
                ThrottleRule::SIGN_IN_KNOWN_DEVICE,
            )],
            None => vec![
                (
                    format!("sign-in:address:{}", attempt.client_address),
                    ThrottleRule::SIGN_IN_ADDRESS,
                ),
                (
                    throttle::typed_key("sign-in:account", attempt.email),
                    ThrottleRule::SIGN_IN_ACCOUNT,
                ),
            ],
        };
        let reserved = match throttle::reserve(&self.store, now, keys).await? {
            Ok(reserved) => reserved,
            Err(until) => {
                let account = record.as_ref().map(|r| (r.id, r.organisation_id));
                self.record_attempt(account, &attempt, EventKind::SignInRefused, "paused")
                    .await;
                return Err(SignInError::Paused {
                    minutes: minutes_until(now, until),
                });
            }
        };
        let hash = record
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| auth::DUMMY_HASH.clone());
        let password = attempt.password.clone();
        let verified = self
            .kdf
            .run(move || auth::verify_password(&hash, password.expose_secret()))
            .await?;
        // A registration waiting for approval answers as a wrong password does. Otherwise
        // registering with someone's address and then signing in with the password chosen
        // would tell whether the address already had an account (registration keeps
        // nothing of a taken address, so that sign-in would fail).
        let record = match record {
            Some(record) if verified && record.status != UserStatus::Pending => record,
            other => {
                let pending = verified && other.is_some();
                let account = other.map(|r| (r.id, r.organisation_id));
                let (error, reason) = match reserved.paused_until {
                    Some(until) => (
                        SignInError::Paused {
                            minutes: minutes_until(now, until),
                        },
                        "wrong_credentials_now_paused",
                    ),
                    None if pending => (SignInError::WrongCredentials, "pending_approval"),
                    None => (SignInError::WrongCredentials, "wrong_credentials"),
                };
                self.record_attempt(account, &attempt, EventKind::SignInFailed, reason)
                    .await;
                return Err(error);
            }
        };
        reserved.give_back(&self.store).await?;
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
        let second_factor = self.store.has_second_factor(record.id).await?;
        // A browser becomes known only once it is fully signed in: with a second factor,
        // when the code is accepted (`trust_browser`).
        let device = if second_factor {
            None
        } else {
            Some(self.trust_browser(record.id, known_device).await?)
        };
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
            device,
        })
    }

    /// Remembers a browser that has fully signed in to `user_id`: the token it already had
    /// for this account, or a new one. Returns the token for its device cookie.
    pub async fn trust_browser(
        &self,
        user_id: i64,
        known: Option<String>,
    ) -> anyhow::Result<String> {
        let device = known.unwrap_or_else(|| RandomToken::generate().into_string());
        self.store
            .trust_device(&sha256_hex(device.as_bytes()), user_id, self.clock.now())
            .await?;
        Ok(device)
    }

    /// The browser's device token, if it has signed in to this account before (and
    /// recently enough to be remembered).
    pub async fn known_device(
        &self,
        device: Option<&str>,
        user_id: Option<i64>,
        now: i64,
    ) -> anyhow::Result<Option<String>> {
        let (Some(device), Some(user_id)) = (device, user_id) else {
            return Ok(None);
        };
        let known = self
            .store
            .trusted_device_user(
                &sha256_hex(device.as_bytes()),
                now - DEVICE_REMEMBERED_SECONDS,
            )
            .await?;
        Ok((known == Some(user_id)).then(|| device.to_string()))
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
        on_behalf_of: None,
    };
    origin.event(
        now,
        kind,
        crate::domain::SubjectKind::User,
        account.map(|(id, _)| id),
        serde_json::json!({ "reason": reason, "user_agent": attempt.user_agent }),
    )
}

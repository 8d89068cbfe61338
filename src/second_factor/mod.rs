//! The second factor: TOTP codes from an authenticator app (enrolment with a QR code, each
//! code accepted once), passkeys (`passkeys`), recovery codes, and throttling of wrong
//! attempts. Required for every administrator.

mod passkeys;

pub use passkeys::{PasskeyAdded, PasskeyProblem, PasskeySummary};

use anyhow::Context;
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use std::sync::Arc;

use webauthn_rs::Webauthn;

use crate::accounts::throttle;
use crate::audit::Origin;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{RandomToken, UserIdentity, open_item, seal_item, sha256_hex};
use crate::domain::{EventKind, ThrottleRule, minutes_until};
use crate::store::{NewEvent, Store, UserAccount};

const STEP_SECONDS: u64 = 30;

pub struct Enrolment {
    pub secret: String,
    pub qr_svg: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CodeProblem {
    #[error("Enter the 6-digit code from your authenticator app, or one of your recovery codes")]
    Missing,
    #[error(
        "That code is not right, or it has already been used. Wait for the next code and try again."
    )]
    Wrong,
    #[error(
        "Administrators sign in with a passkey. Use your passkey, or enter one of your recovery codes."
    )]
    PasskeyRequired,
    #[error("Too many wrong codes. Wait {0} minutes, then try again.")]
    Paused(i64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(CodeProblem: crate::crypto::KeyError, crate::store::StoreError);

fn totp(secret: Vec<u8>, email: &str) -> anyhow::Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some("Casemail"))
        .with_account_name(email)
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP setup failed: {e:?}"))
}

/// The time step (within one step of now) whose code is `code`, if any. totp-rs compares
/// in constant time, so timing tells nothing of the right code.
fn matching_step(totp: &Totp, code: &str, now: i64) -> Option<i64> {
    let step = totp.check(code, u64::try_from(now).ok()?)?;
    i64::try_from(step).ok()
}

#[derive(Clone)]
pub struct SecondFactor {
    store: Store,
    clock: Clock,
    config: Arc<Config>,
    /// The relying party passkeys belong to; None when the service is reached by an IP
    /// address, where browsers refuse passkeys.
    webauthn: Option<Arc<Webauthn>>,
}

impl SecondFactor {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock) -> anyhow::Result<Self> {
        let webauthn = passkeys::relying_party(&config)?.map(Arc::new);
        Ok(Self {
            store,
            clock,
            config,
            webauthn,
        })
    }

    /// An administrator who must use a passkey and has one: authenticator codes are
    /// refused for them.
    pub fn passkey_only(&self, user: &UserAccount) -> bool {
        self.config.admins_require_passkey && user.role.is_admin() && user.passkeys > 0
    }

    /// Reserves one attempt at the user's second factor before anything is checked: of
    /// many simultaneous guesses, only as many as the limit allows are checked at all.
    async fn reserve_attempt(
        &self,
        user: &UserAccount,
        now: i64,
        failed: &NewEvent,
    ) -> Result<throttle::Reserved, CodeProblem> {
        let key = format!("second-factor:{}", user.id);
        match throttle::reserve(&self.store, now, vec![(key, ThrottleRule::SECOND_FACTOR)]).await? {
            Ok(reserved) => Ok(reserved),
            Err(until) => {
                self.store.audit(std::slice::from_ref(failed)).await?;
                Err(CodeProblem::Paused(minutes_until(now, until)))
            }
        }
    }

    /// Records a failed attempt; the pause it started, in minutes, if it was the last
    /// one allowed.
    async fn record_failure(
        &self,
        failed: NewEvent,
        reserved: &throttle::Reserved,
        now: i64,
    ) -> Result<Option<i64>, CodeProblem> {
        self.store.audit(&[failed]).await?;
        Ok(reserved.paused_until.map(|until| minutes_until(now, until)))
    }

    /// Starts enrolment (or shows the one in progress, so reloading the page does not
    /// invalidate a code already scanned): a secret kept encrypted to the user until
    /// confirmed.
    pub async fn begin_enrolment(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
    ) -> anyhow::Result<Enrolment> {
        let pending = self.store.totp_state(user.id).await?.pending;
        let existing: Option<Vec<u8>> =
            pending.and_then(|sealed| open_item(identity, &sealed).ok());
        let secret = match existing {
            Some(secret) => secret,
            None => {
                let mut secret = vec![0u8; 20];
                getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
                let sealed = seal_item(&user.public_recipient, &secret)?;
                self.store.set_pending_totp(user.id, &sealed).await?;
                secret
            }
        };
        let totp = totp(secret, &user.email)?;
        let url = totp
            .to_url()
            .map_err(|e| anyhow::anyhow!("otpauth URL: {e:?}"))?;
        let qr = QrCode::new(url.as_bytes())?
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .build();
        Ok(Enrolment {
            secret: totp.secret().to_base32(),
            qr_svg: qr,
        })
    }

    /// Confirms enrolment with a code from the app; returns the one-time recovery codes.
    pub async fn confirm_enrolment(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        code: &str,
        client_address: &str,
    ) -> Result<Vec<String>, CodeProblem> {
        let pending = self
            .store
            .totp_state(user.id)
            .await?
            .pending
            .context("no enrolment in progress")?;
        let secret: Vec<u8> = open_item(identity, &pending)?;
        let now = self.clock.now();
        let step = matching_step(&totp(secret, &user.email)?, code.trim(), now)
            .ok_or(CodeProblem::Wrong)?;
        let (codes, hashes) = fresh_recovery_codes();
        let mut change = self.store.begin(now).await?;
        change.confirm_totp(user.id, step, &hashes).await?;
        change
            .record(&[Origin::user(user, client_address).user_event(
                now,
                EventKind::SecondFactorEnrolled,
                user.id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(codes)
    }

    /// Checks a code (or a recovery code) for a session awaiting the second factor; a right
    /// code lets the session through, in the same change as its record.
    pub async fn check(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        session_token_hash: &str,
        code: &str,
        client_address: &str,
    ) -> Result<(), CodeProblem> {
        let now = self.clock.now();
        let origin = Origin::user(user, client_address);
        let failed = origin.user_event(
            now,
            EventKind::SecondFactorFailed,
            user.id,
            serde_json::json!({}),
        );
        let code = code.trim().replace(' ', "").to_lowercase();
        if code.is_empty() {
            self.store.audit(&[failed]).await?;
            return Err(CodeProblem::Missing);
        }
        let reserved = self.reserve_attempt(user, now, &failed).await?;
        let passkey_only = self.passkey_only(user);
        // With passkeys alone there is no app secret: only recovery codes are codes.
        let step = match self.store.totp_state(user.id).await?.secret {
            Some(secret) if !passkey_only => {
                let secret: Vec<u8> = open_item(identity, &secret)?;
                matching_step(&totp(secret, &user.email)?, &code, now)
            }
            _ => None,
        };
        let mut change = self.store.begin(now).await?;
        let accepted = match step {
            // A code is accepted only for a step later than any accepted before.
            Some(step) => change.advance_totp_step(user.id, step).await?,
            None => {
                change
                    .use_recovery_code(user.id, &sha256_hex(code.as_bytes()), now)
                    .await?
            }
        };
        if accepted {
            change
                .set_second_factor_pending(session_token_hash, false)
                .await?;
            change
                .record(&[origin.user_event(
                    now,
                    EventKind::SecondFactorPassed,
                    user.id,
                    serde_json::json!({}),
                )])
                .await?;
            change.commit().await?;
            reserved.give_back(&self.store).await?;
            return Ok(());
        }
        drop(change);
        match self.record_failure(failed, &reserved, now).await? {
            Some(minutes) => Err(CodeProblem::Paused(minutes)),
            None if passkey_only => Err(CodeProblem::PasskeyRequired),
            None => Err(CodeProblem::Wrong),
        }
    }
}

/// Ten one-time recovery codes, with the digests that are stored.
fn fresh_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..10)
        .map(|_| RandomToken::generate().as_str()[..10].to_lowercase())
        .collect();
    let hashes = codes.iter().map(|c| sha256_hex(c.as_bytes())).collect();
    (codes, hashes)
}

/// The current code for a secret, as an authenticator app shows it; tests and the
/// benchmark play the app with it.
pub fn code_at(secret_base32: &str, email: &str, now: i64) -> anyhow::Result<String> {
    let secret =
        Secret::try_from_base32(secret_base32).map_err(|e| anyhow::anyhow!("bad secret: {e:?}"))?;
    Ok(totp(secret.as_bytes().to_vec(), email)?
        .generate(u64::try_from(now)?)
        .to_string())
}

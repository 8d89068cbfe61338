//! The TOTP second factor: enrolment with a QR code, checking codes (each accepted once),
//! recovery codes, and throttling of wrong codes. Required for every administrator.

use anyhow::Context;
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::crypto::{RandomToken, UserIdentity, sha256_hex};
use crate::state::Casemail;
use crate::store::UserAccount;

const STEP_SECONDS: u64 = 30;
/// Wrong codes allowed in the failure window before the second factor is paused.
pub const CODE_FAILURE_LIMIT: i64 = 5;

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
    #[error("Too many wrong codes. Wait {0} minutes, then try again.")]
    Paused(i64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::crypto::KeyError> for CodeProblem {
    fn from(error: crate::crypto::KeyError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<crate::store::StoreError> for CodeProblem {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

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

/// The time step (within one step of now) whose code is `code`, if any.
fn matching_step(totp: &Totp, code: &str, now: i64) -> Option<i64> {
    let now = u64::try_from(now).ok()?;
    [now.saturating_sub(STEP_SECONDS), now, now + STEP_SECONDS]
        .into_iter()
        .find(|t| totp.generate(*t).to_string() == code)
        .map(|t| (t / STEP_SECONDS) as i64)
}

impl Casemail {
    /// Starts enrolment (or shows the one in progress, so reloading the page does not
    /// invalidate a code already scanned): a secret kept encrypted to the user until
    /// confirmed.
    pub async fn begin_totp_enrolment(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
    ) -> anyhow::Result<Enrolment> {
        let (_, pending, _) = self.store.totp_secret(user.id).await?;
        let existing: Option<Vec<u8>> =
            pending.and_then(|sealed| crate::crypto::open_item(identity, &sealed).ok());
        let secret = match existing {
            Some(secret) => secret,
            None => {
                let mut secret = vec![0u8; 20];
                getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
                let sealed = crate::crypto::seal_item(&user.public_recipient, &secret)?;
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
    pub async fn confirm_totp_enrolment(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        code: &str,
    ) -> Result<Vec<String>, CodeProblem> {
        let (_, pending, _) = self.store.totp_secret(user.id).await?;
        let pending = pending.context("no enrolment in progress")?;
        let secret: Vec<u8> = crate::crypto::open_item(identity, &pending)?;
        let step = matching_step(&totp(secret, &user.email)?, code.trim(), self.clock.now())
            .ok_or(CodeProblem::Wrong)?;
        let codes: Vec<String> = (0..10)
            .map(|_| RandomToken::generate().as_str()[..10].to_lowercase())
            .collect();
        let hashes: Vec<String> = codes.iter().map(|c| sha256_hex(c.as_bytes())).collect();
        self.store.confirm_totp(user.id, step, &hashes).await?;
        Ok(codes)
    }

    /// Checks a code (or a recovery code) for a user whose session awaits the second factor.
    pub async fn check_second_factor(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        code: &str,
    ) -> Result<(), CodeProblem> {
        let code = code.trim().replace(' ', "").to_lowercase();
        if code.is_empty() {
            return Err(CodeProblem::Missing);
        }
        let now = self.clock.now();
        let key = format!("second-factor:{}", user.id);
        if let Some(until) = self.store.sign_in_paused_until(&key, now).await? {
            return Err(CodeProblem::Paused(((until - now) + 59) / 60));
        }
        let (secret, _, _) = self.store.totp_secret(user.id).await?;
        let secret: Vec<u8> =
            crate::crypto::open_item(identity, &secret.context("no second factor enrolled")?)?;
        let accepted = match matching_step(&totp(secret, &user.email)?, &code, now) {
            // A code is accepted only for a step later than any accepted before.
            Some(step) => self.store.advance_totp_step(user.id, step).await?,
            None => {
                self.store
                    .use_recovery_code(user.id, &sha256_hex(code.as_bytes()), now)
                    .await?
            }
        };
        if accepted {
            self.store.clear_sign_in_failures(&key).await?;
            return Ok(());
        }
        let outcome = self
            .store
            .record_sign_in_failure(
                &key,
                now,
                crate::accounts::FAILURE_WINDOW_SECONDS,
                CODE_FAILURE_LIMIT,
                crate::accounts::PAUSE_SECONDS,
            )
            .await?;
        if outcome.paused_until > now {
            return Err(CodeProblem::Paused(
                ((outcome.paused_until - now) + 59) / 60,
            ));
        }
        Err(CodeProblem::Wrong)
    }

    /// The current code for a secret; for tests and the benchmark, which play the
    /// authenticator app.
    pub fn totp_code(secret_base32: &str, email: &str, now: i64) -> anyhow::Result<String> {
        let secret = Secret::try_from_base32(secret_base32)
            .map_err(|e| anyhow::anyhow!("bad secret: {e:?}"))?;
        Ok(totp(secret.as_bytes().to_vec(), email)?
            .generate(u64::try_from(now)?)
            .to_string())
    }
}

//! Passkeys (WebAuthn): a second factor that cannot be phished, because the browser
//! answers only for the domain it was registered at. Several per account, each named;
//! each ceremony's challenge is kept with the session and answered at most once.

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::{CodeProblem, SecondFactor, fresh_recovery_codes};
use crate::audit::Origin;
use crate::config::Config;
use crate::domain::{EventKind, PasskeyName};
use crate::store::{Change, NewPasskey, StoredPasskey, UserAccount};

/// How long a challenge can be answered: long enough to find a security key.
const CEREMONY_SECONDS: i64 = 300;

/// The relying party passkeys are registered with: the public address's domain.
pub(super) fn relying_party(config: &Config) -> anyhow::Result<Option<Webauthn>> {
    let Some(domain) = config.passkey_domain() else {
        return Ok(None);
    };
    let origin = Url::parse(&config.public_url())?;
    let built = WebauthnBuilder::new(&domain, &origin).and_then(|builder| {
        builder
            .rp_name("Casemail")
            .timeout(Duration::from_secs(CEREMONY_SECONDS as u64))
            .build()
    });
    match built {
        Ok(webauthn) => Ok(Some(webauthn)),
        // Passkeys are optional, unless administrators are required to use them.
        Err(e) if !config.admins_require_passkey => {
            tracing::warn!(error = %e, "passkeys are off: the public address does not suit them");
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!(
            "passkeys cannot be set up for {origin}: {e}"
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyProblem {
    #[error("{0}")]
    BadName(&'static str),
    #[error(
        "Passkeys work only when Casemail is reached by its name, not an IP address. Ask your administrator."
    )]
    Unavailable,
    #[error("That passkey request has expired or was already used. Try again.")]
    Expired,
    #[error("Your passkey was not accepted. Try again, or use another passkey.")]
    NotAccepted,
    #[error("That passkey is already registered. Use another passkey, or remove it first.")]
    AlreadyRegistered,
    #[error(
        "You cannot remove your last passkey: your account needs it to sign in. Add another passkey first."
    )]
    LastNeeded,
    #[error("You have no passkey. Enter a code instead.")]
    NoPasskeys,
    #[error("passkey not found")]
    NotFound,
    #[error("Too many failed attempts. Wait {0} minutes, then try again.")]
    Paused(i64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(PasskeyProblem: crate::store::StoreError, serde_json::Error);

impl From<CodeProblem> for PasskeyProblem {
    fn from(problem: CodeProblem) -> Self {
        match problem {
            CodeProblem::Paused(minutes) => Self::Paused(minutes),
            CodeProblem::Internal(e) => Self::Internal(e),
            other => Self::Internal(anyhow::anyhow!("unexpected: {other}")),
        }
    }
}

/// A passkey as its owner sees it in the list.
pub struct PasskeySummary {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub struct PasskeyAdded {
    pub name: String,
    /// New recovery codes, when the account had none left.
    pub recovery_codes: Vec<String>,
}

/// What a session is in the middle of, kept with the session until answered.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Ceremony {
    Registration {
        started: i64,
        name: String,
        state: PasskeyRegistration,
    },
    SignIn {
        started: i64,
        state: PasskeyAuthentication,
    },
}

fn credential_of(row: &StoredPasskey) -> anyhow::Result<Passkey> {
    serde_json::from_str(&row.credential).map_err(|e| anyhow::anyhow!("stored passkey: {e}"))
}

fn credential_id_text(passkey: &Passkey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref())
}

/// Takes the session's ceremony in a change of its own, so that it is spent even when
/// the answer is then refused: a challenge can be answered once.
async fn take_ceremony(
    change: Change,
    session: &str,
    now: i64,
) -> Result<Option<Ceremony>, PasskeyProblem> {
    let mut change = change;
    let state = change.take_passkey_ceremony(session).await?;
    change.commit().await?;
    let Some(state) = state else {
        return Ok(None);
    };
    // A ceremony that cannot be read (left by an earlier release) has simply expired.
    let Ok(ceremony) = serde_json::from_str::<Ceremony>(&state) else {
        return Ok(None);
    };
    let started = match &ceremony {
        Ceremony::Registration { started, .. } | Ceremony::SignIn { started, .. } => *started,
    };
    Ok((now - started <= CEREMONY_SECONDS).then_some(ceremony))
}

impl SecondFactor {
    pub fn passkeys_available(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyProblem> {
        self.webauthn.as_deref().ok_or(PasskeyProblem::Unavailable)
    }

    pub async fn passkeys(
        &self,
        user: &UserAccount,
    ) -> Result<Vec<PasskeySummary>, PasskeyProblem> {
        Ok(self
            .store
            .passkeys(user.id)
            .await?
            .into_iter()
            .map(|row| PasskeySummary {
                id: row.id,
                name: row.name,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
            })
            .collect())
    }

    /// Starts adding a passkey named `name`: the options for the browser, as JSON.
    pub async fn begin_passkey_registration(
        &self,
        user: &UserAccount,
        session: &str,
        name: &str,
    ) -> Result<String, PasskeyProblem> {
        let webauthn = self.webauthn()?;
        let name = PasskeyName::parse(name).map_err(|e| PasskeyProblem::BadName(e.0))?;
        // The browser refuses an authenticator that already holds one of these.
        let registered = self
            .store
            .passkeys(user.id)
            .await?
            .iter()
            .map(|row| credential_of(row).map(|p| p.cred_id().clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let handle = match self.store.passkey_handle(user.id).await? {
            Some(handle) => handle,
            None => {
                self.store
                    .keep_passkey_handle(user.id, &Uuid::new_v4().to_string())
                    .await?
            }
        };
        let handle = Uuid::parse_str(&handle).map_err(|e| anyhow::anyhow!("handle: {e}"))?;
        let (options, state) = webauthn
            .start_passkey_registration(handle, &user.email, &user.name, Some(registered))
            .map_err(|e| anyhow::anyhow!("passkey registration: {e}"))?;
        let ceremony = Ceremony::Registration {
            started: self.clock.now(),
            name: name.as_str().to_string(),
            state,
        };
        self.store
            .start_passkey_ceremony(session, &serde_json::to_string(&ceremony)?)
            .await?;
        Ok(serde_json::to_string(&options)?)
    }

    /// Finishes adding a passkey with the browser's answer (JSON). An account that had
    /// no recovery codes left gets ten, to be shown once: a lost passkey is not the end.
    pub async fn finish_passkey_registration(
        &self,
        user: &UserAccount,
        session: &str,
        answer: &str,
        client_address: &str,
    ) -> Result<PasskeyAdded, PasskeyProblem> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|_| PasskeyProblem::NotAccepted)?;
        let Some(Ceremony::Registration { name, state, .. }) =
            take_ceremony(self.store.begin(now).await?, session, now).await?
        else {
            return Err(PasskeyProblem::Expired);
        };
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                PasskeyProblem::NotAccepted
            })?;
        let mut change = self.store.begin(now).await?;
        let added = change
            .add_passkey(&NewPasskey {
                user_id: user.id,
                credential_id: &credential_id_text(&passkey),
                name: &name,
                credential: &serde_json::to_string(&passkey)?,
                now,
            })
            .await?;
        if !added {
            return Err(PasskeyProblem::AlreadyRegistered);
        }
        let mut recovery_codes = Vec::new();
        if self.store.unused_recovery_codes(user.id).await? == 0 {
            let (codes, hashes) = fresh_recovery_codes();
            change.replace_recovery_codes(user.id, &hashes).await?;
            recovery_codes = codes;
        }
        change
            .record(&[Origin::user(user, client_address).user_event(
                now,
                EventKind::PasskeyAdded,
                user.id,
                serde_json::json!({ "name": name }),
            )])
            .await?;
        change.commit().await?;
        Ok(PasskeyAdded {
            name,
            recovery_codes,
        })
    }

    /// Removes one of the user's own passkeys, unless the account could then not sign in
    /// as it must (an administrator's only second factor, or the passkey they are
    /// required to have).
    pub async fn remove_passkey(
        &self,
        user: &UserAccount,
        id: i64,
        client_address: &str,
    ) -> Result<String, PasskeyProblem> {
        let must_have_second_factor = user.role.is_admin() || self.config.require_second_factor;
        let must_have_passkey = self.config.admins_require_passkey && user.role.is_admin();
        let needs_one = must_have_passkey || (must_have_second_factor && !user.totp_enrolled);
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let theirs = change.lock_passkeys(user.id).await?;
        // Another's passkey is simply not found.
        if !theirs.contains(&id) {
            return Err(PasskeyProblem::NotFound);
        }
        if needs_one && theirs.len() <= 1 {
            return Err(PasskeyProblem::LastNeeded);
        }
        let name = change
            .remove_passkey(user.id, id)
            .await?
            .ok_or(PasskeyProblem::NotFound)?;
        change
            .record(&[Origin::user(user, client_address).user_event(
                now,
                EventKind::PasskeyRemoved,
                user.id,
                serde_json::json!({ "name": name }),
            )])
            .await?;
        change.commit().await?;
        Ok(name)
    }

    /// Starts signing in with a passkey, for a session waiting for its second factor.
    pub async fn begin_passkey_sign_in(
        &self,
        user: &UserAccount,
        session: &str,
    ) -> Result<String, PasskeyProblem> {
        let webauthn = self.webauthn()?;
        let passkeys = self
            .store
            .passkeys(user.id)
            .await?
            .iter()
            .map(credential_of)
            .collect::<anyhow::Result<Vec<_>>>()?;
        if passkeys.is_empty() {
            return Err(PasskeyProblem::NoPasskeys);
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| anyhow::anyhow!("passkey sign-in: {e}"))?;
        let ceremony = Ceremony::SignIn {
            started: self.clock.now(),
            state,
        };
        self.store
            .start_passkey_ceremony(session, &serde_json::to_string(&ceremony)?)
            .await?;
        Ok(serde_json::to_string(&options)?)
    }

    /// Checks the browser's answer to the sign-in challenge; a right answer lets the
    /// session through, throttled like codes.
    pub async fn finish_passkey_sign_in(
        &self,
        user: &UserAccount,
        session: &str,
        answer: &str,
        client_address: &str,
    ) -> Result<(), PasskeyProblem> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let origin = Origin::user(user, client_address);
        let failed = origin.user_event(
            now,
            EventKind::SecondFactorFailed,
            user.id,
            serde_json::json!({ "method": "passkey" }),
        );
        let reserved = self.reserve_attempt(user, now, &failed).await?;
        let ceremony = take_ceremony(self.store.begin(now).await?, session, now).await?;
        let verified = match (
            ceremony,
            serde_json::from_str::<PublicKeyCredential>(answer),
        ) {
            (Some(Ceremony::SignIn { state, .. }), Ok(answer)) => webauthn
                .finish_passkey_authentication(&answer, &state)
                .inspect_err(|e| tracing::info!(error = %e, "passkey sign-in refused"))
                .ok(),
            _ => None,
        };
        let Some(result) = verified else {
            return Err(match self.record_failure(failed, &reserved, now).await? {
                Some(minutes) => PasskeyProblem::Paused(minutes),
                None => PasskeyProblem::NotAccepted,
            });
        };
        let mut used = None;
        for row in self.store.passkeys(user.id).await? {
            let mut passkey = credential_of(&row)?;
            if passkey.cred_id() == result.cred_id() {
                passkey.update_credential(&result);
                used = Some((row, passkey));
                break;
            }
        }
        // Removed while the person was signing in: not accepted.
        let Some((row, passkey)) = used else {
            self.record_failure(failed, &reserved, now).await?;
            return Err(PasskeyProblem::NotAccepted);
        };
        self.store
            .passkey_used(user.id, row.id, &serde_json::to_string(&passkey)?, now)
            .await?;
        let mut change = self.store.begin(now).await?;
        change.set_second_factor_pending(session, false).await?;
        change
            .record(&[origin.user_event(
                now,
                EventKind::SecondFactorPassed,
                user.id,
                serde_json::json!({ "method": "passkey", "passkey": row.name }),
            )])
            .await?;
        change.commit().await?;
        reserved.give_back(&self.store).await?;
        Ok(())
    }
}

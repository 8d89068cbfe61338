//! Joining Casemail: defence solicitors register themselves and wait for approval; others
//! accept an invitation from an administrator; the first service administrator uses the
//! one-time setup link (or the command line).

use super::{AccountDraft, Accounts, CreateAccountError, throttle};
use crate::audit::Origin;
use crate::crypto::{RandomToken, sha256_hex};
use crate::domain::{
    EmailAddress, EventKind, Jurisdiction, OrganisationKind, OrganisationName, Password,
    PersonName, ThrottleRule, UserStatus, minutes_until,
};
use crate::store::settings::SETUP_TOKEN_HASH;
use crate::store::{Change, InvitationRow, NewNotification, OrganisationListing};

/// The firm a registering solicitor belongs to.
pub enum Firm {
    Existing(i64),
    /// A firm not yet in Casemail, added unapproved with its first solicitor.
    New {
        name: OrganisationName,
        area: Jurisdiction,
    },
}

pub struct Registration {
    pub name: PersonName,
    pub email: EmailAddress,
    pub firm: Firm,
    pub professional_reference: String,
    pub password: Password,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationProblem {
    #[error("Choose your firm, or add it if it is not listed")]
    UnknownFirm,
    #[error("A firm with this name is already registered: choose it from the list")]
    FirmTaken,
    #[error(
        "There have been too many registrations from your network. Wait {0} minutes, then try again."
    )]
    Paused(i64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum InvitationProblem {
    #[error(
        "This invitation link has expired or has already been used. Ask your administrator to send a new one."
    )]
    NotUsable,
    #[error("There is already an account with this email address. Sign in instead.")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The first administrator, as typed on the setup page.
pub struct FirstAdministrator {
    pub name: PersonName,
    pub email: EmailAddress,
    pub organisation: OrganisationName,
    pub password: Password,
}

internal_from!(RegistrationProblem: crate::store::StoreError);

internal_from!(InvitationProblem: crate::store::StoreError);

impl From<CreateAccountError> for InvitationProblem {
    fn from(error: CreateAccountError) -> Self {
        match error {
            CreateAccountError::EmailTaken => Self::EmailTaken,
            CreateAccountError::Internal(e) => Self::Internal(e),
        }
    }
}

impl Accounts {
    /// The approved defence firms a solicitor can register with.
    pub async fn registrable_firms(&self) -> anyhow::Result<Vec<OrganisationListing>> {
        Ok(self
            .store
            .all_organisations()
            .await?
            .into_iter()
            .filter(|o| o.kind == OrganisationKind::Defence && o.approved)
            .collect())
    }

    /// Registers a defence solicitor, pending approval, with their firm (added unapproved
    /// if new): all in one change, so a failure leaves no firm or account behind. Returns
    /// the recovery code to show once.
    ///
    /// The answer does not tell whether the address already has an account: if it has,
    /// nothing is created, the page looks the same (with a code that opens nothing), and
    /// the address's owner is told by email. Each client address may register only a few
    /// times an hour, since each try costs a password hash and a new key pair.
    pub async fn register(
        &self,
        registration: Registration,
        client_address: &str,
    ) -> Result<String, RegistrationProblem> {
        let now = self.clock.now();
        let key = format!("register:address:{client_address}");
        if let Err(until) = throttle::reserve(
            &self.store,
            now,
            vec![(key, ThrottleRule::REGISTRATION_ADDRESS)],
        )
        .await?
        {
            return Err(RegistrationProblem::Paused(minutes_until(now, until)));
        }
        if let Firm::Existing(id) = registration.firm
            && !self.registrable_firms().await?.iter().any(|f| f.id == id)
        {
            return Err(RegistrationProblem::UnknownFirm);
        }
        let keys = self.new_account_keys(&registration.password, true).await?;
        let code = keys
            .code
            .clone()
            .ok_or_else(|| anyhow::anyhow!("a recovery code was asked for"))?;
        let email = registration.email.clone();
        let mut change = self.store.begin(now).await?;
        let organisation_id = match &registration.firm {
            Firm::Existing(id) => *id,
            Firm::New { name, area } => {
                change
                    .create_pending_firm(name, area, now)
                    .await?
                    .ok_or(RegistrationProblem::FirmTaken)?
                    .id
            }
        };
        let draft = AccountDraft {
            organisation_id,
            email: registration.email,
            name: registration.name,
            is_admin: false,
            status: UserStatus::Pending,
            password: registration.password,
        };
        let user_id = match self.insert_account(&mut change, &draft, &keys).await {
            Ok(user_id) => user_id,
            Err(CreateAccountError::EmailTaken) => {
                // Nothing of this registration is kept, not even a new firm.
                drop(change);
                self.tell_owner_of_registration(&email, client_address)
                    .await?;
                return Ok(code);
            }
            Err(CreateAccountError::Internal(error)) => return Err(error.into()),
        };
        change
            .set_professional_reference(user_id, &registration.professional_reference)
            .await?;
        let origin = Origin {
            actor_id: Some(user_id),
            actor_org_id: Some(organisation_id),
            client_address: client_address.to_string(),
            on_behalf_of: None,
        };
        change
            .record(&[origin.user_event(
                now,
                EventKind::Registered,
                user_id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(code)
    }

    /// Someone registered with the address of an existing account: its owner hears of it
    /// (at most once a day), and the audit records it against the account.
    async fn tell_owner_of_registration(
        &self,
        email: &EmailAddress,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let Some(owner) = self.store.sign_in_record(email).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let base = self.config.public_url();
        let body = format!(
            "Someone tried to register a new Casemail account with this email address. You \
             already have an account, so nothing was created and nothing has changed.\n\n\
             If it was you, sign in at {base}/sign-in. If you have forgotten your password, \
             use your recovery code at {base}/recover, or ask an administrator of your \
             organisation.\n\nIf it was not you, you need do nothing.\n"
        );
        let origin = Origin {
            actor_id: None,
            actor_org_id: None,
            client_address: client_address.to_string(),
            on_behalf_of: None,
        };
        let mut change = self.store.begin(now).await?;
        change
            .notify(&[NewNotification {
                recipient: email.to_string(),
                subject: "Someone tried to register with your address".into(),
                body,
                dedupe_key: Some(format!(
                    "registration-attempt:{}:{}",
                    owner.id,
                    now / 86_400
                )),
            }])
            .await?;
        change
            .record(&[origin.user_event(
                now,
                EventKind::RegistrationAddressTaken,
                owner.id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// The invitation behind a link, while it can still be used.
    pub async fn live_invitation(&self, token: &str) -> Result<InvitationRow, InvitationProblem> {
        let invitation = self
            .store
            .invitation_by_token(&sha256_hex(token.as_bytes()))
            .await?
            .ok_or(InvitationProblem::NotUsable)?;
        if invitation.accepted_at.is_some() || invitation.expires_at <= self.clock.now() {
            return Err(InvitationProblem::NotUsable);
        }
        Ok(invitation)
    }

    /// Creates the invited person's account with the password they chose; the link is spent
    /// in the same change. Returns the recovery code to show once.
    pub async fn accept_invitation(
        &self,
        token: &str,
        password: Password,
        client_address: &str,
    ) -> Result<String, InvitationProblem> {
        let invitation = self.live_invitation(token).await?;
        let draft = AccountDraft {
            organisation_id: invitation.organisation_id,
            email: EmailAddress::parse(&invitation.email).map_err(anyhow::Error::from)?,
            name: PersonName::parse(&invitation.name).map_err(anyhow::Error::from)?,
            is_admin: invitation.is_admin,
            status: UserStatus::Active,
            password,
        };
        let keys = self.new_account_keys(&draft.password, true).await?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if !change.accept_invitation(invitation.id, now).await? {
            return Err(InvitationProblem::NotUsable);
        }
        let user_id = self.insert_account(&mut change, &draft, &keys).await?;
        let origin = Origin {
            actor_id: Some(user_id),
            actor_org_id: Some(invitation.organisation_id),
            client_address: client_address.to_string(),
            on_behalf_of: None,
        };
        change
            .record(&[origin.user_event(
                now,
                EventKind::InvitationAccepted,
                user_id,
                serde_json::json!({ "invitation": invitation.id }),
            )])
            .await?;
        change.commit().await?;
        keys.code
            .ok_or_else(|| anyhow::anyhow!("a recovery code was asked for").into())
    }

    /// A new single-use setup link (replacing any earlier one) for creating the first
    /// service administrator in the browser.
    pub async fn issue_setup_link(&self) -> anyhow::Result<String> {
        let token = RandomToken::generate();
        self.store
            .set_setting(SETUP_TOKEN_HASH, &sha256_hex(token.as_str().as_bytes()))
            .await?;
        Ok(format!(
            "{}/setup/{}",
            self.config.public_url(),
            token.as_str()
        ))
    }

    /// Whether no account exists yet (a first start).
    pub async fn is_empty(&self) -> anyhow::Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// The link is valid while no account exists and it is the latest one issued.
    pub async fn setup_link_is_valid(&self, token: &str) -> anyhow::Result<bool> {
        let stored = self.store.setting(SETUP_TOKEN_HASH).await?;
        Ok(
            stored.as_deref() == Some(sha256_hex(token.as_bytes()).as_str())
                && self.is_empty().await?,
        )
    }

    /// Creates the first service administrator through the setup link, spending the link
    /// in the same change. None when the link is no longer valid. Returns the id and the
    /// recovery code to show once.
    pub async fn create_first_administrator(
        &self,
        token: &str,
        admin: FirstAdministrator,
        client_address: &str,
    ) -> Result<Option<(i64, String)>, CreateAccountError> {
        if !self.setup_link_is_valid(token).await? {
            return Ok(None);
        }
        let keys = self.new_account_keys(&admin.password, true).await?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if !change
            .take_setting(SETUP_TOKEN_HASH, &sha256_hex(token.as_bytes()))
            .await?
        {
            return Ok(None);
        }
        let organisation_id = self
            .service_organisation(&mut change, &admin.organisation, now)
            .await?;
        let draft = AccountDraft {
            organisation_id,
            email: admin.email,
            name: admin.name,
            is_admin: true,
            status: UserStatus::Active,
            password: admin.password,
        };
        let user_id = self.insert_account(&mut change, &draft, &keys).await?;
        let origin = Origin {
            actor_id: Some(user_id),
            actor_org_id: Some(organisation_id),
            client_address: client_address.to_string(),
            on_behalf_of: None,
        };
        change
            .record(&[origin.user_event(
                now,
                EventKind::FirstAdministratorCreated,
                user_id,
                serde_json::json!({}),
            )])
            .await?;
        change.commit().await?;
        let code = keys
            .code
            .ok_or_else(|| anyhow::anyhow!("a recovery code was asked for"))?;
        Ok(Some((user_id, code)))
    }

    /// Creates a service administrator from the command line (scripted installs): the
    /// service organisation is created if it does not exist. Returns the id and the
    /// recovery code to show once.
    pub async fn create_service_admin(
        &self,
        email: EmailAddress,
        name: PersonName,
        organisation: &OrganisationName,
        password: Password,
    ) -> Result<(i64, String), CreateAccountError> {
        let keys = self.new_account_keys(&password, true).await?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let organisation_id = self
            .service_organisation(&mut change, organisation, now)
            .await?;
        let draft = AccountDraft {
            organisation_id,
            email,
            name,
            is_admin: true,
            status: UserStatus::Active,
            password,
        };
        let user_id = self.insert_account(&mut change, &draft, &keys).await?;
        change.commit().await?;
        let code = keys
            .code
            .ok_or_else(|| anyhow::anyhow!("a recovery code was asked for"))?;
        Ok((user_id, code))
    }

    async fn service_organisation(
        &self,
        change: &mut Change,
        name: &OrganisationName,
        now: i64,
    ) -> anyhow::Result<i64> {
        if let Some(existing) = self.store.organisation_by_name(name.as_str()).await? {
            return Ok(existing.id);
        }
        let created = change
            .create_organisation(
                OrganisationKind::Service,
                name,
                &Jurisdiction::parse("")?,
                now,
            )
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("the organisation {} was created meanwhile", name.as_str())
            })?;
        Ok(created.id)
    }
}

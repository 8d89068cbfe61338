//! Cases: creating them, sharing their encrypted details with participants, access
//! requests from defence agents, and tagging threads.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::crypto::UserIdentity;
use crate::domain::{CaseReference, OrganisationKind, Side};
use crate::state::Casemail;
use crate::store::{CaseRow, ParticipantCopy, UserAccount};

/// What participants see of a case beyond its reference and court.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseDetails {
    pub title: String,
    pub accused: String,
    pub charges: Vec<String>,
}

pub struct NewCase {
    pub reference: CaseReference,
    pub court: String,
    pub details: CaseDetails,
}

#[derive(Debug, thiserror::Error)]
pub enum CaseProblem {
    #[error("Only prosecution staff can do this.")]
    ProsecutionOnly,
    #[error("Your office already has a case with the reference {0}.")]
    DuplicateReference(String),
    #[error("There is no active Casemail account for {0}.")]
    UnknownPerson(String),
    #[error("{0} already takes part in this case.")]
    AlreadyParticipant(String),
    #[error(
        "Only staff of the prosecution office that owns the case and defence agents can take part in it."
    )]
    WrongOrganisation,
    #[error("{0} does not take part in this case. Add them to the case first.")]
    NotParticipant(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::crypto::KeyError> for CaseProblem {
    fn from(error: crate::crypto::KeyError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<crate::store::StoreError> for CaseProblem {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

impl CaseRow {
    pub fn side(&self) -> Side {
        Side::parse(&self.side).unwrap_or(Side::Defence)
    }
}

impl Casemail {
    /// Creates a case owned by the actor's prosecution office; every active member of the
    /// office takes part and gets their own encrypted copy of the details.
    pub async fn create_case(
        &self,
        actor: &UserAccount,
        case: NewCase,
    ) -> Result<i64, CaseProblem> {
        if actor.organisation.kind != OrganisationKind::Prosecution {
            return Err(CaseProblem::ProsecutionOnly);
        }
        let mut copies = Vec::new();
        for (user_id, public_key) in self.store.active_staff(actor.organisation.id).await? {
            copies.push(ParticipantCopy {
                user_id,
                side: Side::Prosecution.as_str(),
                details: crate::crypto::seal_item(&public_key, &case.details)?,
            });
        }
        let created = self
            .store
            .create_case(
                actor.organisation.id,
                case.reference.as_str(),
                &case.court,
                actor.id,
                self.clock.now(),
                &copies,
            )
            .await?;
        created.ok_or_else(|| CaseProblem::DuplicateReference(case.reference.as_str().to_string()))
    }

    /// The case if the user takes part in it, with their copy of the details opened.
    pub async fn case_for(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
    ) -> anyhow::Result<Option<(CaseRow, CaseDetails)>> {
        let Some(row) = self.store.case_for_user(user.id, case_id).await? else {
            return Ok(None);
        };
        let details = crate::crypto::open_item(identity, &row.details).unwrap_or_default();
        Ok(Some((row, details)))
    }

    /// Adds someone to a case, re-encrypting the details for them with the actor's copy.
    pub async fn add_participant(
        &self,
        actor: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
        email: &str,
    ) -> Result<i64, CaseProblem> {
        let (case, details) = self
            .case_for(actor, identity, case_id)
            .await?
            .context("case not visible to actor")?;
        if case.side() != Side::Prosecution {
            return Err(CaseProblem::ProsecutionOnly);
        }
        let email = crate::domain::EmailAddress::parse(email)
            .map_err(|_| CaseProblem::UnknownPerson(email.to_string()))?;
        let record = self
            .store
            .address_record(&email)
            .await?
            .filter(|r| r.can_receive())
            .ok_or_else(|| CaseProblem::UnknownPerson(email.to_string()))?;
        let account = self
            .store
            .user_account(record.id)
            .await?
            .context("account vanished")?;
        let side = if account.organisation.id == case.organisation_id {
            Side::Prosecution
        } else if account.organisation.kind == OrganisationKind::Defence {
            Side::Defence
        } else {
            return Err(CaseProblem::WrongOrganisation);
        };
        self.share_case(actor, case_id, &account, side, &details)
            .await?
            .then_some(account.id)
            .ok_or_else(|| CaseProblem::AlreadyParticipant(email.to_string()))
    }

    async fn share_case(
        &self,
        actor: &UserAccount,
        case_id: i64,
        with: &UserAccount,
        side: Side,
        details: &CaseDetails,
    ) -> anyhow::Result<bool> {
        let copy = ParticipantCopy {
            user_id: with.id,
            side: side.as_str(),
            details: crate::crypto::seal_item(&with.public_recipient, details)?,
        };
        Ok(self
            .store
            .add_participant(case_id, &copy, actor.id, self.clock.now())
            .await?)
    }

    /// Accepts or declines a defence agent's request to join; accepting shares the details.
    pub async fn decide_access_request(
        &self,
        actor: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
        request_id: i64,
        accept: bool,
    ) -> Result<Option<i64>, CaseProblem> {
        let (case, details) = self
            .case_for(actor, identity, case_id)
            .await?
            .context("case not visible to actor")?;
        if case.side() != Side::Prosecution {
            return Err(CaseProblem::ProsecutionOnly);
        }
        let Some(user_id) = self
            .store
            .decide_access_request(case_id, request_id, accept, actor.id, self.clock.now())
            .await?
        else {
            return Ok(None);
        };
        if accept {
            let account = self
                .store
                .user_account(user_id)
                .await?
                .context("requester")?;
            self.share_case(actor, case_id, &account, Side::Defence, &details)
                .await?;
        }
        Ok(Some(user_id))
    }

    /// Checks that everyone a case-tagged message goes to takes part in the case.
    pub async fn check_case_addressees(
        &self,
        case_id: i64,
        emails: impl Iterator<Item = &str>,
    ) -> Result<(), CaseProblem> {
        let participants = self.store.participants(case_id).await?;
        for email in emails {
            if !participants.iter().any(|p| p.email == email) {
                return Err(CaseProblem::NotParticipant(email.to_string()));
            }
        }
        Ok(())
    }

    /// Tags a thread with a case: the actor must take part in both, and so must everyone
    /// holding a copy of the thread (otherwise it would vanish from their mailbox).
    pub async fn tag_thread(
        &self,
        actor: &UserAccount,
        thread_id: i64,
        case_id: i64,
    ) -> Result<bool, CaseProblem> {
        if self.store.case_for_user(actor.id, case_id).await?.is_none()
            || self
                .store
                .thread_for_user(actor.id, thread_id)
                .await?
                .is_empty()
        {
            return Ok(false);
        }
        let members = self.store.thread_members(thread_id).await?;
        self.check_case_addressees(case_id, members.iter().map(|(_, email)| email.as_str()))
            .await?;
        self.store.tag_thread(thread_id, case_id).await?;
        Ok(true)
    }
}

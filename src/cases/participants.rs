//! Who takes part in a case: participants added (each given their own encrypted copy of
//! the details) and removed by the prosecution, and defence agents asking to join.

use anyhow::Context;

use super::{CaseDetails, CaseProblem, Cases, record};
use crate::crypto::{UserIdentity, seal_item};
use crate::domain::{CaseReference, EmailAddress, EventKind, OrganisationKind, Side};
use crate::store::{Change, ParticipantCopy, UserAccount};

impl Cases {
    /// Adds someone to a case, re-encrypting the details for them with the actor's copy.
    pub async fn add_participant(
        &self,
        actor: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
        email: &str,
        client_address: &str,
    ) -> Result<i64, CaseProblem> {
        self.prosecution_case(actor, case_id).await?;
        let keys = self.intake.keys(actor, identity).await?;
        let (case, details) = self
            .case_for(actor, &keys, case_id)
            .await?
            .ok_or(CaseProblem::NotFound)?;
        let email = EmailAddress::parse(email)
            .map_err(|_| CaseProblem::UnknownPerson(email.to_string()))?;
        let addressee = self
            .store
            .address_record(&email)
            .await?
            .filter(|r| r.can_receive())
            .ok_or_else(|| CaseProblem::UnknownPerson(email.to_string()))?;
        let account = self
            .store
            .user_account(addressee.id)
            .await?
            .context("account vanished")?;
        let side = if account.organisation.id == case.organisation_id {
            Side::Prosecution
        } else if account.organisation.kind == OrganisationKind::Defence {
            Side::Defence
        } else {
            return Err(CaseProblem::WrongOrganisation);
        };
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if !self
            .share(&mut change, actor, case_id, &account, side, &details, now)
            .await?
        {
            return Err(CaseProblem::AlreadyParticipant(email.to_string()));
        }
        record(
            &mut change,
            actor,
            client_address,
            EventKind::CaseParticipantAdded,
            case_id,
            serde_json::json!({ "user": account.id }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(account.id)
    }

    /// Gives the case to a team mailbox of its office (adding the team to the case, its
    /// copy of the details sealed to the team), or to no team with None. Letters written
    /// "to the case" then reach that team.
    pub async fn give_to_team(
        &self,
        actor: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
        team_id: Option<i64>,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        self.prosecution_case(actor, case_id).await?;
        let keys = self.intake.keys(actor, identity).await?;
        let (case, details) = self
            .case_for(actor, &keys, case_id)
            .await?
            .ok_or(CaseProblem::NotFound)?;
        let team = match team_id {
            Some(id) => Some(
                self.store
                    .user_account(id)
                    .await?
                    .filter(|t| t.is_team && t.organisation.id == case.organisation_id)
                    .ok_or(CaseProblem::NotFound)?,
            ),
            None => None,
        };
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if let Some(team) = &team
            && self.store.case_for_user(team.id, case_id).await?.is_none()
        {
            self.share(
                &mut change,
                actor,
                case_id,
                team,
                Side::Prosecution,
                &details,
                now,
            )
            .await?;
        }
        change
            .set_case_team(case_id, team.as_ref().map(|t| t.id))
            .await?;
        record(
            &mut change,
            actor,
            client_address,
            EventKind::CaseGivenToTeam,
            case_id,
            serde_json::json!({ "team": team_id }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn share(
        &self,
        change: &mut Change,
        actor: &UserAccount,
        case_id: i64,
        with: &UserAccount,
        side: Side,
        details: &CaseDetails,
        now: i64,
    ) -> Result<bool, CaseProblem> {
        let copy = ParticipantCopy {
            user_id: with.id,
            side,
            details: seal_item(&with.public_recipient, details)?,
        };
        Ok(change
            .add_participant(case_id, &copy, actor.id, now)
            .await?)
    }

    /// Removes a participant (not oneself).
    pub async fn remove_participant(
        &self,
        actor: &UserAccount,
        case_id: i64,
        user_id: i64,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        self.prosecution_case(actor, case_id).await?;
        if user_id == actor.id {
            return Err(CaseProblem::RemovingYourself);
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if change.remove_participant(case_id, user_id).await? {
            record(
                &mut change,
                actor,
                client_address,
                EventKind::CaseParticipantRemoved,
                case_id,
                serde_json::json!({ "user": user_id }),
                now,
            )
            .await?;
        }
        change.commit().await?;
        Ok(())
    }

    /// Accepts or declines a defence agent's request to join; accepting shares the details.
    pub async fn decide_access_request(
        &self,
        actor: &UserAccount,
        identity: &UserIdentity,
        case_id: i64,
        request_id: i64,
        accept: bool,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        self.prosecution_case(actor, case_id).await?;
        let keys = self.intake.keys(actor, identity).await?;
        let (_, details) = self
            .case_for(actor, &keys, case_id)
            .await?
            .ok_or(CaseProblem::NotFound)?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let Some(user_id) = change
            .decide_access_request(case_id, request_id, accept, actor.id, now)
            .await?
        else {
            // Already decided, perhaps by a colleague.
            return Ok(());
        };
        if accept {
            let account = self
                .store
                .user_account(user_id)
                .await?
                .context("requester")?;
            self.share(
                &mut change,
                actor,
                case_id,
                &account,
                Side::Defence,
                &details,
                now,
            )
            .await?;
        }
        let kind = if accept {
            EventKind::CaseRequestAccepted
        } else {
            EventKind::CaseRequestDeclined
        };
        record(
            &mut change,
            actor,
            client_address,
            kind,
            case_id,
            serde_json::json!({ "user": user_id }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(())
    }

    /// Prosecution offices a defence agent can ask to join a case of.
    pub async fn offices(&self) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(self
            .store
            .organisations_of_kind(OrganisationKind::Prosecution)
            .await?)
    }

    /// A defence agent asks to join a case. Nothing tells whether the case exists, so
    /// references cannot be probed.
    pub async fn request_access(
        &self,
        actor: &UserAccount,
        office: i64,
        reference: &CaseReference,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        if actor.organisation.kind != OrganisationKind::Defence {
            return Err(CaseProblem::WrongOrganisation);
        }
        let Some(case_id) = self.store.find_case(office, reference.as_str()).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if change.request_case_access(case_id, actor.id, now).await? {
            record(
                &mut change,
                actor,
                client_address,
                EventKind::CaseAccessRequested,
                case_id,
                serde_json::json!({}),
                now,
            )
            .await?;
        }
        change.commit().await?;
        Ok(())
    }
}

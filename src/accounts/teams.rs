//! Team mailboxes: an organisation's administrator creates one with its first members;
//! its identity is generated here, wrapped to each member and dropped, so the
//! administrator keeps nothing that opens the team's mail. A manager adds members in
//! their own session (unwrapping the team's identity and wrapping it to the newcomer)
//! and removes them, optionally rotating the key so that later mail is sealed to a key
//! the removed member never held.

use super::Accounts;
use super::delegation::DelegatedMailbox;
use crate::audit::Origin;
use crate::crypto::{MailboxKey, UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, EventKind, PersonName, Role, UserStatus};
use crate::store::{ActingDelegate, Change, MemberRow, NewTeam, TeamRow, UserAccount};

#[derive(Debug, thiserror::Error)]
pub enum TeamProblem {
    #[error("Enter the team's name")]
    BadName,
    #[error("Enter the team's address, like summary.team@{0}")]
    BadAddress(String),
    #[error("The team's address must end @{0}, your organisation's domain")]
    OtherDomain(String),
    #[error("{0} is already in use. Choose another address.")]
    AddressTaken(String),
    #[error("Name at least one manager: managers add and remove the team's members")]
    NoManager,
    #[error("{0} is not a valid email address")]
    BadMember(String),
    #[error("There is no active Casemail account for {0} in your organisation")]
    NotColleague(String),
    #[error("{0} is already a member of the team")]
    AlreadyMember(String),
    #[error("The team must keep at least one manager")]
    LastManager,
    #[error("Only administrators can create team mailboxes")]
    NotAdministrator,
    #[error("Only the team's managers can change its members")]
    NotManager,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(TeamProblem: crate::store::StoreError, crate::crypto::KeyError);

/// A team mailbox as an administrator describes it.
pub struct TeamDraft<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// Addresses, one per line or separated by commas.
    pub members: &'a str,
    pub managers: &'a str,
}

impl Accounts {
    /// Creates a team mailbox in the administrator's organisation; returns its id.
    pub async fn create_team(
        &self,
        admin: &UserAccount,
        draft: &TeamDraft<'_>,
        client_address: &str,
    ) -> Result<i64, TeamProblem> {
        if !admin.role.is_admin() || admin.acting_delegate.is_some() {
            return Err(TeamProblem::NotAdministrator);
        }
        let domain = admin
            .email
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_string();
        let name = PersonName::parse(draft.name).map_err(|_| TeamProblem::BadName)?;
        let email = EmailAddress::parse(draft.email)
            .map_err(|_| TeamProblem::BadAddress(domain.clone()))?;
        if !email.as_str().ends_with(&format!("@{domain}")) {
            return Err(TeamProblem::OtherDomain(domain));
        }
        if self.store.address_record(&email).await?.is_some() {
            return Err(TeamProblem::AddressTaken(email.to_string()));
        }
        let managers = self.colleagues(admin, draft.managers).await?;
        if managers.is_empty() {
            return Err(TeamProblem::NoManager);
        }
        let members: Vec<UserAccount> = self
            .colleagues(admin, draft.members)
            .await?
            .into_iter()
            .filter(|m| !managers.iter().any(|k| k.id == m.id))
            .collect();
        let identity = UserIdentity::generate();
        let recovery_recipient = self.recovery_recipient().await?;
        let wrapped_recovery = identity.wrap_to(&parse_recipient(&recovery_recipient)?)?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let Some(team_id) = change
            .create_team(&NewTeam {
                organisation_id: admin.organisation.id,
                email: &email,
                name: &name,
                public_recipient: &identity.recipient(),
                identity_wrapped_recovery: &wrapped_recovery,
                recovery_recipient: &recovery_recipient,
            })
            .await?
        else {
            return Err(TeamProblem::AddressTaken(email.to_string()));
        };
        let origin = Origin::user(admin, client_address);
        let mut events =
            vec![origin.user_event(now, EventKind::TeamCreated, team_id, serde_json::json!({}))];
        for (member, is_manager) in managers
            .iter()
            .map(|m| (m, true))
            .chain(members.iter().map(|m| (m, false)))
        {
            add(&mut change, team_id, &identity, member, is_manager).await?;
            events.push(member_event(
                &origin,
                now,
                EventKind::TeamMemberAdded,
                team_id,
                member.id,
                is_manager,
            ));
        }
        change.record(&events).await?;
        change.commit().await?;
        Ok(team_id)
    }

    /// Adds a member, in the session of a manager who holds the team's identity.
    pub async fn add_team_member(
        &self,
        manager: &UserAccount,
        manager_identity: &UserIdentity,
        team_id: i64,
        email: &str,
        as_manager: bool,
        client_address: &str,
    ) -> Result<(), TeamProblem> {
        let team_identity = self
            .managed_team(manager, manager_identity, team_id)
            .await?;
        let member = self
            .colleagues(manager, email)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| TeamProblem::BadMember(email.trim().to_string()))?;
        if self.store.membership(team_id, member.id).await?.is_some() {
            return Err(TeamProblem::AlreadyMember(member.name));
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        add(&mut change, team_id, &team_identity, &member, as_manager).await?;
        change
            .record(&[member_event(
                &Origin::user(manager, client_address),
                now,
                EventKind::TeamMemberAdded,
                team_id,
                member.id,
                as_manager,
            )])
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Removes a member at once (their sessions leave the mailbox). With `rotate`, the
    /// team gets a new key, wrapped to the members who remain, and its mailbox key a new
    /// sealing key: what arrives later opens only for them. False when not a member.
    pub async fn remove_team_member(
        &self,
        manager: &UserAccount,
        manager_identity: &UserIdentity,
        team_id: i64,
        member_id: i64,
        rotate: bool,
        client_address: &str,
    ) -> Result<bool, TeamProblem> {
        let team_identity = self
            .managed_team(manager, manager_identity, team_id)
            .await?;
        let members = self.store.team_members(team_id).await?;
        let Some(leaving) = members.iter().find(|m| m.member_id == member_id) else {
            return Ok(false);
        };
        let remaining: Vec<&MemberRow> = members
            .iter()
            .filter(|m| m.member_id != member_id)
            .collect();
        if leaving.is_manager() && !remaining.iter().any(|m| m.is_manager()) {
            return Err(TeamProblem::LastManager);
        }
        let now = self.clock.now();
        let origin = Origin::user(manager, client_address);
        let mut change = self.store.begin(now).await?;
        change.remove_member(team_id, member_id).await?;
        let mut events = vec![member_event(
            &origin,
            now,
            EventKind::TeamMemberRemoved,
            team_id,
            member_id,
            leaving.is_manager(),
        )];
        if rotate {
            self.rotate(&mut change, team_id, &team_identity, &remaining)
                .await?;
            events.push(origin.user_event(
                now,
                EventKind::TeamKeyRotated,
                team_id,
                serde_json::json!({ "members": remaining.len() }),
            ));
        }
        change.record(&events).await?;
        change.commit().await?;
        Ok(true)
    }

    async fn rotate(
        &self,
        change: &mut Change,
        team_id: i64,
        team_identity: &UserIdentity,
        remaining: &[&MemberRow],
    ) -> Result<(), TeamProblem> {
        let rotated = team_identity.rotated();
        let recovery_recipient = self.recovery_recipient().await?;
        let wrapped_recovery = rotated.wrap_to(&parse_recipient(&recovery_recipient)?)?;
        change
            .rotate_team_key(
                team_id,
                &rotated.recipient(),
                &wrapped_recovery,
                &recovery_recipient,
            )
            .await?;
        for member in remaining {
            let account = self
                .store
                .user_account(member.member_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("a team member's account is missing"))?;
            let wrapped = rotated.wrap_to(&parse_recipient(&account.public_recipient)?)?;
            change
                .rewrap_member(team_id, member.member_id, &wrapped)
                .await?;
        }
        if let Some(wrapped) = self.store.mailbox_key(team_id).await? {
            let key = MailboxKey::unwrap(team_identity, &wrapped)?.rotated()?;
            change
                .replace_mailbox_key(team_id, &key.wrap(&rotated.recipient())?)
                .await?;
        }
        Ok(())
    }

    /// The team's identity, for a manager working in their own session.
    async fn managed_team(
        &self,
        manager: &UserAccount,
        manager_identity: &UserIdentity,
        team_id: i64,
    ) -> Result<UserIdentity, TeamProblem> {
        if manager.acting_delegate.is_some() {
            return Err(TeamProblem::NotManager);
        }
        let membership = self
            .store
            .membership(team_id, manager.id)
            .await?
            .filter(|m| m.is_manager)
            .ok_or(TeamProblem::NotManager)?;
        Ok(UserIdentity::unwrap_for(
            &membership.wrapped,
            manager_identity,
        )?)
    }

    /// The active accounts of `user`'s organisation named in `addresses` (one per line or
    /// separated by commas), in order, without repeats; an address that is not such a
    /// colleague is refused by name.
    async fn colleagues(
        &self,
        user: &UserAccount,
        addresses: &str,
    ) -> Result<Vec<UserAccount>, TeamProblem> {
        let mut out: Vec<UserAccount> = Vec::new();
        for address in addresses
            .split(['\n', ',', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let email =
                EmailAddress::parse(address).map_err(|_| TeamProblem::BadMember(address.into()))?;
            let colleague = self
                .account_by_email(&email)
                .await?
                .filter(|c| {
                    c.organisation.id == user.organisation.id
                        && c.status == UserStatus::Active
                        && !c.is_team
                })
                .ok_or_else(|| TeamProblem::NotColleague(email.to_string()))?;
            if !out.iter().any(|c| c.id == colleague.id) {
                out.push(colleague);
            }
        }
        Ok(out)
    }

    /// The teams a person belongs to.
    pub async fn teams_of(&self, person: &UserAccount) -> anyhow::Result<Vec<TeamRow>> {
        Ok(self.store.teams_of_member(person.id).await?)
    }

    /// The teams of an administrator's organisation.
    pub async fn organisation_teams(&self, admin: &UserAccount) -> anyhow::Result<Vec<TeamRow>> {
        self.office_teams(admin.organisation.id).await
    }

    /// The team mailboxes of an organisation (for giving a case to one).
    pub async fn office_teams(&self, organisation_id: i64) -> anyhow::Result<Vec<TeamRow>> {
        Ok(self.store.teams_of_organisation(organisation_id).await?)
    }

    /// A team and its members, for one of its members; None for anyone else.
    pub async fn team_for_member(
        &self,
        person: &UserAccount,
        team_id: i64,
    ) -> anyhow::Result<Option<(TeamRow, Vec<MemberRow>)>> {
        let Some(team) = self
            .store
            .teams_of_member(person.id)
            .await?
            .into_iter()
            .find(|t| t.id == team_id)
        else {
            return Ok(None);
        };
        Ok(Some((team, self.store.team_members(team_id).await?)))
    }

    /// The team's mailbox as `member` works in it; None for anyone who is not a member.
    /// Like a delegate, a member acts under their own name and never as an administrator.
    pub(super) async fn team_mailbox(
        &self,
        member: &UserAccount,
        team_id: i64,
    ) -> anyhow::Result<Option<DelegatedMailbox>> {
        let Some(membership) = self.store.membership(team_id, member.id).await? else {
            return Ok(None);
        };
        let Some(mut team) = self
            .store
            .user_account(team_id)
            .await?
            .filter(|t| t.is_team && t.status == UserStatus::Active)
        else {
            return Ok(None);
        };
        team.role = Role::of(false, team.organisation.kind);
        team.acting_delegate = Some(ActingDelegate {
            id: member.id,
            organisation_id: member.organisation.id,
            name: member.name.clone(),
            can_send: true,
        });
        Ok(Some(DelegatedMailbox {
            owner: team,
            wrapped_identity: membership.wrapped,
        }))
    }
}

async fn add(
    change: &mut Change,
    team_id: i64,
    team_identity: &UserIdentity,
    member: &UserAccount,
    is_manager: bool,
) -> Result<(), TeamProblem> {
    let wrapped = team_identity.wrap_to(&parse_recipient(&member.public_recipient)?)?;
    change
        .put_member(team_id, member.id, is_manager, &wrapped)
        .await?;
    Ok(())
}

fn member_event(
    origin: &Origin,
    now: i64,
    kind: EventKind,
    team_id: i64,
    member_id: i64,
    is_manager: bool,
) -> crate::store::NewEvent {
    origin.user_event(
        now,
        kind,
        team_id,
        serde_json::json!({ "member": member_id, "manager": is_manager }),
    )
}

//! Delegates: an owner lets a colleague of the same organisation work in their mailbox
//! (reading only, or reading and sending). The grant is made in the owner's own session,
//! which wraps the owner's identity to the delegate; no administrator can make one.
//! Withdrawing deletes the wrap, and the delegate's next request no longer reaches the
//! mailbox.

use super::Accounts;
use crate::audit::{Origin, on_behalf_of};
use crate::crypto::{UserIdentity, parse_recipient};
use crate::domain::{EmailAddress, EventKind, Role, UserStatus};
use crate::store::{ActingDelegate, DelegationRow, EventFilter, EventRow, UserAccount};

#[derive(Debug, thiserror::Error)]
pub enum DelegationProblem {
    #[error("Enter the email address of the colleague who is to be your delegate")]
    BadAddress,
    #[error("There is no Casemail account for {0}. Check the address.")]
    Unknown(String),
    #[error("{0} is not in your organisation: only colleagues can be your delegates.")]
    NotColleague(String),
    #[error("{0} cannot be a delegate because their account is not active.")]
    NotActive(String),
    #[error("You cannot make yourself your own delegate.")]
    Yourself,
    #[error("Only the mailbox's owner can choose its delegates.")]
    NotOwner,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(DelegationProblem: crate::store::StoreError, crate::crypto::KeyError);

/// A delegated mailbox as its delegate's requests see it: the owner's account acting
/// through the delegate, and the owner's identity wrapped to the delegate.
pub struct DelegatedMailbox {
    pub owner: UserAccount,
    pub wrapped_identity: Vec<u8>,
}

impl Accounts {
    /// Grants `delegate_email` access to the owner's mailbox, or changes what it allows.
    pub async fn grant_delegation(
        &self,
        owner: &UserAccount,
        owner_identity: &UserIdentity,
        delegate_email: &str,
        can_send: bool,
        client_address: &str,
    ) -> Result<(), DelegationProblem> {
        if owner.acting_delegate.is_some() {
            return Err(DelegationProblem::NotOwner);
        }
        let email =
            EmailAddress::parse(delegate_email).map_err(|_| DelegationProblem::BadAddress)?;
        let delegate = self
            .account_by_email(&email)
            .await?
            .filter(|d| d.status != UserStatus::Deleted)
            .ok_or_else(|| DelegationProblem::Unknown(email.to_string()))?;
        if delegate.id == owner.id {
            return Err(DelegationProblem::Yourself);
        }
        if delegate.organisation.id != owner.organisation.id {
            return Err(DelegationProblem::NotColleague(delegate.name));
        }
        if delegate.status != UserStatus::Active {
            return Err(DelegationProblem::NotActive(delegate.name));
        }
        let wrapped = owner_identity.wrap_to(&parse_recipient(&delegate.public_recipient)?)?;
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change
            .grant_delegation(owner.id, delegate.id, can_send, &wrapped)
            .await?;
        change
            .record(&[Origin::user(owner, client_address).user_event(
                now,
                EventKind::DelegateGranted,
                delegate.id,
                serde_json::json!({ "can_send": can_send }),
            )])
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Withdraws a delegate's access at once; false when they had none.
    pub async fn withdraw_delegation(
        &self,
        owner: &UserAccount,
        delegate_id: i64,
        client_address: &str,
    ) -> Result<bool, DelegationProblem> {
        if owner.acting_delegate.is_some() {
            return Err(DelegationProblem::NotOwner);
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let withdrawn = change.withdraw_delegation(owner.id, delegate_id).await?;
        if withdrawn {
            change
                .record(&[Origin::user(owner, client_address).user_event(
                    now,
                    EventKind::DelegateWithdrawn,
                    delegate_id,
                    serde_json::json!({}),
                )])
                .await?;
        }
        change.commit().await?;
        Ok(withdrawn)
    }

    /// The owner's delegates.
    pub async fn delegates(&self, owner: &UserAccount) -> anyhow::Result<Vec<DelegationRow>> {
        Ok(self.store.delegates_of(owner.id).await?)
    }

    /// The mailboxes the user may work in as a delegate.
    pub async fn delegated_mailboxes(
        &self,
        user: &UserAccount,
    ) -> anyhow::Result<Vec<DelegationRow>> {
        Ok(self.store.mailboxes_delegated_to(user.id).await?)
    }

    /// Points the user's session at a mailbox delegated to them or a team's they belong to
    /// (recorded), or back at their own with None. False when there is neither.
    pub async fn switch_mailbox(
        &self,
        user: &UserAccount,
        token_hash: &str,
        owner_id: Option<i64>,
        client_address: &str,
    ) -> anyhow::Result<bool> {
        if let Some(owner_id) = owner_id {
            let kind = if self.store.delegation(owner_id, user.id).await?.is_some() {
                EventKind::DelegateEntered
            } else if self.store.membership(owner_id, user.id).await?.is_some() {
                EventKind::TeamEntered
            } else {
                return Ok(false);
            };
            let now = self.clock.now();
            self.store
                .audit(&[Origin::user(user, client_address).user_event(
                    now,
                    kind,
                    owner_id,
                    serde_json::json!({}),
                )])
                .await?;
        }
        self.store.set_acting_for(token_hash, owner_id).await?;
        Ok(true)
    }

    /// The owner's mailbox as `delegate` works in it (or a team's, as its member does);
    /// None once the delegation or membership is gone or the owner can no longer use the
    /// service. The owner's account is returned without
    /// any administrator's role: a delegate never acts as an administrator.
    pub async fn delegated_mailbox(
        &self,
        delegate: &UserAccount,
        owner_id: i64,
    ) -> anyhow::Result<Option<DelegatedMailbox>> {
        let Some((can_send, wrapped)) = self.store.delegation(owner_id, delegate.id).await? else {
            return self.team_mailbox(delegate, owner_id).await;
        };
        let Some(mut owner) = self
            .store
            .user_account(owner_id)
            .await?
            .filter(|o| o.status == UserStatus::Active)
        else {
            return Ok(None);
        };
        owner.role = Role::of(false, owner.organisation.kind);
        owner.acting_delegate = Some(ActingDelegate {
            id: delegate.id,
            organisation_id: delegate.organisation.id,
            name: delegate.name.clone(),
            can_send,
        });
        Ok(Some(DelegatedMailbox {
            owner,
            wrapped_identity: wrapped,
        }))
    }

    /// What the owner's current delegates (`grants`, from `delegates`) did in the mailbox,
    /// newest first.
    pub async fn delegate_activity(
        &self,
        owner: &UserAccount,
        grants: &[DelegationRow],
        limit: i64,
    ) -> anyhow::Result<Vec<EventRow>> {
        let mut events = Vec::new();
        for grant in grants {
            let theirs = self
                .store
                .audit_events(&EventFilter {
                    actor_id: Some(grant.delegate_id),
                    limit: 1000,
                    ..EventFilter::default()
                })
                .await?;
            events.extend(
                theirs
                    .into_iter()
                    .filter(|e| on_behalf_of(e) == Some(owner.id)),
            );
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.seq));
        events.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(events)
    }
}

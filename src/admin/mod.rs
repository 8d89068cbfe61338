//! The administration panel's operations: the people and organisations in an
//! administrator's scope and what can be done to them, invitations and bulk provisioning.
//! Metadata only: no administrator can read anyone's mail. Every operation checks scope;
//! someone outside it is treated as not existing (the pages answer 404).

mod invitations;
mod organisations;

use std::sync::Arc;

use crate::audit::Origin;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{
    AccountAction, Decision, EventKind, InactivityPolicy, OrgScope, Step, UserStatus,
    may_administer,
};
use crate::lifecycle::Lifecycle;
use crate::store::{AdminUserRow, OrganisationListing, Store, UserAccount};

pub use invitations::{
    BulkProblem, BulkRow, INVITATION_DAYS, InvitationListing, InviteProblem, Invitee, MAX_BULK_ROWS,
};
pub use organisations::{OrganisationProblem, SavedOrganisation};

/// Which of the admin's users to list.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub organisation: Option<i64>,
    pub status: Option<UserStatus>,
    pub search: String,
    /// Only people not signed in for at least this many days.
    pub inactive_days: Option<i64>,
}

/// A user in the admin's list, with the policy's next step when a warning is already due.
pub struct ListedUser {
    pub user: AdminUserRow,
    pub due: Option<(Step, i64)>,
}

pub struct UserList {
    pub users: Vec<ListedUser>,
    pub organisations: Vec<OrganisationListing>,
    /// Registrations waiting for approval anywhere in scope.
    pub pending: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionProblem {
    #[error("That cannot be done to an account that is {0}.")]
    NotApplicable(&'static str),
    #[error("Give the reason for rejecting the registration; the applicant is told it")]
    ReasonNeeded,
    #[error("Confirm that the account and its keys are to be destroyed")]
    ConfirmationNeeded,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// An account action as the administrator asked for it.
pub struct ActionRequest<'a> {
    pub action: AccountAction,
    pub reason: &'a str,
    pub confirmed: bool,
}

#[derive(Clone)]
pub struct Administration {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
    lifecycle: Lifecycle,
}

impl Administration {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock, lifecycle: Lifecycle) -> Self {
        Self {
            store,
            config,
            clock,
            lifecycle,
        }
    }

    /// The organisations this admin administers; None for someone who is not an admin.
    pub async fn scope(
        &self,
        admin: &UserAccount,
    ) -> anyhow::Result<Option<Vec<OrganisationListing>>> {
        if !admin.role.is_admin() {
            return Ok(None);
        }
        let mine = OrgScope {
            id: admin.organisation.id,
            kind: admin.organisation.kind,
            jurisdiction: &admin.organisation.jurisdiction,
        };
        Ok(Some(
            self.store
                .all_organisations()
                .await?
                .into_iter()
                .filter(|o| {
                    may_administer(
                        admin.role,
                        &mine,
                        &OrgScope {
                            id: o.id,
                            kind: o.kind,
                            jurisdiction: &o.jurisdiction,
                        },
                    )
                })
                .collect(),
        ))
    }

    /// The user if this admin may administer them (and they are not the admin themself).
    pub async fn target(
        &self,
        admin: &UserAccount,
        user_id: i64,
    ) -> anyhow::Result<Option<AdminUserRow>> {
        let Some(organisations) = self.scope(admin).await? else {
            return Ok(None);
        };
        Ok(self.store.admin_user(user_id).await?.filter(|row| {
            row.id != admin.id && organisations.iter().any(|o| o.id == row.organisation_id)
        }))
    }

    /// The users in scope matching the filter; None for someone who is not an admin.
    pub async fn users(
        &self,
        admin: &UserAccount,
        filter: &UserFilter,
    ) -> anyhow::Result<Option<UserList>> {
        let Some(organisations) = self.scope(admin).await? else {
            return Ok(None);
        };
        let chosen: Vec<i64> = organisations
            .iter()
            .filter(|o| filter.organisation.is_none_or(|id| id == o.id))
            .map(|o| o.id)
            .collect();
        let all: Vec<i64> = organisations.iter().map(|o| o.id).collect();
        let pending = self
            .store
            .users_of(&all, Some(UserStatus::Pending), "")
            .await?
            .len();
        let policy = self.config.inactivity_policy();
        let now = self.clock.now();
        let users = self
            .store
            .users_of(&chosen, filter.status, &filter.search)
            .await?
            .into_iter()
            .filter(|r| {
                r.status != UserStatus::Deleted || filter.status == Some(UserStatus::Deleted)
            })
            .filter(|r| {
                filter.inactive_days.is_none_or(|days| {
                    r.last_sign_in_at.unwrap_or(r.created_at) <= now - days * 86_400
                })
            })
            .map(|user| {
                let last_active = user.last_sign_in_at.unwrap_or(user.created_at);
                let due = match policy.decide(user.status, last_active, now) {
                    Decision::Warn { step, at, .. } => Some((step, at)),
                    _ => None,
                };
                ListedUser { user, due }
            })
            .collect();
        Ok(Some(UserList {
            users,
            organisations,
            pending,
        }))
    }

    /// Approves, rejects, unlocks, reactivates, suspends or deletes an account in scope,
    /// or resets its second factor, where its status allows. Approving a solicitor also
    /// approves their firm, in the same change.
    pub async fn act_on_user(
        &self,
        admin: &UserAccount,
        person: &AdminUserRow,
        request: ActionRequest<'_>,
        client_address: &str,
    ) -> Result<(), ActionProblem> {
        let Some(status) = request.action.next_status(person.status) else {
            return Err(ActionProblem::NotApplicable(person.status.as_str()));
        };
        let reason = request.reason.trim();
        match request.action {
            AccountAction::Reject if reason.is_empty() => return Err(ActionProblem::ReasonNeeded),
            AccountAction::Delete if !request.confirmed => {
                return Err(ActionProblem::ConfirmationNeeded);
            }
            _ => {}
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await.map_err(anyhow::Error::from)?;
        if request.action == AccountAction::ResetSecondFactor {
            change
                .reset_second_factor(person.id)
                .await
                .map_err(anyhow::Error::from)?;
            change
                .record(&[Origin::user(admin, client_address).user_event(
                    now,
                    EventKind::SecondFactorReset,
                    person.id,
                    serde_json::json!({}),
                )])
                .await
                .map_err(anyhow::Error::from)?;
        } else {
            let reason = if reason.is_empty() {
                format!("{} by an administrator", request.action.done())
            } else {
                reason.to_string()
            };
            self.lifecycle
                .write_status(
                    &mut change,
                    Some(admin),
                    person.id,
                    status,
                    &reason,
                    client_address,
                )
                .await?;
            if request.action == AccountAction::Approve {
                change
                    .approve_organisation(person.organisation_id)
                    .await
                    .map_err(anyhow::Error::from)?;
            }
        }
        change.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// The inactivity policy in force, and whether notification email leaves the server.
    pub fn policy(&self) -> (InactivityPolicy, bool) {
        (
            self.config.inactivity_policy(),
            self.config.smtp_url.is_some(),
        )
    }
}

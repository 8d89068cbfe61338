//! The account lifecycle: status changes by admins and by the inactivity policy, each
//! recorded in the audit trail and told to the person by notification email.

use std::sync::Arc;

use anyhow::Context;

use crate::audit::Origin;
use crate::clock::{Clock, display_time};
use crate::config::Config;
use crate::domain::{Decision, EventKind, Step, UserStatus};
use crate::store::{Change, NewNotification, Store, UserAccount};

#[derive(Clone)]
pub struct Lifecycle {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
}

/// What one run of the inactivity policy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PolicyReport {
    pub ran: bool,
    pub locked: usize,
    pub suspended: usize,
    pub deleted: usize,
    pub warned: usize,
}

const POLICY_JOB: &str = "inactivity-policy";

impl Lifecycle {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock) -> Self {
        Self {
            store,
            config,
            clock,
        }
    }

    /// Applies the inactivity policy at `now`. With several instances only the one holding
    /// the job lock runs it; the others return `ran: false`.
    pub async fn run_inactivity_policy(
        &self,
        holder: &str,
        now: i64,
    ) -> anyhow::Result<PolicyReport> {
        if !self
            .store
            .try_job_lock(POLICY_JOB, holder, now, now + 600)
            .await?
        {
            return Ok(PolicyReport::default());
        }
        let result = self.apply_policy(now).await;
        self.store.release_job_lock(POLICY_JOB, holder).await?;
        result
    }

    async fn apply_policy(&self, now: i64) -> anyhow::Result<PolicyReport> {
        let policy = self.config.inactivity_policy();
        let mut report = PolicyReport {
            ran: true,
            ..PolicyReport::default()
        };
        for candidate in self.store.policy_candidates().await? {
            match policy.decide(candidate.status, candidate.last_active, now) {
                Decision::Nothing => {}
                Decision::Warn { step, at, days } => {
                    let key = format!("warn:{}:{}:{}:{at}", step.as_str(), days, candidate.id);
                    let body = format!(
                        "Dear {},\n\nYou have not signed in to Casemail since {}. Your account \
                         will be {} on {} unless you sign in before then.\n\nSign in to keep \
                         your account active.\n",
                        candidate.name,
                        display_time(candidate.last_active),
                        step.verb(),
                        display_time(at)
                    );
                    let subject = format!(
                        "Your Casemail account will be {} in {days} day{}",
                        step.verb(),
                        if days == 1 { "" } else { "s" }
                    );
                    let mut change = self.store.begin(now).await?;
                    let queued = change
                        .notify(&[NewNotification {
                            recipient: candidate.email.clone(),
                            subject,
                            body,
                            dedupe_key: Some(key),
                        }])
                        .await?;
                    change.commit().await?;
                    if queued > 0 {
                        report.warned += 1;
                    }
                }
                Decision::Apply(step) => {
                    let days = match step {
                        Step::Lock => policy.lock_after_days,
                        Step::Suspend => policy.suspend_after_days,
                        Step::Delete => policy.delete_after_days,
                    };
                    let reason = format!("not signed in for {days} days");
                    self.change_status(None, candidate.id, step.status(), &reason, "")
                        .await?;
                    match step {
                        Step::Lock => report.locked += 1,
                        Step::Suspend => report.suspended += 1,
                        Step::Delete => report.deleted += 1,
                    }
                }
            }
        }
        Ok(report)
    }

    /// Moves an account to `status` (by an admin, or by the policy when `admin` is None),
    /// records it and tells the person. Deleting destroys the account's keys.
    pub async fn change_status(
        &self,
        admin: Option<&UserAccount>,
        user_id: i64,
        status: UserStatus,
        reason: &str,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        self.write_status(&mut change, admin, user_id, status, reason, client_address)
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Writes a status change, its audit event and the email telling the person, as part
    /// of a larger change.
    pub async fn write_status(
        &self,
        change: &mut Change,
        admin: Option<&UserAccount>,
        user_id: i64,
        status: UserStatus,
        reason: &str,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let account = self
            .store
            .user_account(user_id)
            .await?
            .context("no such account")?;
        let now = self.clock.now();
        if status == UserStatus::Deleted {
            change.shred_account(user_id).await?;
        } else {
            change.set_user_status(user_id, status).await?;
        }
        if matches!(status, UserStatus::Active) {
            change.restart_inactivity_clock(user_id, now).await?;
        }
        change.set_status_reason(user_id, reason).await?;
        let origin = admin.map_or_else(Origin::system, |a| Origin::user(a, client_address));
        change
            .record(&[origin.user_event(
                now,
                EventKind::StatusChanged,
                user_id,
                serde_json::json!({
                    "from": account.status.as_str(),
                    "to": status.as_str(),
                    "reason": reason,
                }),
            )])
            .await?;
        let (subject, body) = status_message(&account, status, reason);
        change
            .notify(&[NewNotification {
                recipient: account.email.clone(),
                subject,
                body,
                dedupe_key: None,
            }])
            .await?;
        Ok(())
    }
}

fn status_message(account: &UserAccount, status: UserStatus, reason: &str) -> (String, String) {
    let name = &account.name;
    match status {
        UserStatus::Active if account.status == UserStatus::Pending => (
            "Your Casemail registration has been approved".into(),
            format!(
                "Dear {name},\n\nYour registration has been approved. You can now sign in to Casemail.\n"
            ),
        ),
        UserStatus::Active => (
            "Your Casemail account is active again".into(),
            format!(
                "Dear {name},\n\nYour Casemail account has been restored. You can sign in again.\n"
            ),
        ),
        UserStatus::Locked => (
            "Your Casemail account has been locked".into(),
            format!(
                "Dear {name},\n\nYour Casemail account has been locked ({reason}). Ask an \
                 administrator of your organisation, or of the prosecution office for your area, \
                 to unlock it. Your mail and keys are kept.\n"
            ),
        ),
        UserStatus::Suspended => (
            "Your Casemail account has been suspended".into(),
            format!(
                "Dear {name},\n\nYour Casemail account has been suspended ({reason}). Ask an \
                 administrator of your organisation to reactivate it.\n"
            ),
        ),
        UserStatus::Deleted if account.status == UserStatus::Pending => (
            "Your Casemail registration was not approved".into(),
            format!("Dear {name},\n\nYour registration was not approved. Reason given: {reason}\n"),
        ),
        UserStatus::Deleted => (
            "Your Casemail account has been deleted".into(),
            format!(
                "Dear {name},\n\nYour Casemail account has been deleted ({reason}). Its keys \
                 have been destroyed, so mail addressed to it can no longer be read.\n"
            ),
        ),
        UserStatus::Pending => (
            "Your Casemail registration is waiting for approval".into(),
            format!("Dear {name},\n\nYour registration is waiting for approval.\n"),
        ),
    }
}

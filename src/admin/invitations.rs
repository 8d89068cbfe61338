//! Invitations: an administrator invites people into an organisation in scope, one at a
//! time or from a CSV file, and resends links that were lost. Each invitation is stored,
//! emailed and recorded in one change; a file is invited whole or not at all.

use super::Administration;
use crate::audit::Origin;
use crate::crypto::{RandomToken, sha256_hex};
use crate::domain::{EmailAddress, EventKind, PersonName, SubjectKind};
use crate::store::{
    Change, InvitationRow, NewInvitation, NewNotification, OrganisationListing, UserAccount,
};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;
/// The most people one CSV file may invite.
pub const MAX_BULK_ROWS: usize = 500;

pub struct InvitationListing {
    pub invitation: InvitationRow,
    pub organisation: String,
}

/// A person to invite.
pub struct Invitee {
    pub name: PersonName,
    pub email: EmailAddress,
    pub organisation_id: i64,
    pub is_admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteProblem {
    #[error("Choose the organisation the person will belong to")]
    OutOfScope,
    #[error("There is already an account with this email address")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A line of a CSV file that cannot be invited, and why.
#[derive(Debug)]
pub struct BulkRow {
    pub line: usize,
    pub text: String,
    pub problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkProblem {
    /// Something about the whole file.
    #[error("{0}")]
    File(String),
    #[error("some lines cannot be invited")]
    Rows(Vec<BulkRow>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(InviteProblem: crate::store::StoreError);

internal_from!(BulkProblem: crate::store::StoreError);

impl Administration {
    /// Invitations not yet accepted in the admin's scope, newest first; None for someone
    /// who is not an admin.
    pub async fn pending_invitations(
        &self,
        admin: &UserAccount,
    ) -> anyhow::Result<Option<(Vec<OrganisationListing>, Vec<InvitationListing>)>> {
        let Some(organisations) = self.scope(admin).await? else {
            return Ok(None);
        };
        let ids: Vec<i64> = organisations.iter().map(|o| o.id).collect();
        let invitations = self
            .store
            .pending_invitations(&ids)
            .await?
            .into_iter()
            .map(|invitation| InvitationListing {
                organisation: organisations
                    .iter()
                    .find(|o| o.id == invitation.organisation_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                invitation,
            })
            .collect();
        Ok(Some((organisations, invitations)))
    }

    /// Invites one person into an organisation in scope.
    pub async fn invite(
        &self,
        admin: &UserAccount,
        invitee: Invitee,
        client_address: &str,
    ) -> Result<(), InviteProblem> {
        let organisations = self.scope(admin).await?.unwrap_or_default();
        if !organisations
            .iter()
            .any(|o| o.id == invitee.organisation_id)
        {
            return Err(InviteProblem::OutOfScope);
        }
        if self.store.address_record(&invitee.email).await?.is_some() {
            return Err(InviteProblem::EmailTaken);
        }
        let mut change = self.store.begin(self.clock.now()).await?;
        self.write_invitation(&mut change, admin, &invitee, client_address)
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Sends an unused invitation again with a new link; false if there is no such
    /// invitation in scope.
    pub async fn resend_invitation(
        &self,
        admin: &UserAccount,
        id: i64,
        client_address: &str,
    ) -> anyhow::Result<bool> {
        let organisations = self.scope(admin).await?.unwrap_or_default();
        let Some(invitation) = self.store.invitation(id).await? else {
            return Ok(false);
        };
        if invitation.accepted_at.is_some()
            || !organisations
                .iter()
                .any(|o| o.id == invitation.organisation_id)
        {
            return Ok(false);
        }
        let token = RandomToken::generate();
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change
            .renew_invitation(
                id,
                &sha256_hex(token.as_str().as_bytes()),
                now + INVITATION_DAYS * 86_400,
            )
            .await?;
        self.send_invitation(
            &mut change,
            admin,
            id,
            &invitation.email,
            &invitation.name,
            &token,
            client_address,
        )
        .await?;
        change.commit().await?;
        Ok(true)
    }

    /// Invites everyone in a CSV file (columns name, email, organisation, admin), or
    /// nobody if any line has a problem. Returns how many were invited.
    pub async fn invite_from_csv(
        &self,
        admin: &UserAccount,
        csv: &[u8],
        client_address: &str,
    ) -> Result<usize, BulkProblem> {
        let organisations = self.scope(admin).await?.unwrap_or_default();
        let invitees = self.check_csv(&organisations, csv).await?;
        let mut change = self.store.begin(self.clock.now()).await?;
        for invitee in &invitees {
            self.write_invitation(&mut change, admin, invitee, client_address)
                .await?;
        }
        change.commit().await?;
        Ok(invitees.len())
    }

    async fn write_invitation(
        &self,
        change: &mut Change,
        admin: &UserAccount,
        invitee: &Invitee,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let token = RandomToken::generate();
        let now = self.clock.now();
        let id = change
            .create_invitation(&NewInvitation {
                organisation_id: invitee.organisation_id,
                email: invitee.email.as_str(),
                name: invitee.name.as_str(),
                is_admin: invitee.is_admin,
                token_hash: &sha256_hex(token.as_str().as_bytes()),
                invited_by: admin.id,
                now,
                expires_at: now + INVITATION_DAYS * 86_400,
            })
            .await?;
        self.send_invitation(
            change,
            admin,
            id,
            invitee.email.as_str(),
            invitee.name.as_str(),
            &token,
            client_address,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_invitation(
        &self,
        change: &mut Change,
        admin: &UserAccount,
        id: i64,
        email: &str,
        name: &str,
        token: &RandomToken,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let link = format!("{}/invite/{}", self.config.public_url(), token.as_str());
        let body = format!(
            "Dear {name},\n\n{} has invited you to Casemail, the secure correspondence service for \
             criminal justice. Open this link to choose your password and activate your account:\n\n\
             {link}\n\nThe link works once and expires in {INVITATION_DAYS} days.\n",
            admin.name
        );
        change
            .notify(&[NewNotification {
                recipient: email.to_string(),
                subject: "You are invited to Casemail".into(),
                body,
                dedupe_key: None,
            }])
            .await?;
        change
            .record(&[Origin::user(admin, client_address).event(
                self.clock.now(),
                EventKind::InvitationSent,
                SubjectKind::Invitation,
                Some(id),
                serde_json::json!({}),
            )])
            .await?;
        Ok(())
    }

    /// Checks every line of the file; the people to invite if every line is right.
    async fn check_csv(
        &self,
        organisations: &[OrganisationListing],
        bytes: &[u8],
    ) -> Result<Vec<Invitee>, BulkProblem> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|_| BulkProblem::File("The file is not a readable CSV file.".into()))?
            .iter()
            .map(str::to_lowercase)
            .collect::<Vec<_>>();
        if headers.first().map(String::as_str) != Some("name")
            || headers.get(1).map(String::as_str) != Some("email")
        {
            return Err(BulkProblem::File(
                "The first line must be the column names: name,email,organisation,admin".into(),
            ));
        }
        let mut valid = Vec::new();
        let mut problems = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            if index >= MAX_BULK_ROWS {
                return Err(BulkProblem::File(format!(
                    "The file has more than {MAX_BULK_ROWS} people. Split it into smaller files."
                )));
            }
            let Ok(record) = record else {
                problems.push(BulkRow {
                    line,
                    text: String::new(),
                    problems: vec!["This line could not be read".into()],
                });
                continue;
            };
            let field = |n: usize| record.get(n).unwrap_or("").to_string();
            let mut row_problems = Vec::new();
            let name = PersonName::parse(&field(0))
                .map_err(|e| row_problems.push(e.to_string()))
                .ok();
            let email = EmailAddress::parse(&field(1))
                .map_err(|e| row_problems.push(e.to_string()))
                .ok();
            if let Some(email) = &email {
                if seen.contains(&email.as_str().to_string()) {
                    row_problems
                        .push("This email address appears more than once in the file".into());
                } else if self.store.address_record(email).await?.is_some() {
                    row_problems.push("There is already an account with this email address".into());
                }
                seen.push(email.as_str().to_string());
            }
            let organisation = field(2);
            let organisation_id = organisations
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(&organisation))
                .map(|o| o.id);
            if organisation_id.is_none() {
                row_problems.push(format!(
                    "“{organisation}” is not an organisation you administer"
                ));
            }
            let is_admin = match field(3).to_lowercase().as_str() {
                "" | "no" | "n" | "false" => false,
                "yes" | "y" | "true" => true,
                other => {
                    row_problems.push(format!("Admin must be yes or no, not “{other}”"));
                    false
                }
            };
            match (name, email, organisation_id, row_problems.is_empty()) {
                (Some(name), Some(email), Some(organisation_id), true) => valid.push(Invitee {
                    name,
                    email,
                    organisation_id,
                    is_admin,
                }),
                _ => problems.push(BulkRow {
                    line,
                    text: record.iter().collect::<Vec<_>>().join(", "),
                    problems: row_problems,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(BulkProblem::Rows(problems));
        }
        if valid.is_empty() {
            return Err(BulkProblem::File("The file has no people in it.".into()));
        }
        Ok(valid)
    }
}

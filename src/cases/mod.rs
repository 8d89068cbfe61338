//! Cases: creating them, sharing their encrypted details with participants, access
//! requests from defence agents, status, and tagging conversations. Only participants see a
//! case; to everyone else it does not exist. Each change is written with its audit event.

mod participants;

use serde::{Deserialize, Serialize};

use crate::audit::Origin;
use crate::clock::Clock;
use crate::crypto::{MailboxKeys, is_mailbox_sealed, open_item, seal_item};
use crate::domain::{
    CaseReference, CaseStatus, EnvelopeContent, EventKind, OrganisationKind, Side,
};
use crate::intake::Intake;
use crate::mail::{AddressProblem, ListedMessage, Mail};
use crate::store::{
    AccessRequestRow, CaseRow, Change, ParticipantCopy, ParticipantRow, Store, UserAccount,
};

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

/// A case as its participant sees it in a list.
pub struct ListedCase {
    pub case: CaseRow,
    pub title: String,
}

/// A document sent in a case's correspondence.
pub struct Disclosure {
    pub thread_id: i64,
    pub message_id: i64,
    pub position: usize,
    pub name: String,
    pub size: u64,
    pub sender: String,
    pub sent_at: i64,
}

/// Everything the case page shows.
pub struct CaseFile {
    pub case: CaseRow,
    pub details: CaseDetails,
    pub participants: Vec<ParticipantRow>,
    /// Requests to join, shown to the prosecution side only.
    pub requests: Vec<AccessRequestRow>,
    pub messages: Vec<ListedMessage>,
    pub disclosures: Vec<Disclosure>,
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
    #[error("You cannot remove yourself from a case. Ask a colleague.")]
    RemovingYourself,
    #[error("{0}")]
    Addressee(String),
    /// The case, or what was named in it, is not visible to the actor.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(CaseProblem: crate::store::StoreError, crate::crypto::KeyError);

#[derive(Clone)]
pub struct Cases {
    store: Store,
    clock: Clock,
    mail: Mail,
    intake: Intake,
}

impl Cases {
    pub fn new(store: Store, clock: Clock, mail: Mail, intake: Intake) -> Self {
        Self {
            store,
            clock,
            mail,
            intake,
        }
    }

    /// Creates a case owned by the actor's prosecution office; every active member of the
    /// office takes part and gets their own encrypted copy of the details.
    pub async fn create(
        &self,
        actor: &UserAccount,
        case: NewCase,
        client_address: &str,
    ) -> Result<i64, CaseProblem> {
        if actor.organisation.kind != OrganisationKind::Prosecution {
            return Err(CaseProblem::ProsecutionOnly);
        }
        let mut copies = Vec::new();
        for (user_id, public_key) in self.store.active_staff(actor.organisation.id).await? {
            copies.push(ParticipantCopy {
                user_id,
                side: Side::Prosecution,
                details: seal_item(&public_key, &case.details)?,
            });
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let case_id = change
            .create_case(
                actor.organisation.id,
                case.reference.as_str(),
                &case.court,
                actor.id,
                now,
                &copies,
            )
            .await?
            .ok_or_else(|| CaseProblem::DuplicateReference(case.reference.as_str().to_string()))?;
        record(
            &mut change,
            actor,
            client_address,
            EventKind::CaseCreated,
            case_id,
            serde_json::json!({}),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(case_id)
    }

    /// The case if the user takes part in it, with their copy of the details opened.
    pub async fn case_for(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        case_id: i64,
    ) -> anyhow::Result<Option<(CaseRow, CaseDetails)>> {
        let Some(row) = self.store.case_for_user(user.id, case_id).await? else {
            return Ok(None);
        };
        let details = self.open_copy(user, keys, &row).await?;
        Ok(Some((row, details)))
    }

    /// Opens the user's copy of a case's details. A copy still sealed with age as it was
    /// written (one key agreement to open) is kept under the mailbox key from then on, so
    /// lists of many cases cost symmetric decryption only.
    async fn open_copy(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        row: &CaseRow,
    ) -> anyhow::Result<CaseDetails> {
        let details: CaseDetails = keys.open_case_copy(row.id, &row.details)?;
        if !is_mailbox_sealed(&row.details) {
            let resealed = keys.seal_case_copy(row.id, &details)?;
            self.store
                .reseal_case_copy(user.id, row.id, &row.details, &resealed)
                .await?;
        }
        Ok(details)
    }

    /// The case if the user takes part in it on the prosecution side.
    pub(super) async fn prosecution_case(
        &self,
        user: &UserAccount,
        case_id: i64,
    ) -> Result<CaseRow, CaseProblem> {
        let case = self
            .store
            .case_for_user(user.id, case_id)
            .await?
            .ok_or(CaseProblem::NotFound)?;
        if case.side != Side::Prosecution {
            return Err(CaseProblem::NotFound);
        }
        Ok(case)
    }

    /// The cases the user takes part in, open ones first.
    pub async fn list(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
    ) -> anyhow::Result<Vec<ListedCase>> {
        let mut listed = Vec::new();
        for case in self.store.cases_for_user(user.id).await? {
            let title = match self.open_copy(user, keys, &case).await {
                Ok(details) => details.title,
                Err(_) => "(cannot be decrypted)".to_string(),
            };
            listed.push(ListedCase { case, title });
        }
        Ok(listed)
    }

    /// The user's open cases with their titles, offered for tagging a conversation.
    pub async fn open_cases(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
    ) -> anyhow::Result<Vec<ListedCase>> {
        Ok(self
            .list(user, keys)
            .await?
            .into_iter()
            .filter(|c| c.case.status == CaseStatus::Open)
            .collect())
    }

    /// The case page: details, participants, correspondence and disclosed documents.
    pub async fn case_file(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        case_id: i64,
    ) -> anyhow::Result<Option<CaseFile>> {
        let identity = &keys.identity;
        let Some((case, details)) = self.case_for(user, keys, case_id).await? else {
            return Ok(None);
        };
        let rows = self.store.case_messages(user.id, case_id).await?;
        let mut disclosures = Vec::new();
        for row in rows.iter().filter(|r| r.has_attachments) {
            let Some((envelope, _, _)) =
                self.store.message_for_user(user.id, row.message_id).await?
            else {
                continue;
            };
            let content: EnvelopeContent = open_item(identity, &envelope)?;
            for (position, a) in content.attachments.iter().enumerate() {
                disclosures.push(Disclosure {
                    thread_id: row.thread_id,
                    message_id: row.message_id,
                    position,
                    name: a.name.clone(),
                    size: a.size,
                    sender: row.sender_name.clone(),
                    sent_at: row.sent_at,
                });
            }
        }
        let requests = if case.side == Side::Prosecution {
            self.store.pending_access_requests(case_id).await?
        } else {
            Vec::new()
        };
        Ok(Some(CaseFile {
            participants: self.store.participants(case_id).await?,
            messages: ListedMessage::open_all(keys, rows, false),
            case,
            details,
            requests,
            disclosures,
        }))
    }

    /// The case's participants, for a participant.
    pub async fn participants(
        &self,
        user: &UserAccount,
        case_id: i64,
    ) -> anyhow::Result<Option<Vec<ParticipantRow>>> {
        if self.store.case_for_user(user.id, case_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.store.participants(case_id).await?))
    }

    /// Marks a case concluded or open again.
    pub async fn set_status(
        &self,
        actor: &UserAccount,
        case_id: i64,
        status: CaseStatus,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        let case = self.prosecution_case(actor, case_id).await?;
        if case.status == status {
            return Ok(());
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change.set_case_status(case_id, status).await?;
        record(
            &mut change,
            actor,
            client_address,
            EventKind::CaseStatusChanged,
            case_id,
            serde_json::json!({ "status": status.as_str() }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(())
    }

    /// Tags a conversation with a case: the actor must take part in both, and so must
    /// everyone holding a copy of the conversation (otherwise it would vanish from their
    /// mailbox).
    pub async fn tag_thread(
        &self,
        actor: &UserAccount,
        thread_id: i64,
        case_id: i64,
        client_address: &str,
    ) -> Result<(), CaseProblem> {
        if self.store.case_for_user(actor.id, case_id).await?.is_none()
            || self
                .store
                .thread_for_user(actor.id, thread_id)
                .await?
                .is_empty()
        {
            return Err(CaseProblem::NotFound);
        }
        let members = self.store.thread_members(thread_id).await?;
        match self
            .mail
            .check_case_addressees(case_id, members.iter().map(|(_, email)| email.as_str()))
            .await
        {
            Ok(()) => {}
            Err(AddressProblem::Internal(error)) => return Err(error.into()),
            Err(problem) => return Err(CaseProblem::Addressee(problem.to_string())),
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change.tag_thread(thread_id, case_id).await?;
        record(
            &mut change,
            actor,
            client_address,
            EventKind::CaseThreadTagged,
            case_id,
            serde_json::json!({ "thread": thread_id }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(())
    }
}

/// Records an event about a case by the actor, as part of the change.
pub(super) async fn record(
    change: &mut Change,
    actor: &UserAccount,
    client_address: &str,
    kind: EventKind,
    case_id: i64,
    payload: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    change
        .record(&[Origin::user(actor, client_address).case_event(now, kind, case_id, payload)])
        .await?;
    Ok(())
}

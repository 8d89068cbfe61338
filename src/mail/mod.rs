//! Mail: composing and sending (content encrypted to the recipients' public keys, which
//! needs no secret), reading threads and attachments with the reader's session identity,
//! folders, drafts. A delivery, its audit events and its notification email are one change.

mod choices;
mod compose;
mod drafts;
mod external;
mod folders;
mod handling;
mod read;
mod replies;
mod send;
mod storage;

use std::sync::Arc;

use crate::audit::Audit;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Recipients;
use crate::domain::{AddressList, AttachmentInfo, Body, Subject};
use crate::store::{AddressRecord, BlobStore, Store, UserAccount};

pub use compose::{AddressProblem, Prefill};
pub use drafts::ListedDraft;
pub use external::{ArrivingLetter, GatewayKey, SendAcrossProblem};
pub use folders::{FolderAction, FolderPage, ListedMessage, PAGE_SIZE};
pub use handling::AssignProblem;
pub use read::{Download, OpenedThread, ThreadMessage};
pub use replies::DUE_LIMIT;
pub use send::{DeliveryRoute, StageProblem};
pub use storage::ORPHAN_BLOB_AGE;

/// A message ready to send.
pub struct Outgoing {
    pub to: AddressList,
    pub cc: AddressList,
    pub subject: Subject,
    pub body: Body,
    /// The message this replies to; the reply joins its thread.
    pub reply_to: Option<i64>,
    pub forward_of: Option<i64>,
    /// The case a new thread is tagged with (replies keep their thread's case).
    pub case_id: Option<i64>,
    /// When an answer is needed from the To addressees (Unix seconds).
    pub reply_by: Option<i64>,
    /// The letter's keyed fingerprint (see `Outgoing::fingerprint`), for spotting it when
    /// sent again into the same office.
    pub fingerprint: Option<String>,
}

impl Outgoing {
    /// Fingerprints the letter under the sending mailbox's key: the case, the subject
    /// (without Re:/Fwd: and case) and the text, with spacing ignored.
    pub fn fingerprint(&mut self, keys: &crate::crypto::MailboxKeys) -> anyhow::Result<()> {
        let tidy = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let case = self.case_id.map(|c| c.to_string()).unwrap_or_default();
        let subject = tidy(self.subject.as_str()).to_lowercase();
        let body = tidy(self.body.as_str());
        self.fingerprint = Some(keys.key.fingerprint(&[&case, &subject, &body])?);
        Ok(())
    }
}

/// The people a message goes to, checked to exist and be able to receive.
pub struct Addressees {
    pub to: Vec<AddressRecord>,
    pub cc: Vec<AddressRecord>,
}

impl Addressees {
    fn all(&self) -> impl Iterator<Item = &AddressRecord> {
        self.to.iter().chain(&self.cc)
    }

    /// The addressees with a mailbox in Casemail (not people reached through the gateway).
    fn in_casemail(&self) -> impl Iterator<Item = &AddressRecord> {
        self.all().filter(|r| !r.is_external())
    }

    /// The addressees at secure domains outside Casemail.
    pub fn outside(&self) -> impl Iterator<Item = &AddressRecord> {
        self.all().filter(|r| r.is_external())
    }

    /// Everyone who can decrypt the content: the addressees in Casemail and the sender.
    pub fn content_recipients(&self, sender: &UserAccount) -> anyhow::Result<Recipients> {
        let keys = self
            .in_casemail()
            .map(|r| r.public_recipient.as_str())
            .chain(std::iter::once(sender.public_recipient.as_str()));
        Ok(Recipients::parse(keys)?)
    }
}

/// An attachment already encrypted into the blob store, waiting for its message.
/// An attachment encrypted into the blob store for a message not yet delivered. Dropped
/// without being delivered (the form failed, the client went away), it removes its blob,
/// so an abandoned upload leaves nothing behind.
pub struct StagedAttachment {
    pub blob_id: String,
    pub info: AttachmentInfo,
    blobs: BlobStore,
    delivered: bool,
}

impl StagedAttachment {
    fn new(blobs: &BlobStore, blob_id: String, info: AttachmentInfo) -> Self {
        Self {
            blob_id,
            info,
            blobs: blobs.clone(),
            delivered: false,
        }
    }
}

impl Drop for StagedAttachment {
    fn drop(&mut self) {
        if !self.delivered {
            self.blobs.delete_soon(&self.blob_id);
        }
    }
}

#[derive(Clone)]
pub struct Mail {
    store: Store,
    blobs: BlobStore,
    config: Arc<Config>,
    clock: Clock,
    audit: Audit,
    /// Set when the gateway to secure mail domains is on.
    gateway: Option<GatewayKey>,
    organisation_choices: choices::OrganisationChoices,
}

impl Mail {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        config: Arc<Config>,
        clock: Clock,
        audit: Audit,
    ) -> Self {
        Self {
            store,
            blobs,
            config,
            clock,
            audit,
            gateway: None,
            organisation_choices: Default::default(),
        }
    }

    /// Lets letters leave for secure domains, sealed to the gateway's key.
    pub fn with_gateway(mut self, key: GatewayKey) -> Self {
        self.gateway = Some(key);
        self
    }
}

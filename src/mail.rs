//! Sending and reading mail. Content is encrypted on the way in (to the recipients' public
//! keys, which needs no secret) and decrypted on the way out with the reader's identity
//! from their session.

use std::io::Write;

use anyhow::Context;

use crate::crypto::{Recipients, SealingWriter, UserIdentity, open, opening_reader, seal};
use crate::domain::{AddressList, Body, Folder, Subject, UserStatus};
use crate::domain::{AttachmentInfo, EnvelopeContent, Summary};
use crate::state::Casemail;
use crate::store::{AddressRecord, Delivered, Delivery, NewAttachment, NewEntry, UserAccount};

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

    /// Everyone who can decrypt the content: the addressees and the sender.
    pub fn content_recipients(&self, sender: &UserAccount) -> anyhow::Result<Recipients> {
        let keys = self
            .all()
            .map(|r| r.public_recipient.as_str())
            .chain(std::iter::once(sender.public_recipient.as_str()));
        Ok(Recipients::parse(keys)?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddressProblem {
    #[error(
        "There is no Casemail account for {0}. Check the address, or find the person in the directory."
    )]
    Unknown(String),
    #[error(
        "{0} cannot receive mail because their account is not active. Contact their organisation another way."
    )]
    CannotReceive(String),
    #[error("You do not need to add yourself: a copy of everything you send is kept in Sent.")]
    Yourself,
    #[error("Enter at least one recipient in To")]
    NoRecipients,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Where a message goes: an existing thread, or a new one (tagged with a case, carrying a
/// plea negotiation).
pub struct DeliveryRoute {
    pub thread_id: Option<i64>,
    pub case_id: Option<i64>,
    pub plea: bool,
    pub forwarded_from: Option<i64>,
    pub reply_to: Option<i64>,
    /// Where the sender is, for the audit trail.
    pub client_address: String,
}

/// An attachment already encrypted into the blob store, waiting for its message.
pub struct StagedAttachment {
    pub blob_id: String,
    pub info: AttachmentInfo,
}

impl Casemail {
    pub async fn resolve_addressees(
        &self,
        sender: &UserAccount,
        to: &AddressList,
        cc: &AddressList,
    ) -> Result<Addressees, AddressProblem> {
        if to.is_empty() {
            return Err(AddressProblem::NoRecipients);
        }
        let wanted: Vec<&str> = to
            .addresses()
            .iter()
            .chain(cc.addresses())
            .map(|e| e.as_str())
            .collect();
        let records = self
            .store
            .address_records(&wanted)
            .await
            .map_err(anyhow::Error::from)?;
        let mut resolved = Addressees {
            to: Vec::new(),
            cc: Vec::new(),
        };
        for (list, out) in [(to, &mut resolved.to), (cc, &mut resolved.cc)] {
            for email in list.addresses() {
                if email.as_str() == sender.email {
                    return Err(AddressProblem::Yourself);
                }
                let record = records
                    .iter()
                    .find(|r| r.email == email.as_str())
                    .filter(|r| UserStatus::parse(&r.status) != Ok(UserStatus::Deleted))
                    .ok_or_else(|| AddressProblem::Unknown(email.to_string()))?;
                if !record.can_receive() {
                    return Err(AddressProblem::CannotReceive(email.to_string()));
                }
                out.push(record.clone());
            }
        }
        // Someone in both To and Cc receives one copy, as To.
        let to_ids: Vec<i64> = resolved.to.iter().map(|r| r.id).collect();
        resolved.cc.retain(|r| !to_ids.contains(&r.id));
        Ok(resolved)
    }

    /// The thread a reply joins, if the sender holds a copy of the message replied to.
    pub async fn thread_of(&self, user_id: i64, message_id: i64) -> anyhow::Result<Option<i64>> {
        Ok(self
            .store
            .message_for_user(user_id, message_id)
            .await?
            .map(|(_, thread, _)| thread))
    }

    /// Encrypts and delivers a message: one envelope for everyone, one summary per mailbox,
    /// all in one transaction.
    pub async fn send(
        &self,
        sender: &UserAccount,
        outgoing: Outgoing,
        addressees: &Addressees,
        attachments: Vec<StagedAttachment>,
        client_address: &str,
    ) -> anyhow::Result<Delivered> {
        let thread_id = match outgoing.reply_to {
            Some(message_id) => Some(
                self.thread_of(sender.id, message_id)
                    .await?
                    .context("replying to a message the sender cannot see")?,
            ),
            None => None,
        };
        let envelope = EnvelopeContent {
            subject: outgoing.subject.as_str().to_string(),
            body: outgoing.body.as_str().to_string(),
            attachments: attachments.iter().map(|a| a.info.clone()).collect(),
        };
        let delivery = self
            .seal_delivery(
                sender,
                &envelope,
                addressees,
                DeliveryRoute {
                    thread_id,
                    case_id: outgoing.case_id,
                    plea: false,
                    forwarded_from: outgoing.forward_of,
                    reply_to: outgoing.reply_to,
                    client_address: client_address.to_string(),
                },
                &attachments,
            )
            .await?;
        match self.store.deliver(&delivery).await {
            Ok(delivered) => {
                self.notify_new_mail(sender, addressees).await;
                Ok(delivered)
            }
            Err(error) => {
                // Nothing was delivered: the encrypted attachments belong to no message.
                for attachment in &attachments {
                    let _ = self.blobs.delete(&attachment.blob_id);
                }
                Err(error.into())
            }
        }
    }

    /// Encrypts a message for delivery: one envelope for everyone, one summary per mailbox.
    /// The sealing runs on the blocking pool, envelope and summaries on two threads.
    pub async fn seal_delivery(
        &self,
        sender: &UserAccount,
        envelope: &EnvelopeContent,
        addressees: &Addressees,
        route: DeliveryRoute,
        attachments: &[StagedAttachment],
    ) -> anyhow::Result<Delivery> {
        let recipients = addressees.content_recipients(sender)?;
        let names = addressees
            .all()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let summary = Summary::new(
            envelope,
            &format!("{} {}", sender.name, sender.email),
            names,
        );
        let summary = serde_json::to_vec(&summary)?;
        let envelope_plain = serde_json::to_vec(envelope)?;
        let mut readers: Vec<(i64, Folder, String)> =
            vec![(sender.id, Folder::Sent, sender.public_recipient.clone())];
        readers.extend(
            addressees
                .all()
                .map(|r| (r.id, Folder::Inbox, r.public_recipient.clone())),
        );
        let (sealed, entries) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            std::thread::scope(|scope| {
                let envelope = scope.spawn(|| seal(&recipients, &envelope_plain));
                let mut entries = Vec::with_capacity(readers.len());
                for (user_id, folder, key) in &readers {
                    entries.push(NewEntry {
                        user_id: *user_id,
                        folder: *folder,
                        is_read: *folder == Folder::Sent,
                        summary: seal(&Recipients::parse([key.as_str()])?, &summary)?,
                    });
                }
                let sealed = envelope
                    .join()
                    .map_err(|_| anyhow::anyhow!("envelope sealing panicked"))??;
                Ok((sealed, entries))
            })
        })
        .await??;
        let size = envelope.body.len() as i64
            + attachments.iter().map(|a| a.info.size as i64).sum::<i64>();
        Ok(Delivery {
            thread_id: route.thread_id,
            case_id: route.case_id,
            plea: route.plea,
            sender_id: sender.id,
            sent_at: self.clock.now(),
            envelope: sealed,
            size,
            forwarded_from: route.forwarded_from,
            sender_org_id: sender.organisation.id,
            client_address: route.client_address,
            reply_to: route.reply_to,
            to: addressees.to.iter().map(|r| r.id).collect(),
            cc: addressees.cc.iter().map(|r| r.id).collect(),
            entries,
            attachments: attachments
                .iter()
                .map(|a| NewAttachment {
                    blob_id: a.blob_id.clone(),
                    size: a.info.size as i64,
                })
                .collect(),
        })
    }

    /// Tells each recipient by email that mail is waiting, without any of its content:
    /// not the subject, not the case. A failure to queue is logged, never fatal to sending.
    pub async fn notify_new_mail(&self, sender: &UserAccount, addressees: &Addressees) {
        let now = self.clock.now();
        let batch: Vec<(String, String, String)> = addressees
            .all()
            .map(|record| {
                let body = format!(
                    "Dear {},\n\nYou have a new message in Casemail from {} ({}). Sign in to \
                     read it: {}/mail/inbox\n",
                    record.name,
                    sender.name,
                    sender.organisation.name,
                    self.config.public_url()
                );
                (
                    record.email.clone(),
                    "You have a new message in Casemail".to_string(),
                    body,
                )
            })
            .collect();
        if let Err(error) = self.store.queue_notifications(&batch, now).await {
            tracing::warn!(%error, "could not queue new-mail notifications");
        }
    }

    /// Re-encrypts the attachments of a message the forwarder can read for a new set of
    /// recipients, streaming each through the forwarder's session identity.
    pub async fn forward_attachments(
        &self,
        forwarder: &UserAccount,
        identity: UserIdentity,
        message_id: i64,
        recipients: Recipients,
    ) -> anyhow::Result<Vec<StagedAttachment>> {
        let (envelope, _, rows) = self
            .store
            .message_for_user(forwarder.id, message_id)
            .await?
            .context("forwarding a message the sender cannot see")?;
        let content: EnvelopeContent = serde_json::from_slice(&open(&identity, &envelope)?)?;
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || {
            let mut staged = Vec::new();
            for (row, info) in rows.iter().zip(content.attachments) {
                let reader = blobs.open(&row.blob_id)?;
                let mut plain = opening_reader(&identity, reader)?;
                let (pending, file) = blobs.create()?;
                let mut writer = SealingWriter::new(&recipients, file)?;
                std::io::copy(&mut plain, &mut writer)?;
                let (file, _, _) = writer.finish()?;
                let blob_id = pending.commit(file)?;
                staged.push(StagedAttachment { blob_id, info });
            }
            Ok(staged)
        })
        .await?
    }

    /// Encrypts an attachment held in memory (demo data and benchmarks; uploads stream).
    pub async fn stage_bytes(
        &self,
        recipients: Recipients,
        name: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<StagedAttachment> {
        let blobs = self.blobs.clone();
        let (blob_id, size, sha256) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let (pending, file) = blobs.create()?;
            let mut writer = SealingWriter::new(&recipients, file)?;
            writer.write_all(&bytes)?;
            let (file, size, sha256) = writer.finish()?;
            Ok((pending.commit(file)?, size, sha256))
        })
        .await??;
        Ok(StagedAttachment {
            blob_id,
            info: AttachmentInfo {
                name: name.to_string(),
                media_type: media_type.to_string(),
                size,
                sha256,
            },
        })
    }
}

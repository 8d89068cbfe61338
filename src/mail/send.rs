//! Sending: one envelope sealed to every recipient and the sender, one summary per mailbox
//! sealed to its owner alone, attachments streamed through age into the blob store. The
//! delivery, its audit events and the new-mail notifications commit together.

use std::io::Write;

use anyhow::Context;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{Addressees, Mail, Outgoing, StagedAttachment};
use crate::crypto::{Recipients, SealingWriter, UserIdentity, open_item, opening_reader, seal};
use crate::domain::{AttachmentInfo, EnvelopeContent, Folder, Summary};
use crate::store::{Delivered, Delivery, NewAttachment, NewEntry, NewNotification, UserAccount};

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
    /// When an answer is needed from the To addressees.
    pub reply_by: Option<i64>,
    pub fingerprint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StageProblem {
    #[error("the file is larger than the limit for one file")]
    TooLarge,
    /// The file does not fit in what is left of the sender's storage allowance.
    #[error("the file does not fit in the storage allowance")]
    OverAllowance,
    /// The upload itself broke off or could not be read.
    #[error("the upload could not be read")]
    Upload,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Mail {
    /// Encrypts and delivers a message: one envelope for everyone, one summary per mailbox,
    /// with its audit events and the recipients' notification email, all in one change.
    pub async fn send(
        &self,
        sender: &UserAccount,
        outgoing: Outgoing,
        addressees: &Addressees,
        mut attachments: Vec<StagedAttachment>,
        client_address: &str,
    ) -> anyhow::Result<Delivered> {
        anyhow::ensure!(
            addressees.outside().next().is_none(),
            "a letter to a secure domain must be sent from the sender's session"
        );
        self.deliver(
            sender,
            outgoing,
            addressees,
            &mut attachments,
            client_address,
            None,
        )
        .await
    }

    pub(super) async fn deliver(
        &self,
        sender: &UserAccount,
        outgoing: Outgoing,
        addressees: &Addressees,
        attachments: &mut [StagedAttachment],
        client_address: &str,
        outbound: Option<&super::external::OutboundLetter>,
    ) -> anyhow::Result<Delivered> {
        if sender.acting_delegate.as_ref().is_some_and(|d| !d.can_send) {
            anyhow::bail!("a read-only delegate tried to send");
        }
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
                    reply_by: outgoing.reply_by,
                    fingerprint: outgoing.fingerprint,
                },
                attachments,
            )
            .await?;
        let mut change = self.store.begin(delivery.sent_at).await?;
        let delivered = change.deliver(&delivery).await?;
        if let Some(outbound) = outbound {
            self.queue_outbound(
                &mut change,
                sender,
                client_address,
                delivered.message_id,
                outbound,
            )
            .await?;
        }
        change
            .notify(&self.new_mail_notifications(sender, addressees).await?)
            .await?;
        // From the moment the commit is attempted the blobs may belong to a message (the
        // commit can succeed after this request is gone): they are no longer removed on
        // drop. If the commit failed, the sweep removes them, since no row names them.
        for attachment in attachments.iter_mut() {
            attachment.delivered = true;
        }
        change.commit().await?;
        Ok(delivered)
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
                .in_casemail()
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
            reply_by: route.reply_by,
            sent_by: sender
                .acting_delegate
                .as_ref()
                .map(|d| (d.id, d.organisation_id)),
            fingerprint: route.fingerprint,
            teams: addressees
                .to
                .iter()
                .filter(|r| r.is_team())
                .map(|r| r.id)
                .collect(),
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
    /// not the subject, not the case. A team's address has no inbox outside Casemail:
    /// its members are told instead.
    pub(super) async fn new_mail_notifications(
        &self,
        sender: &UserAccount,
        addressees: &Addressees,
    ) -> anyhow::Result<Vec<NewNotification>> {
        let teams: Vec<&crate::store::AddressRecord> =
            addressees.all().filter(|r| r.is_team()).collect();
        let team_ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
        let members = self.store.member_addresses(&team_ids).await?;
        let from = format!("{} ({})", sender.name, sender.organisation.name);
        let url = self.config.public_url();
        let personal = addressees
            .in_casemail()
            .filter(|r| !r.is_team())
            .map(|record| NewNotification {
                recipient: record.email.clone(),
                subject: "You have a new message in Casemail".to_string(),
                body: format!(
                    "Dear {},\n\nYou have a new message in Casemail from {from}. Sign in to \
                 read it: {url}/mail/inbox\n",
                    record.name,
                ),
                dedupe_key: None,
            });
        let for_members = members.into_iter().map(|(team_id, email, name)| {
            let team = teams
                .iter()
                .find(|t| t.id == team_id)
                .map_or("", |t| t.name.as_str());
            NewNotification {
                recipient: email,
                subject: "Your team has a new message in Casemail".to_string(),
                body: format!(
                    "Dear {name},\n\nThe team mailbox {team} has a new message in Casemail \
                     from {from}. Sign in and open the team's mailbox to read it: {url}/teams\n",
                ),
                dedupe_key: None,
            }
        });
        Ok(personal.chain(for_members).collect())
    }

    /// Re-encrypts the attachments of a message the forwarder can read for a new set of
    /// recipients, streaming each through the forwarder's session identity. The copies
    /// count against the forwarder's storage allowance.
    pub async fn forward_attachments(
        &self,
        forwarder: &UserAccount,
        identity: UserIdentity,
        message_id: i64,
        addressees: &Addressees,
    ) -> Result<Vec<StagedAttachment>, StageProblem> {
        let recipients = addressees.content_recipients(forwarder)?;
        let (envelope, _, rows) = self
            .store
            .message_for_user(forwarder.id, message_id)
            .await
            .map_err(anyhow::Error::from)?
            .context("forwarding a message the sender cannot see")?;
        let copies: i64 = rows.iter().map(|row| row.size).sum();
        if u64::try_from(copies).unwrap_or(u64::MAX) > self.storage_left(forwarder).await? {
            return Err(StageProblem::OverAllowance);
        }
        let content: EnvelopeContent =
            open_item(&identity, &envelope).map_err(anyhow::Error::from)?;
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || {
            let mut staged = Vec::new();
            for (row, info) in rows.iter().zip(content.attachments) {
                let reader = blobs.open_blocking(&row.blob_id)?;
                let mut plain = opening_reader(&identity, reader)?;
                let (pending, file) = blobs.create()?;
                let mut writer = SealingWriter::new(&recipients, file)?;
                std::io::copy(&mut plain, &mut writer)?;
                let (file, _, _) = writer.finish()?;
                let blob_id = pending.commit_blocking(file)?;
                staged.push(StagedAttachment::new(&blobs, blob_id, info));
            }
            anyhow::Ok(staged)
        })
        .await
        .map_err(anyhow::Error::from)?
        .map_err(StageProblem::from)
    }

    /// Encrypts an attachment as it streams in, straight into a new blob: it never sits
    /// whole in memory. A file over the size limit is refused and its partial blob removed.
    pub async fn stage_attachment<S, E>(
        &self,
        recipients: Recipients,
        name: String,
        media_type: String,
        mut chunks: S,
        allowance: u64,
    ) -> Result<StagedAttachment, StageProblem>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let per_file = self.config.max_attachment_bytes();
        let (pending, file) = self.blobs.create().map_err(anyhow::Error::from)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut writer = SealingWriter::new(&recipients, file)?;
            while let Some(chunk) = rx.blocking_recv() {
                writer.write_all(&chunk)?;
            }
            Ok(writer.finish()?)
        });
        let mut received: u64 = 0;
        let mut problem = None;
        while let Some(chunk) = chunks.next().await {
            let Ok(chunk) = chunk else {
                problem = Some(StageProblem::Upload);
                break;
            };
            received += chunk.len() as u64;
            if received > per_file {
                problem = Some(StageProblem::TooLarge);
                break;
            }
            if received > allowance {
                problem = Some(StageProblem::OverAllowance);
                break;
            }
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
        drop(tx);
        let written = writer.await.map_err(anyhow::Error::from)?;
        // Dropping the pending blob without committing it removes the partial file.
        if let Some(problem) = problem {
            return Err(problem);
        }
        let (file, size, sha256) = written?;
        let blob_id = pending.commit(file).await.map_err(anyhow::Error::from)?;
        Ok(StagedAttachment::new(
            &self.blobs,
            blob_id,
            AttachmentInfo {
                name,
                media_type,
                size,
                sha256,
            },
        ))
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
            Ok((pending.commit_blocking(file)?, size, sha256))
        })
        .await??;
        Ok(StagedAttachment::new(
            &self.blobs,
            blob_id,
            AttachmentInfo {
                name: name.to_string(),
                media_type: media_type.to_string(),
                size,
                sha256,
            },
        ))
    }
}

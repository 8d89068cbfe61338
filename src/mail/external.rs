//! Letters to people at secure mail domains outside Casemail. The sender's session opens
//! the attachments, the whole letter is written as an Internet message (RFC 5322, MIME)
//! and sealed with age to the gateway's key into the blob store, and a row per outside
//! addressee is queued in the same change as the delivery; the gateway hands it to the
//! mail server. Copies for the addressees in Casemail are delivered as always.

use std::io::Read;

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::{Addressees, Mail, Outgoing, StagedAttachment};
use crate::audit::Origin;
use crate::crypto::{Recipients, SealingWriter, UserIdentity, opening_reader};
use crate::domain::{EventKind, MailDomain, SubjectKind};
use crate::store::{AddressRecord, Change, Delivered, UserAccount};

/// What the mail service needs of the gateway: the public key letters leaving are sealed
/// to, the gateway's host name (for Message-IDs) and the largest letter that may leave.
#[derive(Clone, Debug)]
pub struct GatewayKey {
    pub recipient: String,
    pub hostname: String,
    pub max_bytes: u64,
}

/// A letter written for the outside, sealed in the blob store.
pub(super) struct OutboundLetter {
    blob_id: String,
    internet_id: String,
    recipients: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendAcrossProblem {
    #[error("Mail to {0} cannot leave Casemail: the gateway to secure mail domains is not set up")]
    NoGateway(String),
    #[error(
        "This letter is too large to leave Casemail: letters to secure domains may be at most \
         {0} MB with their attachments. Send the attachments in several letters."
    )]
    TooLarge(u64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn mailbox(name: &str, email: &str) -> anyhow::Result<Mailbox> {
    Ok(Mailbox::new(Some(name.to_string()), email.parse()?))
}

impl Mail {
    pub fn gateway_enabled(&self) -> bool {
        self.gateway.is_some()
    }

    /// The account of a person at a secure domain (made on their first letter), when the
    /// gateway is on and `email`'s domain is on the list.
    pub(super) async fn outside_addressee(
        &self,
        email: &str,
    ) -> anyhow::Result<Option<AddressRecord>> {
        if self.gateway.is_none() {
            return Ok(None);
        }
        let Some(domain) = MailDomain::of_address(email) else {
            return Ok(None);
        };
        let Some(secure) = self.store.secure_domain(domain.as_str()).await? else {
            return Ok(None);
        };
        let local_part = email.split('@').next().unwrap_or(email);
        let mut change = self.store.begin(self.clock.now()).await?;
        change
            .external_account(secure.organisation_id, email, local_part)
            .await?;
        change.commit().await?;
        let address = crate::domain::EmailAddress::parse(email)
            .map_err(|_| anyhow::anyhow!("not an address"))?;
        Ok(self.store.address_record(&address).await?)
    }

    /// Sends a letter from the sender's session: as `send` when everyone is in Casemail;
    /// otherwise the letter is also written out for the addressees outside and queued
    /// for the gateway in the same change.
    pub async fn send_from_session(
        &self,
        sender: &UserAccount,
        identity: &UserIdentity,
        outgoing: Outgoing,
        addressees: &Addressees,
        mut attachments: Vec<StagedAttachment>,
        client_address: &str,
    ) -> Result<Delivered, SendAcrossProblem> {
        let outside: Vec<&AddressRecord> = addressees.outside().collect();
        if outside.is_empty() {
            return Ok(self
                .deliver(
                    sender,
                    outgoing,
                    addressees,
                    &mut attachments,
                    client_address,
                    None,
                )
                .await?);
        }
        let Some(gateway) = self.gateway.clone() else {
            return Err(SendAcrossProblem::NoGateway(outside[0].email.clone()));
        };
        let size: u64 = outgoing.body.as_str().len() as u64
            + attachments.iter().map(|a| a.info.size).sum::<u64>();
        // Base64 makes attachments a third larger on the way out.
        if size.saturating_mul(4) / 3 > gateway.max_bytes {
            return Err(SendAcrossProblem::TooLarge(gateway.max_bytes / 1024 / 1024));
        }
        let in_reply_to = match outgoing.reply_to {
            Some(message_id) => self
                .store
                .internet_id_of(message_id)
                .await
                .map_err(anyhow::Error::from)?,
            None => None,
        };
        let internet_id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), gateway.hostname);
        let letter = self
            .write_out(
                sender,
                identity,
                &outgoing,
                addressees,
                &attachments,
                &internet_id,
                in_reply_to,
                &gateway,
            )
            .await?;
        let outbound = OutboundLetter {
            blob_id: letter,
            internet_id,
            recipients: outside.iter().map(|r| r.id).collect(),
        };
        let delivered = self
            .deliver(
                sender,
                outgoing,
                addressees,
                &mut attachments,
                client_address,
                Some(&outbound),
            )
            .await;
        if delivered.is_err() {
            let _ = self.blobs.delete(&outbound.blob_id).await;
        }
        Ok(delivered?)
    }

    /// Writes the letter as an Internet message and seals it to the gateway's key in the
    /// blob store; returns the blob's id.
    #[allow(clippy::too_many_arguments)]
    async fn write_out(
        &self,
        sender: &UserAccount,
        identity: &UserIdentity,
        outgoing: &Outgoing,
        addressees: &Addressees,
        attachments: &[StagedAttachment],
        internet_id: &str,
        in_reply_to: Option<String>,
        gateway: &super::GatewayKey,
    ) -> anyhow::Result<String> {
        let mut builder = Message::builder()
            .from(mailbox(&sender.name, &sender.email)?)
            .subject(outgoing.subject.as_str())
            .message_id(Some(internet_id.to_string()))
            .date(
                std::time::SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(
                        u64::try_from(self.clock.now()).unwrap_or_default(),
                    ),
            );
        for record in &addressees.to {
            builder = builder.to(mailbox(&record.name, &record.email)?);
        }
        for record in &addressees.cc {
            builder = builder.cc(mailbox(&record.name, &record.email)?);
        }
        if let Some(parent) = in_reply_to {
            let parent = format!("<{parent}>");
            builder = builder.in_reply_to(parent.clone()).references(parent);
        }
        let blobs = self.blobs.clone();
        let identity = identity.clone();
        let files: Vec<(String, String, String)> = attachments
            .iter()
            .map(|a| {
                (
                    a.blob_id.clone(),
                    a.info.name.clone(),
                    a.info.media_type.clone(),
                )
            })
            .collect();
        let body = outgoing.body.as_str().to_string();
        let recipients = Recipients::parse([gateway.recipient.as_str()])?;
        tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let text = SinglePart::plain(body);
            let message = if files.is_empty() {
                builder.singlepart(text)?
            } else {
                let mut parts = MultiPart::mixed().singlepart(text);
                for (blob_id, name, media_type) in files {
                    let mut plain = Vec::new();
                    opening_reader(&identity, blobs.open_blocking(&blob_id)?)?
                        .read_to_end(&mut plain)?;
                    let content_type = ContentType::parse(&media_type).unwrap_or_else(|_| {
                        ContentType::parse("application/octet-stream")
                            .unwrap_or(ContentType::TEXT_PLAIN)
                    });
                    parts = parts.singlepart(Attachment::new(name).body(plain, content_type));
                }
                builder.multipart(parts)?
            };
            let (pending, writer) = blobs.create()?;
            let mut sealing = SealingWriter::new(&recipients, writer)?;
            std::io::Write::write_all(&mut sealing, &message.formatted())?;
            let (writer, _, _) = sealing.finish()?;
            Ok(pending.commit_blocking(writer)?)
        })
        .await?
    }

    /// Queues the letter for each outside addressee and records it, in the delivery's
    /// change.
    pub(super) async fn queue_outbound(
        &self,
        change: &mut Change,
        sender: &UserAccount,
        client_address: &str,
        message_id: i64,
        letter: &OutboundLetter,
    ) -> anyhow::Result<()> {
        // Kept as mail-parser gives them back: without the angle brackets.
        change
            .set_internet_id(message_id, letter.internet_id.trim_matches(['<', '>']))
            .await?;
        let origin = Origin::user(sender, client_address);
        let now = self.clock.now();
        let mut events = Vec::new();
        for recipient in &letter.recipients {
            let queued = change
                .queue_outbound(message_id, *recipient, &letter.blob_id)
                .await?;
            events.push(origin.event(
                now,
                EventKind::GatewayQueued,
                SubjectKind::Message,
                Some(message_id),
                serde_json::json!({ "recipient": recipient, "outbound": queued }),
            ));
        }
        change.record(&events).await?;
        Ok(())
    }
}

/// A letter from a secure domain, parsed and authenticated by the gateway, for the
/// addressees in Casemail its envelope names.
pub struct ArrivingLetter {
    /// The external account of the person it is from.
    pub sender: AddressRecord,
    pub sender_org_id: i64,
    pub to: Vec<AddressRecord>,
    pub cc: Vec<AddressRecord>,
    pub subject: String,
    pub body: String,
    /// (name, media type, bytes) of each attachment.
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// The Internet Message-IDs it answers (In-Reply-To, then References, newest first).
    pub answers: Vec<String>,
    pub internet_id: Option<String>,
    /// How it arrived and what its checks found, shown with the letter.
    pub received_via: String,
    /// The audit record of its arrival (peer, TLS, authentication results).
    pub arrival: serde_json::Value,
    pub peer_address: String,
}

impl Mail {
    /// Encrypts a letter from outside on arrival to its addressees' keys (nothing of it is
    /// kept in clear) and delivers it, joining the conversation it answers when one of
    /// the addressees holds it.
    pub async fn receive_from_outside(&self, letter: ArrivingLetter) -> anyhow::Result<Delivered> {
        let readers: Vec<&AddressRecord> = letter.to.iter().chain(&letter.cc).collect();
        let recipients = Recipients::parse(readers.iter().map(|r| r.public_recipient.as_str()))?;
        let mut staged = Vec::new();
        for (name, media_type, bytes) in letter.attachments {
            staged.push(
                self.stage_bytes(recipients.clone(), &name, &media_type, bytes)
                    .await?,
            );
        }
        let envelope = crate::domain::EnvelopeContent {
            subject: letter.subject,
            body: letter.body,
            attachments: staged.iter().map(|a| a.info.clone()).collect(),
        };
        let mut thread_id = None;
        for answered in &letter.answers {
            if let Some((_, thread)) = self.store.message_by_internet_id(answered).await? {
                for reader in &readers {
                    if !self
                        .store
                        .thread_for_user(reader.id, thread)
                        .await?
                        .is_empty()
                    {
                        thread_id = Some(thread);
                    }
                }
            }
            if thread_id.is_some() {
                break;
            }
        }
        let names = readers
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let summary = serde_json::to_vec(&crate::domain::Summary::new(
            &envelope,
            &format!("{} {}", letter.sender.name, letter.sender.email),
            names,
        ))?;
        let envelope_plain = serde_json::to_vec(&envelope)?;
        let keys: Vec<(i64, String)> = readers
            .iter()
            .map(|r| (r.id, r.public_recipient.clone()))
            .collect();
        let (sealed, entries) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let sealed = crate::crypto::seal(&recipients, &envelope_plain)?;
            let mut entries = Vec::with_capacity(keys.len());
            for (user_id, key) in &keys {
                entries.push(crate::store::NewEntry {
                    user_id: *user_id,
                    folder: crate::domain::Folder::Inbox,
                    is_read: false,
                    summary: crate::crypto::seal(&Recipients::parse([key.as_str()])?, &summary)?,
                });
            }
            Ok((sealed, entries))
        })
        .await??;
        let now = self.clock.now();
        let delivery = crate::store::Delivery {
            thread_id,
            case_id: None,
            plea: false,
            sender_id: letter.sender.id,
            sent_at: now,
            envelope: sealed,
            size: envelope.body.len() as i64
                + staged.iter().map(|a| a.info.size as i64).sum::<i64>(),
            forwarded_from: None,
            to: letter.to.iter().map(|r| r.id).collect(),
            cc: letter.cc.iter().map(|r| r.id).collect(),
            entries,
            attachments: staged
                .iter()
                .map(|a| crate::store::NewAttachment {
                    blob_id: a.blob_id.clone(),
                    size: a.info.size as i64,
                })
                .collect(),
            sender_org_id: letter.sender_org_id,
            client_address: letter.peer_address.clone(),
            reply_to: None,
            reply_by: None,
            sent_by: None,
            teams: letter
                .to
                .iter()
                .filter(|r| r.is_team())
                .map(|r| r.id)
                .collect(),
            fingerprint: None,
        };
        let addressees = Addressees {
            to: letter.to.clone(),
            cc: letter.cc.clone(),
        };
        let mut change = self.store.begin(now).await?;
        let delivered = change.deliver(&delivery).await?;
        if let Some(internet_id) = &letter.internet_id {
            change
                .set_internet_id(delivered.message_id, internet_id.trim_matches(['<', '>']))
                .await?;
        }
        change
            .set_received_via(delivered.message_id, &letter.received_via)
            .await?;
        let origin = Origin {
            actor_id: Some(letter.sender.id),
            actor_org_id: Some(letter.sender_org_id),
            client_address: letter.peer_address.clone(),
            on_behalf_of: None,
        };
        change
            .record(&[origin.event(
                now,
                EventKind::GatewayReceived,
                SubjectKind::Message,
                Some(delivered.message_id),
                letter.arrival,
            )])
            .await?;
        let sender = self
            .store
            .user_account(letter.sender.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the sender's account vanished"))?;
        change
            .notify(&self.new_mail_notifications(&sender, &addressees).await?)
            .await?;
        for attachment in staged.iter_mut() {
            attachment.delivered = true;
        }
        change.commit().await?;
        Ok(delivered)
    }
}

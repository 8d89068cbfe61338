//! Reading: a conversation opened with the reader's identity (each opening recorded with
//! the read marks, in one change), and attachments streamed out through age.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::Stream;

use super::Mail;
use crate::audit::{Origin, RecipientTimeline};
use crate::crypto::{UserIdentity, open_item, opening_reader};
use crate::domain::{
    Addressing, AttachmentInfo, CaseStatus, EnvelopeContent, EventKind, SubjectKind,
};
use crate::store::{AddresseeRow, CaseRow, SameLetter, ThreadMessageRow, UserAccount};

/// A message of an opened conversation.
pub struct ThreadMessage {
    pub row: ThreadMessageRow,
    /// None when the copy was sealed to keys the reader no longer has (new keys were
    /// issued): the conversation still opens, saying so.
    pub content: Option<EnvelopeContent>,
    pub to: Vec<AddresseeRow>,
    pub cc: Vec<AddresseeRow>,
    /// The delivery and read timeline, for messages the reader sent.
    pub timeline: Option<Vec<RecipientTimeline>>,
    /// The same letter in the office's other mailboxes (received letters only).
    pub same_letter: Vec<SameLetter>,
}

pub struct OpenedThread {
    pub messages: Vec<ThreadMessage>,
    /// The case the conversation is tagged with.
    pub case: Option<CaseRow>,
    /// The reader's open cases, offered for tagging an untagged conversation.
    pub taggable: Vec<CaseRow>,
}

/// An attachment on its way out: what it is, and its plaintext as a stream.
pub struct Download {
    pub info: AttachmentInfo,
    pub body: Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin>,
}

impl Mail {
    /// Opens a conversation the user holds copies of, marking it read and recording each
    /// opening; None when they hold none. What is shown beside the letters (addressees,
    /// case, timelines, the same letter elsewhere) is read while the opening is recorded.
    pub async fn open_thread(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        thread_id: i64,
        client_address: &str,
    ) -> anyhow::Result<Option<OpenedThread>> {
        let rows = self.store.thread_for_user(user.id, thread_id).await?;
        let Some(case_id) = rows.first().map(|r| r.case_id) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
        let (_, mut addressees, (case, taggable), mut timelines, mut same_letters) = tokio::try_join!(
            self.record_opening(user, thread_id, &rows, case_id, client_address, now),
            async { Ok(self.store.addressees(&ids).await?) },
            self.case_or_taggable(user, case_id),
            self.timelines(user, &rows, now),
            self.same_letters(user, &rows),
        )?;
        let mut messages = Vec::with_capacity(rows.len());
        for row in rows {
            let content = open_item(identity, &row.envelope).ok();
            let (mine, rest): (Vec<_>, Vec<_>) = addressees
                .into_iter()
                .partition(|a| a.message_id == row.message_id);
            addressees = rest;
            let (to, cc) = mine.into_iter().partition(|a| a.kind == Addressing::To);
            messages.push(ThreadMessage {
                content,
                to,
                cc,
                timeline: timelines.remove(&row.message_id),
                same_letter: same_letters.remove(&row.message_id).unwrap_or_default(),
                row,
            });
        }
        Ok(Some(OpenedThread {
            messages,
            case,
            taggable,
        }))
    }

    /// Marks the reader's copies read and records each letter shown to someone other than
    /// its sender, durably, in one change.
    async fn record_opening(
        &self,
        user: &UserAccount,
        thread_id: i64,
        rows: &[ThreadMessageRow],
        case_id: Option<i64>,
        client_address: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        let mut change = self.store.begin(now).await?;
        let set_now = change.mark_thread_read(user.id, thread_id, now).await?;
        let origin = Origin::user(user, client_address);
        let opened: Vec<_> = rows
            .iter()
            .filter(|r| r.sender_id != user.id)
            .map(|r| {
                // First: never opened before this page was read, and its first opening is
                // set by this change (not by another opening of the same moment).
                let first = r.first_read_at.is_none() && set_now.contains(&r.message_id);
                let mut event = origin.event(
                    now,
                    EventKind::MessageOpened,
                    SubjectKind::Message,
                    Some(r.message_id),
                    serde_json::json!({ "first": first }),
                );
                event.case_id = case_id;
                event
            })
            .collect();
        change.record(&opened).await?;
        change.commit().await?;
        Ok(())
    }

    /// The case a conversation is tagged with, or the reader's open cases to tag it with.
    async fn case_or_taggable(
        &self,
        user: &UserAccount,
        case_id: Option<i64>,
    ) -> anyhow::Result<(Option<CaseRow>, Vec<CaseRow>)> {
        let case = match case_id {
            Some(case_id) => self.store.case_for_user(user.id, case_id).await?,
            None => None,
        };
        if case.is_some() {
            return Ok((case, Vec::new()));
        }
        let mut open = self.store.cases_for_user(user.id).await?;
        open.retain(|c| c.status == CaseStatus::Open);
        Ok((None, open))
    }

    /// The delivery and read timelines of the letters the reader sent.
    async fn timelines(
        &self,
        user: &UserAccount,
        rows: &[ThreadMessageRow],
        now: i64,
    ) -> anyhow::Result<HashMap<i64, Vec<RecipientTimeline>>> {
        let mut timelines = HashMap::new();
        for row in rows.iter().filter(|r| r.sender_id == user.id) {
            if let Some(timeline) = self
                .audit
                .delivery_timeline(user.id, row.message_id, now)
                .await?
            {
                timelines.insert(row.message_id, timeline);
            }
        }
        Ok(timelines)
    }

    /// For each letter the reader received: the same letter in the office's other
    /// mailboxes.
    async fn same_letters(
        &self,
        user: &UserAccount,
        rows: &[ThreadMessageRow],
    ) -> anyhow::Result<HashMap<i64, Vec<SameLetter>>> {
        let mut found = HashMap::new();
        for row in rows.iter().filter(|r| r.sender_id != user.id) {
            let others = self.same_letter(user, row.message_id).await?;
            if !others.is_empty() {
                found.insert(row.message_id, others);
            }
        }
        Ok(found)
    }

    /// The names of a message's attachments, for a reader holding a copy.
    pub async fn attachment_names(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        message_id: i64,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let Some((envelope, _, _)) = self.store.message_for_user(user.id, message_id).await? else {
            return Ok(None);
        };
        let content: EnvelopeContent = open_item(identity, &envelope)?;
        Ok(Some(
            content.attachments.into_iter().map(|a| a.name).collect(),
        ))
    }

    /// Streams an attachment, decrypting as it goes: never whole in memory. The download
    /// is recorded before the first byte leaves. None when the reader holds no copy or
    /// there is no such attachment.
    pub async fn download(
        &self,
        user: &UserAccount,
        identity: UserIdentity,
        message_id: i64,
        position: usize,
        client_address: &str,
    ) -> anyhow::Result<Option<Download>> {
        let Some((envelope, _, rows)) = self.store.message_for_user(user.id, message_id).await?
        else {
            return Ok(None);
        };
        let content: EnvelopeContent = open_item(&identity, &envelope)?;
        let (Some(info), Some(row)) = (content.attachments.get(position), rows.get(position))
        else {
            return Ok(None);
        };
        let reader = self.blobs.open(&row.blob_id).await?;
        let mut event = Origin::user(user, client_address).event(
            self.clock.now(),
            EventKind::AttachmentDownloaded,
            SubjectKind::Message,
            Some(message_id),
            serde_json::json!({ "attachment": position, "size": info.size }),
        );
        event.case_id = self.store.message_case(message_id).await?;
        self.store.audit(&[event]).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut plain = match opening_reader(&identity, reader) {
                Ok(plain) => plain,
                Err(error) => {
                    let _ = tx.blocking_send(Err(std::io::Error::other(error.to_string())));
                    return;
                }
            };
            loop {
                let mut chunk = vec![0u8; 256 * 1024];
                match plain.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => {
                        chunk.truncate(n);
                        if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = tx.blocking_send(Err(error));
                        return;
                    }
                }
            }
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Some(Download {
            info: info.clone(),
            body: Box::new(Box::pin(body)),
        }))
    }
}

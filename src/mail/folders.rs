//! Folders: a page of a folder listed with each row's summary opened for its owner,
//! filing messages, emptying Deleted, and the unread count.

use std::sync::Arc;

use super::Mail;
use super::choices::Organisations;
use crate::crypto::{MailboxKeys, is_mailbox_sealed};
use crate::domain::{Folder, ListFilter, MailSort, ReplyCount, ReplyMark, ReplyState, Summary};
use crate::store::{CaseRow, Cursor, MailboxRow, UserAccount};

pub const PAGE_SIZE: i64 = 50;

/// A listed message, its summary opened for the mailbox's owner. Times are Unix seconds.
pub struct ListedMessage {
    pub entry_id: i64,
    pub message_id: i64,
    pub thread_id: i64,
    pub unread: bool,
    /// The sender, or in Sent the addressees.
    pub correspondent: String,
    pub organisation: String,
    pub subject: String,
    pub snippet: String,
    pub has_attachments: bool,
    pub sent_at: i64,
    pub delivered_at: i64,
    pub sender_name: String,
    /// The sender's organisation, for the organisation filter's choices.
    pub sender_organisation: (i64, String),
    pub case_reference: Option<String>,
    /// The summary is still as it arrived (not yet taken in under the mailbox key).
    pub waiting: bool,
    pub reply_by: Option<i64>,
    pub reply_state: ReplyState,
    /// On the sender's own copy of a reply-by letter: how the answers stand.
    pub replies: Option<ReplyCount>,
    pub assigned_to: Option<i64>,
    /// On a team's copy: the name of the member who has it in hand.
    pub with: Option<String>,
    /// The same letter already reached this office (a copy of an earlier message).
    pub duplicate: bool,
}

impl ListedMessage {
    /// Opens a row's summary; a copy sealed to keys the owner no longer has says so.
    pub fn open(keys: &MailboxKeys, row: MailboxRow, sent_folder: bool) -> Self {
        let waiting = !is_mailbox_sealed(&row.summary);
        let summary: Option<Summary> = keys.open_summary(row.entry_id, &row.summary).ok();
        let (subject, snippet, to) = match summary {
            Some(s) => (s.subject, s.snippet, s.to),
            None => (
                "(this copy cannot be decrypted)".into(),
                String::new(),
                String::new(),
            ),
        };
        let (correspondent, organisation) = if sent_folder {
            (format!("To: {to}"), String::new())
        } else {
            (row.sender_name.clone(), row.sender_organisation.clone())
        };
        Self {
            entry_id: row.entry_id,
            message_id: row.message_id,
            thread_id: row.thread_id,
            unread: !row.is_read,
            correspondent,
            organisation,
            subject,
            snippet,
            has_attachments: row.has_attachments,
            sent_at: row.sent_at,
            delivered_at: row.delivered_at,
            sender_name: row.sender_name,
            sender_organisation: (row.sender_organisation_id, row.sender_organisation),
            case_reference: row.case_reference,
            waiting,
            reply_by: row.reply_by,
            reply_state: row.reply_state,
            replies: None,
            assigned_to: row.assigned_to,
            with: None,
            duplicate: row.duplicate_of.is_some(),
        }
    }

    /// The sender's own copy of a letter that asked for a reply keeps the date and asks
    /// nothing of its owner.
    pub fn asked_for_reply(&self) -> bool {
        self.reply_by.is_some() && self.reply_state == ReplyState::None
    }

    /// What the list shows about the reply asked for, at `now`.
    pub fn reply_mark(&self, now: i64) -> Option<ReplyMark> {
        match self.replies {
            Some(answers) => ReplyMark::of_sent(self.reply_by, answers, now),
            None => ReplyMark::of_copy(self.reply_state, self.reply_by, now),
        }
    }

    pub fn open_all(keys: &MailboxKeys, rows: Vec<MailboxRow>, sent_folder: bool) -> Vec<Self> {
        rows.into_iter()
            .map(|row| Self::open(keys, row, sent_folder))
            .collect()
    }
}

pub struct FolderPage {
    pub messages: Vec<ListedMessage>,
    /// Where the next, older page starts, in the default order.
    pub older: Option<Cursor>,
    /// The next page's number, in any other order.
    pub next_page: Option<i64>,
    /// The case the page is limited to.
    pub case: Option<CaseRow>,
}

impl FolderPage {
    /// The organisations that sent this page's letters.
    pub fn sender_organisations(&self) -> impl Iterator<Item = &(i64, String)> {
        self.messages.iter().map(|m| &m.sender_organisation)
    }
}

/// What can be done to selected messages of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderAction {
    Archive,
    ToInbox,
    Delete,
    Restore,
    MarkRead,
    MarkUnread,
}

impl Mail {
    /// One page of a folder narrowed by `filter`: newest first after `after`, or in
    /// another order at page `page` (from 0). None when the filter names a case the user
    /// does not take part in. Subject order is made by search, which holds the subjects.
    #[allow(clippy::too_many_arguments)]
    pub async fn folder_page(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        folder: Folder,
        filter: &ListFilter,
        sort: MailSort,
        after: Option<Cursor>,
        page: i64,
    ) -> anyhow::Result<Option<FolderPage>> {
        let Some(case) = self.filter_case(user, filter).await? else {
            return Ok(None);
        };
        let offset = if sort.is_default() {
            0
        } else {
            page * PAGE_SIZE
        };
        let mut rows = self
            .store
            .mailbox_listing(user.id, folder, filter, sort, after, offset, PAGE_SIZE + 1)
            .await?;
        let more = rows.len() as i64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        let (older, next_page) = match (more, sort.is_default()) {
            (false, _) => (None, None),
            (true, true) => (
                rows.last().map(|r| Cursor {
                    sent_at: r.sent_at,
                    entry_id: r.entry_id,
                }),
                None,
            ),
            (true, false) => (None, Some(page + 1)),
        };
        Ok(Some(FolderPage {
            messages: self.listed(keys, rows, folder == Folder::Sent).await?,
            older,
            next_page,
            case,
        }))
    }

    /// Rows opened for listing, the sender's own reply-by letters with how the answers
    /// stand.
    pub async fn listed(
        &self,
        keys: &MailboxKeys,
        rows: Vec<MailboxRow>,
        sent_folder: bool,
    ) -> anyhow::Result<Vec<ListedMessage>> {
        let mut listed = ListedMessage::open_all(keys, rows, sent_folder);
        let mut holders: Vec<i64> = listed.iter().filter_map(|m| m.assigned_to).collect();
        holders.sort_unstable();
        holders.dedup();
        if !holders.is_empty() {
            let names = self.store.user_names(&holders).await?;
            for message in &mut listed {
                message.with = message
                    .assigned_to
                    .and_then(|id| names.get(&id))
                    .map(|(name, _)| name.clone());
            }
        }
        let asked: Vec<i64> = listed
            .iter()
            .filter(|m| m.asked_for_reply())
            .map(|m| m.message_id)
            .collect();
        if asked.is_empty() {
            return Ok(listed);
        }
        let counts = self.store.reply_counts(&asked).await?;
        for message in listed.iter_mut().filter(|m| m.asked_for_reply()) {
            message.replies = Some(
                counts
                    .iter()
                    .find(|(id, _)| *id == message.message_id)
                    .map(|(_, count)| *count)
                    .unwrap_or_default(),
            );
        }
        Ok(listed)
    }

    /// The case a list's filter names: Some(None) when it names none, None when it names
    /// a case the user does not take part in.
    pub async fn filter_case(
        &self,
        user: &UserAccount,
        filter: &ListFilter,
    ) -> anyhow::Result<Option<Option<CaseRow>>> {
        Ok(match filter.case_id {
            Some(case_id) => self.store.case_for_user(user.id, case_id).await?.map(Some),
            None => Some(None),
        })
    }

    /// The organisations offered by a folder's sender filter: those that sent its latest
    /// 500 letters, as read in the last minute (see `choices`).
    pub async fn folder_organisations(
        &self,
        user: &UserAccount,
        folder: Folder,
    ) -> anyhow::Result<Organisations> {
        let remembered = &self.organisation_choices;
        if let Some(choices) = remembered.fresh(user.id, folder) {
            return Ok(choices);
        }
        let choices = Arc::new(
            self.store
                .folder_sender_organisations(user.id, folder)
                .await?,
        );
        remembered.keep(user.id, folder, choices.clone());
        Ok(choices)
    }

    /// Applies an action to the user's own selected entries; others' entries are untouched.
    pub async fn file(
        &self,
        user: &UserAccount,
        action: FolderAction,
        entry_ids: &[i64],
    ) -> anyhow::Result<()> {
        let id = user.id;
        match action {
            FolderAction::Archive => {
                self.store
                    .move_entries(id, entry_ids, Folder::Archive)
                    .await?
            }
            FolderAction::ToInbox => {
                self.store
                    .move_entries(id, entry_ids, Folder::Inbox)
                    .await?
            }
            FolderAction::Delete => {
                self.store
                    .move_entries(id, entry_ids, Folder::Deleted)
                    .await?
            }
            FolderAction::Restore => self.store.restore_entries(id, entry_ids).await?,
            FolderAction::MarkRead => self.store.set_read(id, entry_ids, true).await?,
            FolderAction::MarkUnread => self.store.set_read(id, entry_ids, false).await?,
        }
        // After the move: a page read in between would remember the choices from before it.
        self.organisation_choices.forget(id);
        Ok(())
    }

    /// Removes the user's copies in Deleted for good. Other people's copies are untouched.
    pub async fn empty_deleted(&self, user: &UserAccount) -> anyhow::Result<u64> {
        let removed = self.store.empty_deleted(user.id).await?;
        self.organisation_choices.forget(user.id);
        Ok(removed)
    }

    /// Unread messages in the inbox, counted up to a cap.
    pub async fn unread_count(&self, user: &UserAccount) -> anyhow::Result<i64> {
        Ok(self.store.unread_count(user.id).await?)
    }
}

//! Searching one's own mail without a plaintext index. The index is the mailbox's
//! postings (word -> entry ids), kept by intake and sealed under the mailbox key; a query
//! reads one bucket per word, intersects, and leaves deleted mail, cases, dates and
//! sender, which are metadata, to SQL.

use std::collections::BTreeSet;

use crate::crypto::MailboxKeys;
use crate::domain::{Folder, ListFilter, Summary, query_words, subject_sort_key};
use crate::intake::Intake;
use crate::mail::{FolderPage, ListedMessage, Mail, PAGE_SIZE};
use crate::store::{SearchBounds, Store, UserAccount};

/// Subject order covers at most this many of a folder's newest messages.
const SUBJECT_ORDER_CAP: i64 = 20_000;

pub struct MailQuery<'a> {
    pub words: &'a str,
    pub sender: &'a str,
    pub from: i64,
    pub until: i64,
    pub limit: usize,
}

pub struct Found {
    pub messages: Vec<ListedMessage>,
    /// More matched than `limit`.
    pub truncated: bool,
    /// Some mail was still being taken in: it is not searched yet.
    pub incomplete: bool,
}

/// How long a search waits for mail that arrived unseen to be taken in before it searches
/// what is in: a whole backlog (a mailbox of a million letters that arrived while its
/// owner was away) takes minutes, and goes on in the background.
const INTAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

#[derive(Clone)]
pub struct Search {
    store: Store,
    intake: Intake,
    mail: Mail,
}

impl Search {
    pub fn new(store: Store, intake: Intake, mail: Mail) -> Self {
        Self {
            store,
            intake,
            mail,
        }
    }

    pub async fn search(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        query: &MailQuery<'_>,
    ) -> anyhow::Result<Found> {
        let bounds = SearchBounds {
            from: query.from,
            until: query.until,
            sender: query.sender,
        };
        let words = query_words(query.words);
        let complete = self
            .intake
            .finish_within(user.id, keys, INTAKE_WAIT)
            .await?;
        let mut ids = if words.is_empty() {
            self.store
                .search_filter(user.id, &bounds, query.limit + 1)
                .await?
        } else {
            let candidates = self.matching_entries(user, keys, &words).await?;
            self.store
                .search_candidates(user.id, &bounds, &candidates, query.limit)
                .await?
        };
        let truncated = ids.len() > query.limit;
        ids.truncate(query.limit);
        let rows = self.store.mailbox_rows(user.id, &ids).await?;
        Ok(Found {
            messages: self.mail.listed(keys, rows, false).await?,
            truncated,
            incomplete: !complete,
        })
    }

    /// Entry ids holding every word, highest first, among the mail taken in.
    async fn matching_entries(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        words: &[String],
    ) -> anyhow::Result<Vec<i64>> {
        let mut found: Option<BTreeSet<i64>> = None;
        for word in words {
            let ids = self.intake.matching(user.id, &keys.key, word).await?;
            let narrowed = match found {
                None => ids,
                Some(so_far) => so_far.intersection(&ids).copied().collect(),
            };
            if narrowed.is_empty() {
                return Ok(Vec::new());
            }
            found = Some(narrowed);
        }
        Ok(found.unwrap_or_default().into_iter().rev().collect())
    }

    /// One page of a folder in subject order (A to Z, or Z to A), narrowed by `filter`.
    /// Subjects are sealed, so the order is made here from the summaries of at most the
    /// newest `SUBJECT_ORDER_CAP` messages of the folder. None when the filter names a
    /// case the user does not take part in.
    pub async fn subject_page(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
        folder: Folder,
        filter: &ListFilter,
        descending: bool,
        page: i64,
    ) -> anyhow::Result<Option<FolderPage>> {
        let Some(case) = self.mail.filter_case(user, filter).await? else {
            return Ok(None);
        };
        // Summaries not yet taken in open with the owner's key too: no need to wait.
        self.intake.start(user.id, keys.clone());
        let candidates = self
            .store
            .mailbox_summaries(user.id, folder, filter, SUBJECT_ORDER_CAP)
            .await?;
        let opener = keys.clone();
        // Newest first among equal subjects, as candidates arrive.
        let ordered: Vec<i64> = tokio::task::spawn_blocking(move || {
            let mut keyed: Vec<(String, usize, i64)> = candidates
                .into_iter()
                .enumerate()
                .map(|(at, (id, sealed))| {
                    let subject = opener
                        .open_summary::<Summary>(id, &sealed)
                        .map(|s| subject_sort_key(&s.subject))
                        .unwrap_or_default();
                    (subject, at, id)
                })
                .collect();
            keyed.sort_by(|(a_key, a_at, _), (b_key, b_at, _)| {
                let by_subject = if descending {
                    b_key.cmp(a_key)
                } else {
                    a_key.cmp(b_key)
                };
                by_subject.then(a_at.cmp(b_at))
            });
            keyed.into_iter().map(|(_, _, id)| id).collect()
        })
        .await?;
        let start = (page.max(0) * PAGE_SIZE) as usize;
        let ids: Vec<i64> = ordered
            .iter()
            .skip(start)
            .take(PAGE_SIZE as usize)
            .copied()
            .collect();
        let next_page = (ordered.len() > start + ids.len()).then_some(page + 1);
        let mut rows = self.store.mailbox_rows(user.id, &ids).await?;
        rows.sort_by_key(|row| ids.iter().position(|id| *id == row.entry_id));
        Ok(Some(FolderPage {
            messages: self.mail.listed(keys, rows, folder == Folder::Sent).await?,
            older: None,
            next_page,
            case,
        }))
    }
}

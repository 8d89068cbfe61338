//! Searching one's own mail without a plaintext index. Each user's search text lives in
//! a few index segments encrypted to that user alone; a search decrypts the segments plus
//! the summaries of messages newer than the index, then folds those into a new segment so
//! the next search is fast. Sender and dates are filtered in SQL, since they are metadata.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::crypto::{UserIdentity, open_item, seal_item};
use crate::domain::{Folder, ListFilter, Summary, subject_sort_key};
use crate::mail::{FolderPage, ListedMessage, PAGE_SIZE};
use crate::store::{Store, UserAccount};

/// Messages newer than the index are folded into a segment once there are this many.
const COMPACT_AFTER: usize = 64;
/// Past this many segments, a search merges them into one.
const MERGE_AFTER: usize = 8;
/// Subject order covers at most this many of a folder's newest messages.
const SUBJECT_ORDER_CAP: i64 = 20_000;

#[derive(Serialize, Deserialize, Default)]
struct Segment {
    entries: Vec<(i64, String)>,
}

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
}

#[derive(Clone)]
pub struct Search {
    store: Store,
}

impl Search {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn search(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        query: &MailQuery<'_>,
    ) -> anyhow::Result<Found> {
        let words: Vec<String> = query
            .words
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let allowed = self
            .store
            .search_filter(user.id, query.from, query.until, query.sender)
            .await?;
        let matching: Option<HashSet<i64>> = if words.is_empty() {
            None
        } else {
            Some(self.matching_entries(user, identity, &words).await?)
        };
        let mut ids: Vec<i64> = allowed
            .into_iter()
            .filter(|id| matching.as_ref().is_none_or(|m| m.contains(id)))
            .take(query.limit + 1)
            .collect();
        let truncated = ids.len() > query.limit;
        ids.truncate(query.limit);
        let rows = self.store.mailbox_rows(user.id, &ids).await?;
        Ok(Found {
            messages: ListedMessage::open_all(identity, rows, false),
            truncated,
        })
    }

    /// Entry ids whose search text holds every word, from the index and newer summaries.
    async fn matching_entries(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        words: &[String],
    ) -> anyhow::Result<HashSet<i64>> {
        let words = words.to_vec();
        let found = self
            .scan(user, identity, move |text| {
                words
                    .iter()
                    .all(|w| text.contains(w.as_str()))
                    .then_some(())
            })
            .await?;
        Ok(found.into_iter().map(|(id, ())| id).collect())
    }

    /// One page of a folder in subject order (A to Z, or Z to A), narrowed by `filter`.
    /// Subjects are sealed, so the order comes from the user's own search index; at most
    /// the newest `SUBJECT_ORDER_CAP` messages of the folder are ordered. None when the
    /// filter names a case the user does not take part in.
    #[allow(clippy::too_many_arguments)]
    pub async fn subject_page(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        folder: Folder,
        filter: &ListFilter,
        descending: bool,
        page: i64,
    ) -> anyhow::Result<Option<FolderPage>> {
        let case = match filter.case_id {
            Some(case_id) => match self.store.case_for_user(user.id, case_id).await? {
                Some(case) => Some(case),
                None => return Ok(None),
            },
            None => None,
        };
        let candidates = self
            .store
            .mailbox_entry_ids(user.id, folder, filter, SUBJECT_ORDER_CAP)
            .await?;
        let keys: HashMap<i64, String> = self
            .scan(user, identity, |text| {
                Some(subject_sort_key(text.split('\n').next().unwrap_or("")))
            })
            .await?
            .into_iter()
            .collect();
        // Newest first among equal subjects, as candidates arrive.
        let mut ordered: Vec<(usize, i64)> = candidates.into_iter().enumerate().collect();
        ordered.sort_by(|(a_at, a), (b_at, b)| {
            let (a_key, b_key) = (keys.get(a), keys.get(b));
            let by_subject = if descending {
                b_key.cmp(&a_key)
            } else {
                a_key.cmp(&b_key)
            };
            by_subject.then(a_at.cmp(b_at))
        });
        let start = (page.max(0) * PAGE_SIZE) as usize;
        let ids: Vec<i64> = ordered
            .iter()
            .skip(start)
            .take(PAGE_SIZE as usize)
            .map(|(_, id)| *id)
            .collect();
        let next_page = (ordered.len() > start + ids.len()).then_some(page + 1);
        let mut rows = self.store.mailbox_rows(user.id, &ids).await?;
        rows.sort_by_key(|row| ids.iter().position(|id| *id == row.entry_id));
        Ok(Some(FolderPage {
            messages: ListedMessage::open_all(identity, rows, folder == Folder::Sent),
            older: None,
            next_page,
            case,
        }))
    }

    /// Runs `pick` over the search text of every one of the user's messages, from the index
    /// and the summaries newer than it, keeping what it returns; folds the newer ones into
    /// a segment when there are enough.
    async fn scan<T, F>(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        pick: F,
    ) -> anyhow::Result<Vec<(i64, T)>>
    where
        T: Send + 'static,
        F: Fn(&str) -> Option<T> + Send + 'static,
    {
        let segments = self.store.search_segments(user.id).await?;
        let indexed_up_to = segments.iter().map(|s| s.last_entry_id).max().unwrap_or(0);
        let fresh = self.store.summaries_after(user.id, indexed_up_to).await?;
        let identity = identity.clone();
        let segment_ids: Vec<i64> = segments.iter().map(|s| s.id).collect();
        let (picked, fresh_entries, merged) = tokio::task::spawn_blocking(move || {
            let mut all: Vec<(i64, String)> = Vec::new();
            for segment in &segments {
                if let Ok(content) = open_item::<Segment>(&identity, &segment.content) {
                    all.extend(content.entries);
                }
            }
            let mut fresh_entries = Vec::with_capacity(fresh.len());
            for (id, summary) in &fresh {
                if let Ok(summary) = open_item::<Summary>(&identity, summary) {
                    fresh_entries.push((*id, summary.search));
                }
            }
            let picked: Vec<(i64, T)> = all
                .iter()
                .chain(&fresh_entries)
                .filter_map(|(id, text)| pick(text).map(|value| (*id, value)))
                .collect();
            (picked, fresh_entries, all)
        })
        .await?;
        if fresh_entries.len() >= COMPACT_AFTER {
            let last = fresh_entries.last().map_or(indexed_up_to, |(id, _)| *id);
            if segment_ids.len() + 1 > MERGE_AFTER {
                let mut entries = merged;
                entries.extend(fresh_entries);
                self.store_segment(user, last, entries, &segment_ids)
                    .await?;
            } else {
                self.store_segment(user, last, fresh_entries, &[]).await?;
            }
        }
        Ok(picked)
    }

    async fn store_segment(
        &self,
        user: &UserAccount,
        last_entry_id: i64,
        entries: Vec<(i64, String)>,
        replaces: &[i64],
    ) -> anyhow::Result<()> {
        let count = entries.len() as i64;
        let key = user.public_recipient.clone();
        let sealed =
            tokio::task::spawn_blocking(move || seal_item(&key, &Segment { entries })).await??;
        self.store
            .put_search_segment(user.id, last_entry_id, count, &sealed, replaces)
            .await?;
        Ok(())
    }
}

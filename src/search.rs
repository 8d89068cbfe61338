//! Searching one's own mail without a plaintext index. Each user's search text lives in
//! a few index segments encrypted to that user alone; a search decrypts the segments plus
//! the summaries of messages newer than the index, then folds those into a new segment so
//! the next search is fast. Sender and dates are filtered in SQL, since they are metadata.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::crypto::{UserIdentity, open_item, seal_item};
use crate::domain::Summary;
use crate::mail::ListedMessage;
use crate::store::{Store, UserAccount};

/// Messages newer than the index are folded into a segment once there are this many.
const COMPACT_AFTER: usize = 64;
/// Past this many segments, a search merges them into one.
const MERGE_AFTER: usize = 8;

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
        let segments = self.store.search_segments(user.id).await?;
        let indexed_up_to = segments.iter().map(|s| s.last_entry_id).max().unwrap_or(0);
        let fresh = self.store.summaries_after(user.id, indexed_up_to).await?;
        let identity = identity.clone();
        let words = words.to_vec();
        let segment_ids: Vec<i64> = segments.iter().map(|s| s.id).collect();
        let (matches, fresh_entries, merged) = tokio::task::spawn_blocking(move || {
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
            let matches: HashSet<i64> = all
                .iter()
                .chain(&fresh_entries)
                .filter(|(_, text)| words.iter().all(|w| text.contains(w.as_str())))
                .map(|(id, _)| *id)
                .collect();
            (matches, fresh_entries, all)
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
        Ok(matches)
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

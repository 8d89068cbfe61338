//! Taking mail in: a delivery seals each reader's summary with age, which only the reader
//! can open. The first time the owner is signed in after it arrives, their session opens
//! it once, re-seals it under the mailbox key (symmetric, cheap to open again) without
//! its search text, and adds its words to the mailbox's search postings, sealed under the
//! same key. Lists then cost no public-key operation per row, and search reads one
//! bucket of postings per word instead of every message.
//!
//! Intake runs in the background, one task per mailbox per process, started at sign-in
//! and whenever a list meets mail that has not been taken in; search waits for it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::crypto::{MailboxKey, MailboxKeys, UserIdentity, is_mailbox_sealed};
use crate::domain::{Postings, Summary, bucket_name, index_terms, matching_in};
use crate::store::{Store, UserAccount};
use zeroize::Zeroizing;

/// Buckets a mailbox's postings are spread over, by keyed hash of a word's first letters.
pub const BUCKETS: u32 = 1024;
/// Summaries taken in per transaction.
const BATCH: i64 = 512;
/// A bucket with more posting rows than this is merged into one row.
const MERGE_OVER: i64 = 12;

#[derive(Clone)]
pub struct Intake {
    store: Store,
    clock: Clock,
    /// One lock per mailbox being taken in, so a search waits for a running intake.
    running: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Intake {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self {
            store,
            clock,
            running: Arc::default(),
        }
    }

    /// The keys a user reads their own mailbox with; the mailbox key is made on first use.
    pub async fn keys(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
    ) -> anyhow::Result<MailboxKeys> {
        let wrapped = match self.store.mailbox_key(user.id).await? {
            Some(wrapped) => wrapped,
            None => {
                let wrapped = MailboxKey::generate()?.wrap(&user.public_recipient)?;
                self.store
                    .add_mailbox_key(user.id, &wrapped, self.clock.now())
                    .await?;
                // Another request may have stored its key first: use whichever is there.
                self.store
                    .mailbox_key(user.id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("mailbox key missing after insert"))?
            }
        };
        Ok(MailboxKeys {
            key: MailboxKey::unwrap(identity, &wrapped)?,
            identity: identity.clone(),
        })
    }

    /// Starts taking in the mailbox's waiting mail in the background, unless that is
    /// already under way.
    pub fn start(&self, user_id: i64, keys: MailboxKeys) {
        if self.lock_for(user_id).try_lock().is_err() {
            return;
        }
        let intake = self.clone();
        tokio::spawn(async move {
            if let Err(error) = intake.take_in(user_id, &keys).await {
                tracing::warn!(user_id, error = %error, "intake stopped; it resumes on the next list");
            }
        });
    }

    /// Takes in what is waiting, but waits at most `limit` for it (a whole backlog can
    /// take minutes): true when everything is in, false when intake goes on in the
    /// background and the caller must do with what is in so far.
    pub async fn finish_within(
        &self,
        user_id: i64,
        keys: &MailboxKeys,
        limit: std::time::Duration,
    ) -> anyhow::Result<bool> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.store.has_waiting_summaries(user_id).await? {
            self.start(user_id, keys.clone());
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            let lock = self.lock_for(user_id);
            // The running intake holds the lock until it has taken everything in.
            if tokio::time::timeout_at(deadline, lock.lock())
                .await
                .is_err()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Takes in everything waiting in the mailbox, and returns once it is all in (or
    /// once a running intake has finished).
    pub async fn take_in(&self, user_id: i64, keys: &MailboxKeys) -> anyhow::Result<()> {
        let lock = self.lock_for(user_id);
        let _held = lock.lock().await;
        // Mail that arrives while the index is being merged is taken in before the lock
        // goes: whoever listed it found intake running and left it to this one.
        while self.store.has_waiting_summaries(user_id).await? {
            loop {
                let waiting = self.store.waiting_summaries(user_id, BATCH).await?;
                if waiting.is_empty() {
                    break;
                }
                let prepared = {
                    let keys = keys.clone();
                    tokio::task::spawn_blocking(move || prepare(user_id, &keys, waiting)).await??
                };
                // False: another instance took some in first; the next round skips them.
                self.store
                    .take_in(user_id, &prepared.resealed, &prepared.postings)
                    .await?;
            }
            self.merge_crowded(user_id, &keys.key).await?;
        }
        drop(_held);
        self.forget_if_idle(user_id, lock);
        Ok(())
    }

    /// Every entry id of the mailbox whose words include one that `word` begins.
    pub async fn matching(
        &self,
        user_id: i64,
        key: &MailboxKey,
        word: &str,
    ) -> anyhow::Result<BTreeSet<i64>> {
        let bucket = i64::from(key.bucket(bucket_name(word), BUCKETS)?);
        let rows = self.store.postings(user_id, bucket).await?;
        let key = key.clone();
        let word = word.to_string();
        let context = postings_context(user_id, bucket);
        tokio::task::spawn_blocking(move || {
            let mut found = BTreeSet::new();
            for (_, sealed) in rows {
                let plain = Zeroizing::new(key.open_bytes(&context, &sealed)?);
                found.extend(matching_in(&plain, &word)?);
            }
            anyhow::Ok(found)
        })
        .await?
    }

    /// Merges the newer rows of each bucket that has grown many, so a search reads few
    /// rows, and a large old row is rewritten only once the rows after it add up to it.
    async fn merge_crowded(&self, user_id: i64, key: &MailboxKey) -> anyhow::Result<()> {
        for bucket in self.store.crowded_buckets(user_id, MERGE_OVER).await? {
            let mut rows = self.store.postings(user_id, bucket).await?;
            rows.drain(..rows.len() - newest_comparable(&rows));
            let replaces: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let key = key.clone();
            let merged = tokio::task::spawn_blocking(move || {
                let postings = open_bucket(&key, user_id, bucket, rows)?;
                anyhow::Ok(key.seal(&postings_context(user_id, bucket), &postings.encode())?)
            })
            .await??;
            self.store
                .merge_postings(user_id, bucket, &replaces, &merged)
                .await?;
        }
        Ok(())
    }

    fn lock_for(&self, user_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.entry(user_id).or_default().clone()
    }

    /// Drops a mailbox's lock once nobody else holds or waits on it, so the map stays as
    /// small as the number of mailboxes being taken in.
    fn forget_if_idle(&self, user_id: i64, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&lock) == 2 {
            running.remove(&user_id);
        }
    }
}

/// How many of a bucket's newest rows to merge (at least two): going back from the
/// newest, each older row joins while it is no larger than half of those already taken.
fn newest_comparable(rows: &[(i64, Vec<u8>)]) -> usize {
    let mut taken = 0;
    let mut total = 0;
    for (_, content) in rows.iter().rev() {
        if taken >= 2 && content.len() > total / 2 {
            break;
        }
        taken += 1;
        total += content.len();
    }
    taken
}

struct Prepared {
    resealed: Vec<(i64, Vec<u8>)>,
    postings: Vec<(i64, Vec<u8>)>,
}

/// Opens a batch of arrived summaries, re-seals them under the mailbox key without their
/// search text, and seals their words as one postings row per bucket touched. A summary
/// that no longer opens (sealed to a key the owner has lost) is kept as it is and marked
/// taken in, so it is not tried again.
fn prepare(
    user_id: i64,
    keys: &MailboxKeys,
    waiting: Vec<(i64, Vec<u8>)>,
) -> anyhow::Result<Prepared> {
    let mut resealed = Vec::with_capacity(waiting.len());
    let mut buckets: BTreeMap<i64, Postings> = BTreeMap::new();
    for (entry_id, sealed) in waiting {
        if is_mailbox_sealed(&sealed) {
            resealed.push((entry_id, sealed));
            continue;
        }
        let Ok(mut summary) = keys.open_summary::<Summary>(entry_id, &sealed) else {
            resealed.push((entry_id, sealed));
            continue;
        };
        for word in index_terms(&summary.search) {
            let bucket = i64::from(keys.key.bucket(bucket_name(&word), BUCKETS)?);
            buckets.entry(bucket).or_default().add(word, entry_id);
        }
        summary.search = String::new();
        resealed.push((entry_id, keys.seal_summary(entry_id, &summary)?));
    }
    let postings = buckets
        .into_iter()
        .map(|(bucket, postings)| {
            let sealed = keys
                .key
                .seal(&postings_context(user_id, bucket), &postings.encode())?;
            anyhow::Ok((bucket, sealed))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Prepared { resealed, postings })
}

/// A bucket's rows opened and merged into one share of the index.
fn open_bucket(
    key: &MailboxKey,
    user_id: i64,
    bucket: i64,
    rows: Vec<(i64, Vec<u8>)>,
) -> anyhow::Result<Postings> {
    let context = postings_context(user_id, bucket);
    let mut postings = Postings::default();
    for (_, sealed) in rows {
        postings.absorb(Postings::decode(key.open(&context, &sealed)?));
    }
    Ok(postings)
}

fn postings_context(user_id: i64, bucket: i64) -> String {
    format!("postings {user_id} {bucket}")
}

#[cfg(test)]
mod tests {
    use super::newest_comparable;

    fn rows(sizes: &[usize]) -> Vec<(i64, Vec<u8>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(id, size)| (id as i64, vec![0; *size]))
            .collect()
    }

    #[test]
    fn a_large_old_row_is_left_until_the_newer_ones_add_up() {
        let mut sizes = vec![10_000];
        sizes.extend([10; 12]);
        assert_eq!(newest_comparable(&rows(&sizes)), 12, "the small rows merge");
        assert_eq!(
            newest_comparable(&rows(&[100, 100, 100])),
            3,
            "equals merge"
        );
        assert_eq!(
            newest_comparable(&rows(&[5, 10_000])),
            2,
            "always at least two"
        );
    }
}

//! Taking mail in: a delivery seals each reader's summary with age, which only the reader
//! can open. The first time the owner is signed in after it arrives, their session opens
//! it once, re-seals it under the mailbox key (symmetric, cheap to open again) without
//! its search text, and adds its words to the mailbox's search postings, sealed under the
//! same key. Lists then cost no public-key operation per row, and search reads one
//! bucket of postings per word instead of every message.
//!
//! Intake runs in the background, one task per mailbox per process, started at sign-in
//! and whenever a list meets mail that has not been taken in; search waits for it.

mod index;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::crypto::{MailboxKey, MailboxKeys, UserIdentity, is_mailbox_sealed};
use crate::domain::{Postings, Summary, index_terms};
use crate::store::{Store, UNSPLIT, UserAccount};

/// Summaries taken in per transaction.
const BATCH: i64 = 512;

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
            // Each round goes forward from the oldest waiting entry; anything a round passes
            // over (another instance was taking it in) is met by the next round.
            let mut after = 0;
            loop {
                let waiting = self.store.waiting_summaries(user_id, after, BATCH).await?;
                let Some((last, _)) = waiting.last() else {
                    break;
                };
                after = *last;
                let prepared = {
                    let keys = keys.clone();
                    tokio::task::spawn_blocking(move || prepare(user_id, &keys, waiting)).await??
                };
                // False: another instance took some in first; the next round meets the rest.
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

struct Prepared {
    resealed: Vec<(i64, Vec<u8>)>,
    postings: Vec<(i64, Vec<u8>)>,
}

/// Opens a batch of arrived summaries, re-seals them under the mailbox key without their
/// search text, and seals their words as one unsplit postings row per bucket touched. A summary
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
            let bucket = index::bucket_of(&keys.key, &word)?;
            buckets.entry(bucket).or_default().add(word, entry_id);
        }
        summary.search = String::new();
        resealed.push((entry_id, keys.seal_summary(entry_id, &summary)?));
    }
    let postings = buckets
        .into_iter()
        .map(|(bucket, postings)| {
            let sealed = keys.key.seal(
                &index::context(user_id, bucket, UNSPLIT),
                &postings.encode(),
            )?;
            anyhow::Ok((bucket, sealed))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Prepared { resealed, postings })
}

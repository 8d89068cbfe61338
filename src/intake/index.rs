//! The mailbox's search index: postings (word -> entry ids) sealed under the mailbox key,
//! in buckets named by a keyed hash of a word's first three letters, so the database sees
//! only numbers. Intake adds one unsplit row per bucket per batch, and rows are merged
//! as they pile up. A bucket whose unsplit rows grow past `SPLIT_OVER` bytes is split
//! into shards by a keyed hash of its words' first five letters: a search for a word of
//! five letters or more then reads one shard and the bucket's few newer unsplit rows,
//! not every word sharing its first three letters (a million reference numbers, say).

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use super::Intake;
use crate::crypto::MailboxKey;
use crate::domain::{Postings, bucket_name, matching_in, query_shard_name, shard_name};
use crate::store::{Reshelved, UNSPLIT};

/// Buckets a mailbox's postings are spread over.
const BUCKETS: u32 = 1024;
/// Shards a split bucket is spread over.
const SHARDS: u32 = 64;
/// Rows of one shard (or of a bucket's unsplit rows) beyond this many are merged.
const MERGE_OVER: i64 = 12;
/// Unsplit rows of a bucket that hold more than this many bytes together are split.
const SPLIT_OVER: i64 = 256 * 1024;
/// Buckets merged in one transaction: after a busy round a thousand buckets may be due at
/// once, and a commit for each would be a thousand flushes.
const MERGES_PER_COMMIT: usize = 64;

impl Intake {
    /// Whether a mailbox's intake has nothing left to do: no mail waiting, and no postings
    /// to merge or split (an intake that has just taken the last letter in may still be
    /// merging).
    pub async fn settled(&self, user_id: i64) -> anyhow::Result<bool> {
        Ok(!self.store.has_waiting_summaries(user_id).await?
            && self
                .store
                .crowded_postings(user_id, MERGE_OVER, SPLIT_OVER)
                .await?
                .is_empty())
    }

    /// Every entry id of the mailbox whose words include one that `word` begins.
    pub async fn matching(
        &self,
        user_id: i64,
        key: &MailboxKey,
        word: &str,
    ) -> anyhow::Result<BTreeSet<i64>> {
        let bucket = bucket_of(key, word)?;
        let shard = query_shard_name(word)
            .map(|name| shard_of(key, name))
            .transpose()?;
        let rows = self.store.postings(user_id, bucket, shard).await?;
        let key = key.clone();
        let word = word.to_string();
        tokio::task::spawn_blocking(move || {
            let mut found = BTreeSet::new();
            for (shard, sealed) in rows {
                let context = context(user_id, bucket, shard);
                let plain = Zeroizing::new(key.open_bytes(&context, &sealed)?);
                found.extend(matching_in(&plain, &word)?);
            }
            anyhow::Ok(found)
        })
        .await?
    }

    /// Merges rows that have piled up in a shard or among a bucket's unsplit rows, so a
    /// search reads few rows, and splits unsplit rows grown large. Within a shard a large
    /// old row is rewritten only once the rows after it add up to it.
    pub(super) async fn merge_crowded(&self, user_id: i64, key: &MailboxKey) -> anyhow::Result<()> {
        let crowded = self
            .store
            .crowded_postings(user_id, MERGE_OVER, SPLIT_OVER)
            .await?;
        for crowded in crowded.chunks(MERGES_PER_COMMIT) {
            let mut reshelved = Vec::with_capacity(crowded.len());
            for &(bucket, shard) in crowded {
                let mut rows = self.store.shard_postings(user_id, bucket, shard).await?;
                if shard != UNSPLIT {
                    rows.drain(..rows.len() - newest_comparable(&rows));
                }
                let replaces: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
                let key = key.clone();
                let shares = tokio::task::spawn_blocking(move || {
                    reshelve(&key, user_id, bucket, shard, rows)
                })
                .await??;
                reshelved.push(Reshelved {
                    bucket,
                    replaces,
                    shares,
                });
            }
            self.store.replace_postings(user_id, &reshelved).await?;
        }
        Ok(())
    }
}

/// The bucket a word (indexed or searched for) is kept in.
pub(super) fn bucket_of(key: &MailboxKey, word: &str) -> anyhow::Result<i64> {
    Ok(i64::from(key.bucket(bucket_name(word), BUCKETS)?))
}

/// The shard, within a split bucket, of the words beginning with `name`.
fn shard_of(key: &MailboxKey, name: &str) -> anyhow::Result<i64> {
    Ok(i64::from(key.bucket(&format!("shard:{name}"), SHARDS)?))
}

/// What a postings row is sealed to, so a row cannot be passed off as another
/// mailbox's, bucket's or shard's.
pub(super) fn context(user_id: i64, bucket: i64, shard: i64) -> String {
    if shard == UNSPLIT {
        format!("postings {user_id} {bucket}")
    } else {
        format!("postings {user_id} {bucket} shard {shard}")
    }
}

/// Rows of one shard (or of a bucket's unsplit rows) merged into one sealed share, or,
/// when unsplit rows hold more than `SPLIT_OVER`, into one share per shard; as (shard,
/// sealed content).
fn reshelve(
    key: &MailboxKey,
    user_id: i64,
    bucket: i64,
    shard: i64,
    rows: Vec<(i64, Vec<u8>)>,
) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let size: usize = rows.iter().map(|(_, sealed)| sealed.len()).sum();
    let sealed_as = context(user_id, bucket, shard);
    let mut postings = Postings::default();
    for (_, sealed) in rows {
        postings.absorb(Postings::decode(key.open(&sealed_as, &sealed)?));
    }
    let shares = if shard == UNSPLIT && size as i64 > SPLIT_OVER {
        postings.split_by(|word| shard_of(key, shard_name(word)))?
    } else {
        [(shard, postings)].into()
    };
    shares
        .into_iter()
        .map(|(shard, share)| {
            let sealed = key.seal(&context(user_id, bucket, shard), &share.encode())?;
            Ok((shard, sealed))
        })
        .collect()
}

/// How many of a shard's newest rows to merge (at least two): going back from the
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn sealed_rows(
        key: &MailboxKey,
        words: impl Iterator<Item = (String, i64)>,
    ) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
        let mut postings = Postings::default();
        for (word, id) in words {
            postings.add(word, id);
        }
        Ok(vec![(
            1,
            key.seal(&context(7, 3, UNSPLIT), &postings.encode())?,
        )])
    }

    #[test]
    fn large_unsplit_rows_split_into_shards_that_each_hold_whole_words() -> anyhow::Result<()> {
        let key = MailboxKey::generate()?;
        let words = (0..30_000).map(|n| (format!("word{n}"), n));
        let shares = reshelve(&key, 7, 3, UNSPLIT, sealed_rows(&key, words)?)?;
        assert!(shares.len() > 1, "split into shards");
        let wanted = shard_of(&key, "word1")?;
        let mut found = BTreeSet::new();
        for (shard, sealed) in &shares {
            assert_ne!(*shard, UNSPLIT);
            let plain = key.open_bytes(&context(7, 3, *shard), sealed)?;
            let matches = matching_in(&plain, "word123")?;
            assert!(
                matches.is_empty() || *shard == wanted,
                "one shard holds them"
            );
            found.extend(matches);
        }
        let expected: BTreeSet<i64> = [123, 1230, 1231, 1232, 1233, 1234, 1235, 1236, 1237]
            .into_iter()
            .chain([1238, 1239])
            .chain(12_300..12_400)
            .collect();
        assert_eq!(found, expected, "every word is still found");
        Ok(())
    }

    #[test]
    fn small_unsplit_rows_merge_into_one_unsplit_row() -> anyhow::Result<()> {
        let key = MailboxKey::generate()?;
        let words = (0..50).map(|n| (format!("word{n}"), n));
        let shares = reshelve(&key, 7, 3, UNSPLIT, sealed_rows(&key, words)?)?;
        assert_eq!(shares.len(), 1);
        assert_eq!(shares[0].0, UNSPLIT);
        Ok(())
    }
}

//! Attachment space: each sender's allowance, and sweeping blobs that no message refers
//! to (a server killed between storing a file and delivering its message leaves them).

use std::time::{Duration, SystemTime};

use super::Mail;
use crate::store::UserAccount;

/// A partial upload not written to for this long is dead. Generous: a very slow upload
/// writes its file only as buffers fill.
const PARTIAL_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);

/// A whole blob no attachment names is removed once this old. Generous, because a blob is
/// whole before its message is delivered: the first file of a long, slow upload of many
/// files waits for the last (uploads are cut after `limits::UPLOAD_HOURS`).
pub const ORPHAN_BLOB_AGE: Duration = Duration::from_secs(24 * 3600);

impl Mail {
    /// Bytes the sender may still attach: the deployment's storage allowance less what
    /// their sent messages' attachments already take.
    pub async fn storage_left(&self, sender: &UserAccount) -> anyhow::Result<u64> {
        let used = u64::try_from(self.store.attachment_bytes_sent(sender.id).await?)?;
        Ok(self.config.storage_quota_bytes().saturating_sub(used))
    }

    /// Removes partial uploads and blobs that no attachment names and that are older than
    /// `min_age`. Returns how many files went.
    pub async fn sweep_orphan_blobs(&self, min_age: Duration) -> anyhow::Result<usize> {
        let cutoff = SystemTime::now() - min_age;
        let partial_cutoff = SystemTime::now() - min_age.min(PARTIAL_UPLOAD_AGE);
        let partials = self.blobs.remove_stale_partials(partial_cutoff).await?;
        let candidates: Vec<String> = self
            .blobs
            .list()
            .await?
            .into_iter()
            .filter(|(_, written)| *written < cutoff)
            .map(|(id, _)| id)
            .collect();
        let referenced = self.store.referenced_blobs(&candidates).await?;
        if referenced.is_empty()
            && !candidates.is_empty()
            && self.store.attachment_count().await? == 0
        {
            // Files but no attachment rows at all: most likely a data directory started
            // against the wrong (or a new) database. Remove nothing.
            tracing::warn!(
                files = candidates.len(),
                "attachment files exist but the database has no attachments: not sweeping"
            );
            return Ok(partials);
        }
        let orphans: Vec<String> = candidates
            .into_iter()
            .filter(|id| !referenced.contains(id))
            .collect();
        for id in &orphans {
            self.blobs.delete(id).await?;
        }
        Ok(partials + orphans.len())
    }
}

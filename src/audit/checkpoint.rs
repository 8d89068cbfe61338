//! Verifying the chain as it grows: a scheduled job (under a job lock, so one instance at a
//! time) checks only the events after the stored checkpoint, link by link from the event
//! it stopped at, and moves the checkpoint on. Audit pages read the checkpoint, so no
//! request does work that grows with the whole chain; `casemail audit verify` still walks
//! it from the start.

use super::Audit;
use super::verify::ChainBreak;
use crate::store::{AuditCheckpoint, ChainRow};

const CHECK_JOB: &str = "audit-check";
/// Events read per round trip; the checkpoint is saved after each page, so a run cut
/// short (a restart, a deploy) loses at most one page of work.
const PAGE: i64 = 5000;

/// What an audit page says about the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainState {
    /// The check has not run yet (a new deployment, in its first minute).
    Unchecked,
    /// Intact up to this event; `later` events since then wait for the next run.
    Intact {
        up_to: i64,
        hash: String,
        at: i64,
        later: i64,
    },
    /// A break was found after the last good event.
    Broken { up_to: i64, at: i64, broken: String },
}

impl Audit {
    /// Checks the events after the checkpoint and moves it on. Returns the new checkpoint,
    /// or None when another instance holds the job.
    pub async fn check_new_events(
        &self,
        holder: &str,
        now: i64,
    ) -> anyhow::Result<Option<AuditCheckpoint>> {
        if !self
            .store
            .try_job_lock(CHECK_JOB, holder, now, now + 600)
            .await?
        {
            return Ok(None);
        }
        let result = self.check_from_checkpoint(now).await;
        self.store.release_job_lock(CHECK_JOB, holder).await?;
        result.map(Some)
    }

    async fn check_from_checkpoint(&self, now: i64) -> anyhow::Result<AuditCheckpoint> {
        let stored = self.store.audit_checkpoint().await?;
        // Start at the last good event: the checkpoint's own row must still be what was
        // verified (a rewritten row there is a break), and every later row must follow.
        let mut previous: Option<ChainRow> = match &stored {
            None => None,
            Some(checkpoint) => {
                let row = self
                    .store
                    .audit_chain_page(checkpoint.up_to_seq - 1, 1)
                    .await?
                    .into_iter()
                    .next()
                    .filter(|row| {
                        row.seq == checkpoint.up_to_seq
                            && row.hash == checkpoint.up_to_hash
                            && row.computed_hash() == row.hash
                    });
                match row {
                    Some(row) => Some(row),
                    None => {
                        let broken = ChainBreak::HeadMismatch {
                            seq: checkpoint.up_to_seq,
                        };
                        return self.save(checkpoint.clone(), now, Some(broken)).await;
                    }
                }
            }
        };
        let mut checkpoint = stored.unwrap_or(AuditCheckpoint {
            up_to_seq: 0,
            up_to_hash: String::new(),
            verified_at: now,
            broken: None,
        });
        loop {
            let after = previous.as_ref().map_or(0, |p| p.seq);
            let page = self.store.audit_chain_page(after, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                if let Some(broken) = self.check_link(previous.as_ref(), &row).await? {
                    return self.save(checkpoint, now, Some(broken)).await;
                }
                previous = Some(row);
            }
            if let Some(last) = &previous {
                checkpoint.up_to_seq = last.seq;
                checkpoint.up_to_hash = last.hash.clone();
            }
            checkpoint = self.save(checkpoint, now, None).await?;
        }
        if checkpoint.up_to_seq == 0 {
            // An empty chain: nothing to record yet.
            return Ok(checkpoint);
        }
        self.save(checkpoint, now, None).await
    }

    async fn save(
        &self,
        mut checkpoint: AuditCheckpoint,
        now: i64,
        broken: Option<ChainBreak>,
    ) -> anyhow::Result<AuditCheckpoint> {
        if let Some(broken) = &broken {
            tracing::error!(%broken, "the audit chain is broken");
        }
        checkpoint.verified_at = now;
        checkpoint.broken = broken.map(|b| b.to_string());
        if checkpoint.up_to_seq > 0 || checkpoint.broken.is_some() {
            self.store.save_audit_checkpoint(&checkpoint).await?;
        }
        Ok(checkpoint)
    }

    /// Where the chain stands, from the checkpoint (and how many events came since).
    pub async fn chain_state(&self) -> anyhow::Result<ChainState> {
        let Some(checkpoint) = self.store.audit_checkpoint().await? else {
            return Ok(ChainState::Unchecked);
        };
        if let Some(broken) = checkpoint.broken {
            return Ok(ChainState::Broken {
                up_to: checkpoint.up_to_seq,
                at: checkpoint.verified_at,
                broken,
            });
        }
        let head = self.store.audit_last().await?.map_or(0, |(seq, _)| seq);
        Ok(ChainState::Intact {
            up_to: checkpoint.up_to_seq,
            hash: checkpoint.up_to_hash,
            at: checkpoint.verified_at,
            later: (head - checkpoint.up_to_seq).max(0),
        })
    }
}

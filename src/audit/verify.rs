//! Checking the chain: every row's hash, every link, and optionally a head remembered
//! outside the database, so that edits, deletions, insertions, reordering and truncation
//! are each found and named.

use super::Audit;
use crate::store::ChainRow;

/// How the chain is broken, at its first break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The row's content no longer matches its hash.
    Edited { seq: i64 },
    /// Positions are missing between two rows.
    Deleted { after: i64, next: i64 },
    /// The row links to an event that is not in the chain: the row before it was removed
    /// (and the rest renumbered) or its link was forged.
    Missing { seq: i64 },
    /// A row that is not part of the original chain sits just before this one.
    Inserted { seq: i64 },
    /// The row links to an event elsewhere in the chain.
    Reordered { seq: i64 },
    /// The chain ends before the remembered head.
    Truncated { remembered: i64, last: i64 },
    /// The event at the remembered position is not the remembered one.
    HeadMismatch { seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { seq } => write!(
                f,
                "event {seq} was edited: its content does not match its hash"
            ),
            Self::Deleted { after, next } => write!(
                f,
                "events {}..{} were deleted: the chain jumps from {after} to {next}",
                after + 1,
                next - 1
            ),
            Self::Missing { seq } => write!(
                f,
                "the event before {seq} was deleted or replaced: {seq} links to an event that is not in the chain"
            ),
            Self::Inserted { seq } => write!(
                f,
                "a forged event was inserted before {seq}: {seq} links past it"
            ),
            Self::Reordered { seq } => write!(
                f,
                "events were reordered at {seq}: it links to an event elsewhere in the chain"
            ),
            Self::Truncated { remembered, last } => write!(
                f,
                "the chain was truncated: it ends at {last} but the remembered head is {remembered}"
            ),
            Self::HeadMismatch { seq } => write!(
                f,
                "event {seq} differs from the remembered head: the chain was rewritten"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Verification {
    pub count: i64,
    pub head: Option<(i64, String)>,
    pub broken: Option<ChainBreak>,
}

impl Audit {
    /// Walks the whole chain. With `remembered` (a head kept outside the database) it also
    /// detects a truncated or rewritten chain.
    pub async fn verify(&self, remembered: Option<(i64, String)>) -> anyhow::Result<Verification> {
        let mut previous: Option<ChainRow> = None;
        let mut count = 0;
        loop {
            let after = previous.as_ref().map_or(0, |p| p.seq);
            let page = self.store.audit_chain_page(after, 5000).await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                count += 1;
                if let Some(broken) = self.check_link(previous.as_ref(), &row).await? {
                    return Ok(Verification {
                        count,
                        head: None,
                        broken: Some(broken),
                    });
                }
                previous = Some(row);
            }
        }
        let head = previous.map(|p| (p.seq, p.hash));
        let broken = match (&remembered, &head) {
            (Some((seq, _)), Some((last, _))) if seq > last => Some(ChainBreak::Truncated {
                remembered: *seq,
                last: *last,
            }),
            (Some((seq, _)), None) => Some(ChainBreak::Truncated {
                remembered: *seq,
                last: 0,
            }),
            (Some((seq, hash)), Some(_)) => {
                let at = self.store.audit_chain_page(seq - 1, 1).await?;
                match at.first() {
                    Some(row) if row.seq == *seq && row.hash == *hash => None,
                    _ => Some(ChainBreak::HeadMismatch { seq: *seq }),
                }
            }
            (None, _) => None,
        };
        Ok(Verification {
            count,
            head,
            broken,
        })
    }

    pub(super) async fn check_link(
        &self,
        previous: Option<&ChainRow>,
        row: &ChainRow,
    ) -> anyhow::Result<Option<ChainBreak>> {
        let (expected_seq, expected_link) = match previous {
            Some(p) => (p.seq + 1, p.hash.as_str()),
            None => (1, crate::store::AUDIT_GENESIS),
        };
        if row.seq != expected_seq {
            return Ok(Some(ChainBreak::Deleted {
                after: expected_seq - 1,
                next: row.seq,
            }));
        }
        if row.computed_hash() != row.hash {
            return Ok(Some(ChainBreak::Edited { seq: row.seq }));
        }
        if row.prev_hash == expected_link {
            return Ok(None);
        }
        let linked = self.store.audit_seq_of_hash(&row.prev_hash).await?;
        Ok(Some(match linked {
            None => ChainBreak::Missing { seq: row.seq },
            Some(seq) if seq == row.seq - 2 => ChainBreak::Inserted { seq: row.seq },
            Some(_) => ChainBreak::Reordered { seq: row.seq },
        }))
    }
}

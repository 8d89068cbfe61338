//! The hash-chained audit trail. Appends take the chain head row first, so concurrent
//! writers (threads, instances) line up; verification walks the chain from the start.

use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::{Store, StoreResult};
use crate::domain::{EventKind, SubjectKind};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to record. Seq, prev_hash and hash are assigned on append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: i64,
    pub kind: EventKind,
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    pub subject_type: SubjectKind,
    pub subject_id: Option<i64>,
    pub case_id: Option<i64>,
    pub client_address: String,
    /// Small JSON object of identifiers and counts; never content.
    pub payload: String,
}

/// A recorded event, as pages and exports show it.
#[derive(FromRow, Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub at: i64,
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub subject_type: SubjectKind,
    pub subject_id: Option<i64>,
    pub case_id: Option<i64>,
    pub client_address: String,
    pub payload: String,
}

/// How far the audit chain has been verified, and whether a break was found.
#[derive(FromRow, Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    pub up_to_seq: i64,
    pub up_to_hash: String,
    pub verified_at: i64,
    pub broken: Option<String>,
}

/// A stored event exactly as its columns hold it, for verification: a tampered row may
/// hold anything, and must be reported as tampered rather than fail to load.
#[derive(FromRow, Debug, Clone)]
pub struct ChainRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    pub subject_type: String,
    pub subject_id: Option<i64>,
    pub case_id: Option<i64>,
    pub client_address: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed fields of an event.
pub struct EventFields<'a> {
    pub at: i64,
    pub kind: &'a str,
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    pub subject_type: &'a str,
    pub subject_id: Option<i64>,
    pub case_id: Option<i64>,
    pub client_address: &'a str,
    pub payload: &'a str,
}

/// The hash of an event's fields and its predecessor's hash. Fields are length-prefixed so
/// no two different events encode alike. The position (seq) is not hashed: order is
/// carried by the links, so a reordering shows as a broken link rather than an edit.
pub fn event_hash(fields: &EventFields<'_>, prev_hash: &str) -> String {
    let mut hasher = Sha256::new();
    let optional = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    for field in [
        "casemail-audit-v1".to_string(),
        fields.at.to_string(),
        fields.kind.to_string(),
        optional(fields.actor_id),
        optional(fields.actor_org_id),
        fields.subject_type.to_string(),
        optional(fields.subject_id),
        optional(fields.case_id),
        fields.client_address.to_string(),
        fields.payload.to_string(),
        prev_hash.to_string(),
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl NewEvent {
    fn fields(&self) -> EventFields<'_> {
        EventFields {
            at: self.at,
            kind: self.kind.as_str(),
            actor_id: self.actor_id,
            actor_org_id: self.actor_org_id,
            subject_type: self.subject_type.as_str(),
            subject_id: self.subject_id,
            case_id: self.case_id,
            client_address: &self.client_address,
            payload: &self.payload,
        }
    }
}

impl ChainRow {
    pub fn computed_hash(&self) -> String {
        let fields = EventFields {
            at: self.at,
            kind: &self.kind,
            actor_id: self.actor_id,
            actor_org_id: self.actor_org_id,
            subject_type: &self.subject_type,
            subject_id: self.subject_id,
            case_id: self.case_id,
            client_address: &self.client_address,
            payload: &self.payload,
        };
        event_hash(&fields, &self.prev_hash)
    }
}

const EVENT_COLUMNS: &str = "seq, at, kind, actor_id, actor_org_id, subject_type, subject_id, \
     case_id, client_address, payload";

const CHAIN_COLUMNS: &str = "seq, at, kind, actor_id, actor_org_id, subject_type, subject_id, \
     case_id, client_address, payload, prev_hash, hash";

/// Appends events inside the caller's transaction, so they commit with what they record.
pub(super) async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    events: &[NewEvent],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let (last, mut prev): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
            .bind(events.len() as i64)
            .fetch_one(&mut **tx)
            .await?;
    let first = last - events.len() as i64 + 1;
    let mut hashes = Vec::with_capacity(events.len());
    for event in events {
        let hash = event_hash(&event.fields(), &prev);
        hashes.push((prev, hash.clone()));
        prev = hash;
    }
    // Many rows per statement: a delivery to twenty mailboxes is one insert, not twenty.
    // PostgreSQL writes the chain's new head in the same statement as the last rows, one
    // round trip fewer while the head is locked (SQLite has no INSERT inside WITH).
    let head_with_rows = tx.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME;
    let chunks = events.len().div_ceil(100);
    for (chunk_index, chunk) in events.chunks(100).enumerate() {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 12 * i;
                let params: Vec<String> = (1..=12).map(|n| format!("${}", b + n)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let insert = format!(
            "INSERT INTO audit_events (seq, at, kind, actor_id, actor_org_id, subject_type, \
             subject_id, case_id, client_address, payload, prev_hash, hash) VALUES {}",
            rows.join(", ")
        );
        let with_head = head_with_rows && chunk_index + 1 == chunks;
        let sql = match with_head {
            true => format!(
                "WITH written AS ({insert}) UPDATE audit_head SET hash = ${} WHERE id = 1",
                12 * chunk.len() + 1
            ),
            false => insert,
        };
        let mut query = sqlx::query(&sql);
        for (offset, event) in chunk.iter().enumerate() {
            let index = chunk_index * 100 + offset;
            let (prev_hash, hash) = &hashes[index];
            query = query
                .bind(first + index as i64)
                .bind(event.at)
                .bind(event.kind.as_str())
                .bind(event.actor_id)
                .bind(event.actor_org_id)
                .bind(event.subject_type.as_str())
                .bind(event.subject_id)
                .bind(event.case_id)
                .bind(&event.client_address)
                .bind(&event.payload)
                .bind(prev_hash)
                .bind(hash);
        }
        if with_head {
            query = query.bind(&prev);
        }
        query.execute(&mut **tx).await?;
    }
    if !head_with_rows {
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Filters for reading the trail; every field narrows.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub case_id: Option<i64>,
    pub subject: Option<(SubjectKind, i64)>,
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    pub kind: Option<EventKind>,
    pub kind_prefix: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// Records events in their own transaction.
    pub async fn audit(&self, events: &[NewEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn audit_events(&self, filter: &EventFilter) -> StoreResult<Vec<EventRow>> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.case_id.is_some() {
            conditions.push(format!("case_id = {}", next()));
        }
        if filter.subject.is_some() {
            conditions.push(format!(
                "subject_type = {} AND subject_id = {}",
                next(),
                next()
            ));
        }
        if filter.actor_id.is_some() {
            conditions.push(format!("actor_id = {}", next()));
        }
        if filter.actor_org_id.is_some() {
            conditions.push(format!("actor_org_id = {}", next()));
        }
        if filter.kind.is_some() {
            conditions.push(format!("kind = {}", next()));
        }
        if filter.kind_prefix.is_some() {
            conditions.push(format!("kind LIKE {} ESCAPE '\\'", next()));
        }
        if filter.from.is_some() {
            conditions.push(format!("at >= {}", next()));
        }
        if filter.until.is_some() {
            conditions.push(format!("at < {}", next()));
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {} ORDER BY seq DESC LIMIT {}",
            conditions.join(" AND "),
            next()
        );
        let mut query = sqlx::query_as(&sql);
        if let Some(case_id) = filter.case_id {
            query = query.bind(case_id);
        }
        if let Some((kind, id)) = filter.subject {
            query = query.bind(kind.as_str()).bind(id);
        }
        if let Some(actor) = filter.actor_id {
            query = query.bind(actor);
        }
        if let Some(org) = filter.actor_org_id {
            query = query.bind(org);
        }
        if let Some(kind) = filter.kind {
            query = query.bind(kind.as_str());
        }
        if let Some(prefix) = &filter.kind_prefix {
            let escaped = prefix
                .replace('\\', "")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query = query.bind(format!("{escaped}%"));
        }
        if let Some(from) = filter.from {
            query = query.bind(from);
        }
        if let Some(until) = filter.until {
            query = query.bind(until);
        }
        Ok(query.bind(filter.limit).fetch_all(&self.pool).await?)
    }

    /// Events in chain order from `after_seq`, a page at a time (for verification).
    pub async fn audit_chain_page(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<ChainRow>> {
        let rows = sqlx::query_as(&format!(
            "SELECT {CHAIN_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The position of the event with this hash, if any (used only to explain a break).
    pub async fn audit_seq_of_hash(&self, hash: &str) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT seq FROM audit_events WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(seq,)| seq))
    }

    /// How far the scheduled check has verified the chain.
    pub async fn audit_checkpoint(&self) -> StoreResult<Option<AuditCheckpoint>> {
        Ok(sqlx::query_as(
            "SELECT up_to_seq, up_to_hash, verified_at, broken FROM audit_checkpoint WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records how far the chain is verified (and the break found, if any).
    pub async fn save_audit_checkpoint(&self, checkpoint: &AuditCheckpoint) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoint (id, up_to_seq, up_to_hash, verified_at, broken) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
             up_to_seq = excluded.up_to_seq, up_to_hash = excluded.up_to_hash, \
             verified_at = excluded.verified_at, broken = excluded.broken",
        )
        .bind(checkpoint.up_to_seq)
        .bind(&checkpoint.up_to_hash)
        .bind(checkpoint.verified_at)
        .bind(checkpoint.broken.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest event's position and hash.
    pub async fn audit_last(&self) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }
}

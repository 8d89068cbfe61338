//! Plea negotiations and their offers. A transition is written in one transaction with the
//! thread message that announces it, and only if the negotiation is still in the state the
//! transition was decided from: of two simultaneous answers, one wins.

use sqlx::FromRow;

use super::audit::{NewEvent, append};
use super::mail::insert_delivery;
use super::{Delivered, Delivery, Store, StoreError, StoreResult};
use crate::domain::{Negotiation, NegotiationState, OfferOutcome, Side};

/// A case's negotiation as stored: its state machine's position and its thread.
#[derive(Debug, Clone)]
pub struct NegotiationRow {
    pub thread_id: i64,
    pub case_id: i64,
    pub negotiation: Negotiation,
    pub opened_at: i64,
    pub updated_at: i64,
}

#[derive(FromRow)]
struct StoredNegotiation {
    thread_id: i64,
    case_id: i64,
    #[sqlx(try_from = "String")]
    state: NegotiationState,
    version: i64,
    offered_by_side: Option<String>,
    respond_by: Option<i64>,
    opened_at: i64,
    updated_at: i64,
}

impl TryFrom<StoredNegotiation> for NegotiationRow {
    type Error = StoreError;

    fn try_from(row: StoredNegotiation) -> StoreResult<Self> {
        let offered_by = row
            .offered_by_side
            .map(|side| Side::parse(&side))
            .transpose()
            .map_err(|_| StoreError::Corrupt("side of a plea offer"))?;
        Ok(Self {
            thread_id: row.thread_id,
            case_id: row.case_id,
            negotiation: Negotiation {
                state: row.state,
                version: row.version,
                offered_by,
                respond_by: row.respond_by,
            },
            opened_at: row.opened_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(FromRow)]
pub struct OfferRow {
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub side: Side,
    pub proposer_name: String,
    pub made_at: i64,
    pub respond_by: Option<i64>,
    #[sqlx(try_from = "String")]
    pub outcome: OfferOutcome,
    pub answerer_name: Option<String>,
    pub answered_at: Option<i64>,
    pub message_id: i64,
    pub terms: Vec<u8>,
}

pub struct NewOffer {
    pub version: i64,
    pub side: Side,
    pub respond_by: Option<i64>,
    /// Per-charge positions and terms, encrypted to the case's participants.
    pub terms: Vec<u8>,
}

/// One transition: the new state, the offer it ended and the one it made, and the message.
pub struct PleaWrite {
    pub case_id: i64,
    /// None when this transition opens the negotiation (and its thread).
    pub thread_id: Option<i64>,
    /// The negotiation as it must still be for the write to happen.
    pub expected: Option<Negotiation>,
    pub next: Negotiation,
    pub ended: Option<(i64, OfferOutcome)>,
    pub made: Option<NewOffer>,
    /// Who made the transition; None when time made it (an offer lapsing).
    pub actor_id: Option<i64>,
    pub now: i64,
    pub delivery: Option<Delivery>,
    /// Recorded in the same transaction as the transition.
    pub events: Vec<NewEvent>,
}

pub enum PleaWritten {
    Applied(Option<Delivered>),
    /// Someone else changed the negotiation first; nothing was written.
    Conflict,
}

impl Store {
    pub async fn negotiation_for_case(&self, case_id: i64) -> StoreResult<Option<NegotiationRow>> {
        let row: Option<StoredNegotiation> = sqlx::query_as(
            "SELECT thread_id, case_id, state, version, offered_by_side, respond_by, opened_at, \
             updated_at FROM plea_negotiations WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn offers(&self, thread_id: i64) -> StoreResult<Vec<OfferRow>> {
        let rows = sqlx::query_as(
            "SELECT f.version, f.side, p.name AS proposer_name, f.made_at, f.respond_by, \
             f.outcome, a.name AS answerer_name, f.answered_at, f.message_id, f.terms \
             FROM plea_offers f JOIN users p ON p.id = f.proposed_by \
             LEFT JOIN users a ON a.id = f.answered_by \
             WHERE f.thread_id = $1 ORDER BY f.version",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn write_plea(&self, write: PleaWrite) -> StoreResult<PleaWritten> {
        let mut tx = self.pool.begin().await?;
        let thread_id = match write.thread_id {
            Some(thread_id) => {
                let Some(expected) = &write.expected else {
                    return Ok(PleaWritten::Conflict);
                };
                let changed = sqlx::query(
                    "UPDATE plea_negotiations SET state = $1, version = $2, offered_by_side = $3, \
                     respond_by = $4, updated_at = $5 \
                     WHERE thread_id = $6 AND state = $7 AND version = $8",
                )
                .bind(write.next.state.as_str())
                .bind(write.next.version)
                .bind(write.next.offered_by.map(Side::as_str))
                .bind(write.next.respond_by)
                .bind(write.now)
                .bind(thread_id)
                .bind(expected.state.as_str())
                .bind(expected.version)
                .execute(&mut *tx)
                .await?;
                if changed.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(PleaWritten::Conflict);
                }
                Some(thread_id)
            }
            None => None,
        };
        let delivered = match &write.delivery {
            Some(delivery) => Some(insert_delivery(&mut tx, delivery).await?),
            None => None,
        };
        let thread_id = match (thread_id, delivered) {
            (Some(id), _) => id,
            (None, Some(d)) => {
                let inserted = sqlx::query(
                    "INSERT INTO plea_negotiations (thread_id, case_id, state, version, \
                     offered_by_side, respond_by, opened_by, opened_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (case_id) DO NOTHING",
                )
                .bind(d.thread_id)
                .bind(write.case_id)
                .bind(write.next.state.as_str())
                .bind(write.next.version)
                .bind(write.next.offered_by.map(Side::as_str))
                .bind(write.next.respond_by)
                .bind(write.actor_id)
                .bind(write.now)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(PleaWritten::Conflict);
                }
                d.thread_id
            }
            (None, None) => return Ok(PleaWritten::Conflict),
        };
        if let Some((version, outcome)) = write.ended {
            sqlx::query(
                "UPDATE plea_offers SET outcome = $1, answered_by = $2, answered_at = $3 \
                 WHERE thread_id = $4 AND version = $5",
            )
            .bind(outcome.as_str())
            .bind(write.actor_id)
            .bind(write.now)
            .bind(thread_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        if let (Some(offer), Some(d)) = (&write.made, delivered) {
            sqlx::query(
                "INSERT INTO plea_offers (thread_id, version, side, proposed_by, made_at, \
                 respond_by, message_id, terms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(thread_id)
            .bind(offer.version)
            .bind(offer.side.as_str())
            .bind(write.actor_id)
            .bind(write.now)
            .bind(offer.respond_by)
            .bind(d.message_id)
            .bind(&offer.terms)
            .execute(&mut *tx)
            .await?;
        }
        append(&mut tx, &write.events).await?;
        tx.commit().await?;
        Ok(PleaWritten::Applied(delivered))
    }
}

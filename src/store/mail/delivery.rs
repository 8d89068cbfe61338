//! Delivering a message: the thread, the message, its addressees and attachments, one
//! mailbox entry per reader and the audit events, all in the caller's change.

use super::{Delivered, Delivery};
use crate::domain::{Addressing, EventKind, ReplyState, SubjectKind};
use crate::store::audit::{NewEvent, append};
use crate::store::{Change, Store, StoreResult, flag};

impl Change {
    /// Delivers a message as part of this change: it is in every mailbox or in none, with
    /// its audit events.
    pub async fn deliver(&mut self, delivery: &Delivery) -> StoreResult<Delivered> {
        insert_delivery(self.tx(), delivery).await
    }

    /// Marks a user's copies in a thread read and sets the first opening of each received
    /// copy never opened, in one statement. Returns the messages whose first opening is now
    /// `now`: a copy first opened earlier in the same second, then marked unread, is among
    /// them too, so a caller that must tell them apart checks what it read before.
    pub async fn mark_thread_read(
        &mut self,
        user_id: i64,
        thread_id: i64,
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        let changed: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "UPDATE mailbox_entries SET is_read = 1, first_read_at = CASE \
             WHEN first_read_at IS NULL AND folder <> 'sent' THEN $3 ELSE first_read_at END \
             WHERE user_id = $1 AND thread_id = $2 \
             AND (is_read = 0 OR (first_read_at IS NULL AND folder <> 'sent')) \
             RETURNING message_id, first_read_at",
        )
        .bind(user_id)
        .bind(thread_id)
        .bind(now)
        .fetch_all(self.conn())
        .await?;
        Ok(changed
            .into_iter()
            .filter(|(_, first_read_at)| *first_read_at == Some(now))
            .map(|(id, _)| id)
            .collect())
    }
}

impl Store {
    /// Delivers many messages in one transaction (benchmarks seeding a mailbox).
    pub async fn deliver_many(
        &self,
        deliveries: &[Delivery],
        now: i64,
    ) -> StoreResult<Vec<Delivered>> {
        let mut change = self.begin(now).await?;
        let mut out = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            out.push(change.deliver(delivery).await?);
        }
        change.commit().await?;
        Ok(out)
    }
}

pub(in crate::store) async fn insert_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    delivery: &Delivery,
) -> StoreResult<Delivered> {
    let (thread_id, case_id) = match delivery.thread_id {
        Some(id) => {
            let (case_id,): (Option<i64>,) =
                sqlx::query_as("SELECT case_id FROM threads WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
            (id, case_id)
        }
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO threads (kind, created_by, created_at, case_id) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(if delivery.plea {
                "plea"
            } else {
                "correspondence"
            })
            .bind(delivery.sender_id)
            .bind(delivery.sent_at)
            .bind(delivery.case_id)
            .fetch_one(&mut **tx)
            .await?;
            (id, delivery.case_id)
        }
    };
    let (message_id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (thread_id, sender_id, sent_at, envelope, size, \
             attachment_count, forwarded_from, sent_by, fingerprint) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(thread_id)
    .bind(delivery.sender_id)
    .bind(delivery.sent_at)
    .bind(&delivery.envelope)
    .bind(delivery.size)
    .bind(delivery.attachments.len() as i64)
    .bind(delivery.forwarded_from)
    .bind(delivery.sent_by.map(|(id, _)| id))
    .bind(delivery.fingerprint.as_deref())
    .fetch_one(&mut **tx)
    .await?;
    let addressees: Vec<(i64, Addressing)> = delivery
        .to
        .iter()
        .map(|id| (*id, Addressing::To))
        .chain(delivery.cc.iter().map(|id| (*id, Addressing::Cc)))
        .collect();
    // Many rows per statement: a message to twenty people is two inserts, not forty.
    for chunk in addressees.chunks(100) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO message_addressees (message_id, user_id, kind) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(message_id);
        for (user_id, kind) in chunk {
            query = query.bind(*user_id).bind(kind.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    for (position, attachment) in delivery.attachments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO attachments (message_id, position, blob_id, size) \
                 VALUES ($1, $2, $3, $4)",
        )
        .bind(message_id)
        .bind(position as i64)
        .bind(&attachment.blob_id)
        .bind(attachment.size)
        .execute(&mut **tx)
        .await?;
    }
    let has_attachments = flag(!delivery.attachments.is_empty());
    // Writing in a conversation answers what it asked of the writer.
    if delivery.thread_id.is_some() {
        sqlx::query(
            "UPDATE mailbox_entries SET reply_state = 'answered', reply_closed_at = $3 \
             WHERE user_id = $1 AND thread_id = $2 AND reply_state = 'open'",
        )
        .bind(delivery.sender_id)
        .bind(thread_id)
        .bind(delivery.sent_at)
        .execute(&mut **tx)
        .await?;
    }
    for chunk in delivery.entries.chunks(100) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 6 + 6 * i;
                format!(
                    "(${}, $1, $2, ${}, ${}, ${}, $3, $3, $4, ${}, $5, ${}, ${})",
                    b,
                    b + 1,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO mailbox_entries (user_id, message_id, thread_id, folder, \
             restore_folder, is_read, sent_at, delivered_at, has_attachments, summary, case_id, \
             reply_by, reply_state) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(message_id)
            .bind(thread_id)
            .bind(delivery.sent_at)
            .bind(has_attachments)
            .bind(case_id);
        for entry in chunk {
            let (reply_by, state) = entry_reply(delivery, entry.user_id);
            query = query
                .bind(entry.user_id)
                .bind(entry.folder.as_str())
                .bind(flag(entry.is_read))
                .bind(&entry.summary)
                .bind(reply_by)
                .bind(state.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    if let Some(fingerprint) = &delivery.fingerprint {
        mark_duplicates(tx, delivery, fingerprint, message_id).await?;
    }
    append(
        tx,
        &delivery_events(delivery, message_id, thread_id, case_id),
    )
    .await?;
    Ok(Delivered {
        message_id,
        thread_id,
    })
}

/// How long after a letter the same letter from the same sender counts as sent again.
pub const DUPLICATE_WINDOW_SECONDS: i64 = 3 * 86_400;

/// Marks this message's received copies whose organisation the same letter (same sender,
/// same fingerprint) reached within the window: each points at the earliest such message.
async fn mark_duplicates(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    delivery: &Delivery,
    fingerprint: &str,
    message_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE mailbox_entries SET duplicate_of = (\
           SELECT MIN(m.id) FROM messages m \
           JOIN message_addressees a ON a.message_id = m.id \
           JOIN users r ON r.id = a.user_id \
           WHERE m.sender_id = $1 AND m.fingerprint = $2 AND m.id < $3 AND m.sent_at >= $4 \
           AND r.organisation_id = (SELECT u.organisation_id FROM users u \
                                    WHERE u.id = mailbox_entries.user_id)) \
         WHERE message_id = $3 AND folder <> 'sent'",
    )
    .bind(delivery.sender_id)
    .bind(fingerprint)
    .bind(message_id)
    .bind(delivery.sent_at - DUPLICATE_WINDOW_SECONDS)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a reply-by date asks of one copy: an answer from each To addressee; the sender's
/// own copy keeps the date to show how the answers stand; Cc copies are told nothing. A
/// team's copy awaits the team's answer even without a date, so that its members see
/// what is still to be handled.
fn entry_reply(delivery: &Delivery, user_id: i64) -> (Option<i64>, ReplyState) {
    let to_team = delivery.teams.contains(&user_id) && delivery.to.contains(&user_id);
    match delivery.reply_by {
        Some(by) if user_id == delivery.sender_id => (Some(by), ReplyState::None),
        Some(by) if delivery.to.contains(&user_id) => (Some(by), ReplyState::Open),
        None if to_team => (None, ReplyState::Open),
        _ => (None, ReplyState::None),
    }
}

/// Sent, replied or forwarded, and delivered to each mailbox: recorded with the delivery.
fn delivery_events(
    delivery: &Delivery,
    message_id: i64,
    thread_id: i64,
    case_id: Option<i64>,
) -> Vec<NewEvent> {
    // A delegate sending is the actor, on behalf of the mailbox's owner.
    let (actor_id, actor_org_id) = delivery
        .sent_by
        .unwrap_or((delivery.sender_id, delivery.sender_org_id));
    let on_behalf_of = delivery.sent_by.map(|_| delivery.sender_id);
    let event = |kind: EventKind, actor: Option<i64>, mut payload: serde_json::Value| NewEvent {
        at: delivery.sent_at,
        kind,
        actor_id: actor,
        actor_org_id: actor.map(|_| actor_org_id),
        subject_type: SubjectKind::Message,
        subject_id: Some(message_id),
        case_id,
        client_address: if actor.is_some() {
            delivery.client_address.clone()
        } else {
            String::new()
        },
        payload: {
            if let (Some(owner), Some(fields), Some(_)) =
                (on_behalf_of, payload.as_object_mut(), actor)
            {
                fields.insert("on_behalf_of".into(), owner.into());
            }
            payload.to_string()
        },
    };
    let sender = Some(actor_id);
    let mut events = vec![event(
        EventKind::MessageSent,
        sender,
        serde_json::json!({
            "thread": thread_id,
            "to": delivery.to.len(),
            "cc": delivery.cc.len(),
            "attachments": delivery.attachments.len(),
            "size": delivery.size,
            "reply_by": delivery.reply_by,
        }),
    )];
    if let Some(original) = delivery.reply_to {
        events.push(event(
            EventKind::MessageReplied,
            sender,
            serde_json::json!({ "in_reply_to": original }),
        ));
    }
    if let Some(original) = delivery.forwarded_from {
        events.push(event(
            EventKind::MessageForwarded,
            sender,
            serde_json::json!({ "original": original }),
        ));
    }
    for entry in delivery
        .entries
        .iter()
        .filter(|e| e.user_id != delivery.sender_id)
    {
        events.push(event(
            EventKind::MessageDelivered,
            None,
            serde_json::json!({ "recipient": entry.user_id, "folder": entry.folder.as_str() }),
        ));
    }
    events
}

/// Another copy of the same letter in an organisation: which message, whose mailbox, and
/// when it was sent.
#[derive(sqlx::FromRow, Debug)]
pub struct SameLetter {
    pub message_id: i64,
    pub name: String,
    pub is_team: i64,
    pub sent_at: i64,
}

impl Store {
    /// The other mailboxes of `organisation_id` that the same letter as `message_id` (same
    /// sender and fingerprint, within the window either side) reached, oldest first.
    pub async fn same_letter_elsewhere(
        &self,
        message_id: i64,
        organisation_id: i64,
        reader_id: i64,
    ) -> StoreResult<Vec<SameLetter>> {
        Ok(sqlx::query_as(
            "SELECT m2.id AS message_id, r.name, r.is_team, m2.sent_at \
             FROM messages m JOIN messages m2 ON m2.sender_id = m.sender_id \
               AND m2.fingerprint = m.fingerprint \
             JOIN message_addressees a ON a.message_id = m2.id \
             JOIN users r ON r.id = a.user_id \
             WHERE m.id = $1 AND m.fingerprint IS NOT NULL AND r.organisation_id = $2 \
             AND r.id <> $3 AND m2.sent_at BETWEEN m.sent_at - $4 AND m.sent_at + $4 \
             ORDER BY m2.sent_at, m2.id, r.name LIMIT 50",
        )
        .bind(message_id)
        .bind(organisation_id)
        .bind(reader_id)
        .bind(DUPLICATE_WINDOW_SECONDS)
        .fetch_all(&self.pool)
        .await?)
    }
}

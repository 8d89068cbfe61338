//! A sender's view of what happened to a message: for each recipient, when it was
//! delivered, opened and its attachments downloaded. Read from the audit trail, so it shows
//! what a court would be shown; where a reply was asked for, how each recipient's copy
//! stands comes from the copy itself.

use super::Audit;
use crate::domain::{EventKind, Folder, ReplyMark, SubjectKind};
use crate::store::{EventFilter, EventRow, ReceiptRow};

/// One recipient's line in a sender's timeline. Times are Unix seconds.
pub struct RecipientTimeline {
    pub name: String,
    pub email: String,
    pub delivered_at: Option<i64>,
    /// Every opening, oldest first.
    pub opened_at: Vec<i64>,
    /// Who opened it for a team or a delegating owner: the members or delegates, by name.
    pub opened_by: Vec<String>,
    /// (attachment position, time) of every download, newest first.
    pub downloads: Vec<(usize, i64)>,
    /// Where the reply asked of this recipient stands at `now`, and since when if closed.
    pub reply: Option<(ReplyMark, Option<i64>)>,
    /// For someone outside Casemail: the gateway's latest word on the letter (what
    /// happened, when, and what the mail server said).
    pub outside: Option<(EventKind, i64, String)>,
}

const GATEWAY_STEPS: [EventKind; 5] = [
    EventKind::GatewayQueued,
    EventKind::GatewayHanded,
    EventKind::GatewayRelayed,
    EventKind::GatewayDelayed,
    EventKind::GatewayFailed,
];

impl Audit {
    /// The timeline of a message for the person who sent it; None for anyone else.
    pub async fn delivery_timeline(
        &self,
        sender_id: i64,
        message_id: i64,
        now: i64,
    ) -> anyhow::Result<Option<Vec<RecipientTimeline>>> {
        let events = self
            .store
            .audit_events(&EventFilter {
                subject: Some((SubjectKind::Message, message_id)),
                limit: 10_000,
                ..EventFilter::default()
            })
            .await?;
        let copies = self.store.delivery_receipts(message_id).await?;
        if !self.sent_by(sender_id, message_id, &copies).await? {
            return Ok(None);
        }
        let mut recipients: Vec<i64> = events
            .iter()
            .filter(|e| e.kind == EventKind::MessageDelivered)
            .filter_map(|e| payload_i64(e, "recipient"))
            .collect();
        // People outside Casemail, reached through the gateway (oldest first).
        for event in events.iter().rev() {
            if event.kind == EventKind::GatewayQueued
                && let Some(recipient) = payload_i64(event, "recipient")
                && !recipients.contains(&recipient)
            {
                recipients.push(recipient);
            }
        }
        // The members and delegates who read for a recipient are named too.
        let mut people = recipients.clone();
        people.extend(
            events
                .iter()
                .filter(|e| super::on_behalf_of(e).is_some())
                .filter_map(|e| e.actor_id),
        );
        people.sort_unstable();
        people.dedup();
        let names = self.store.user_names(&people).await?;
        let mut timeline = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            // The recipient's delegates open and download on their behalf.
            let of = |kind: EventKind| {
                events.iter().filter(move |e| {
                    e.kind == kind
                        && (e.actor_id == Some(recipient)
                            || super::on_behalf_of(e) == Some(recipient))
                })
            };
            let delivered_at = events
                .iter()
                .find(|e| {
                    e.kind == EventKind::MessageDelivered
                        && payload_i64(e, "recipient") == Some(recipient)
                })
                .map(|e| e.at);
            // Events come newest first.
            let mut opened_at: Vec<i64> = of(EventKind::MessageOpened).map(|e| e.at).collect();
            opened_at.reverse();
            let mut opened_by: Vec<String> = Vec::new();
            for actor in of(EventKind::MessageOpened)
                .filter(|e| e.actor_id != Some(recipient))
                .filter_map(|e| e.actor_id)
            {
                if let Some((name, _)) = names.get(&actor)
                    && !opened_by.contains(name)
                {
                    opened_by.push(name.clone());
                }
            }
            let downloads = of(EventKind::AttachmentDownloaded)
                .filter_map(|e| Some((usize::try_from(payload_i64(e, "attachment")?).ok()?, e.at)))
                .collect();
            let (name, email) = names
                .get(&recipient)
                .cloned()
                .unwrap_or_else(|| ("A former user".to_string(), String::new()));
            let reply = copies
                .iter()
                .find(|c| c.user_id == recipient)
                .and_then(|c| {
                    ReplyMark::of_copy(c.reply_state, c.reply_by, now)
                        .map(|m| (m, c.reply_closed_at))
                });
            // Events come newest first: the first gateway step is the latest.
            let outside = events
                .iter()
                .find(|e| {
                    GATEWAY_STEPS.contains(&e.kind)
                        && payload_i64(e, "recipient") == Some(recipient)
                })
                .map(|e| {
                    let detail = serde_json::from_str::<serde_json::Value>(&e.payload)
                        .ok()
                        .and_then(|p| p.get("detail")?.as_str().map(str::to_string))
                        .unwrap_or_default();
                    (e.kind, e.at, detail)
                });
            timeline.push(RecipientTimeline {
                name,
                email,
                delivered_at,
                opened_at,
                opened_by,
                downloads,
                reply,
                outside,
            });
        }
        Ok(Some(timeline))
    }

    /// Whether `user_id` sent the message: their copy is in Sent, or the trail says so
    /// (a copy since deleted).
    async fn sent_by(
        &self,
        user_id: i64,
        message_id: i64,
        copies: &[ReceiptRow],
    ) -> anyhow::Result<bool> {
        if copies
            .iter()
            .any(|r| r.user_id == user_id && r.folder == Folder::Sent)
        {
            return Ok(true);
        }
        let sent = self
            .store
            .audit_events(&EventFilter {
                subject: Some((SubjectKind::Message, message_id)),
                kind: Some(EventKind::MessageSent),
                limit: 1,
                ..EventFilter::default()
            })
            .await?;
        Ok(sent.first().is_some_and(|e| e.actor_id == Some(user_id)))
    }
}

fn payload_i64(event: &EventRow, key: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(&event.payload)
        .ok()?
        .get(key)?
        .as_i64()
}

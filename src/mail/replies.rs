//! Reply-by letters: a person's letters awaiting their reply, saying that a conversation
//! needs no reply, and the reminder email the day before the date and once it has passed,
//! without any of the content.

use super::{ListedMessage, Mail};
use crate::audit::Origin;
use crate::clock::display_date;
use crate::crypto::MailboxKeys;
use crate::domain::{EventKind, SubjectKind, reminder_due};
use crate::store::{NavigationCounts, NewNotification, ReminderRow, UserAccount};

/// The most letters the Due view lists at once.
pub const DUE_LIMIT: i64 = 200;

const REMINDER_BATCH: i64 = 200;

impl Mail {
    /// The user's letters awaiting their reply, soonest date first.
    pub async fn due(
        &self,
        user: &UserAccount,
        keys: &MailboxKeys,
    ) -> anyhow::Result<Vec<ListedMessage>> {
        let rows = self.store.due_entries(user.id, DUE_LIMIT).await?;
        self.listed(keys, rows, false).await
    }

    /// What the navigation counts for the mailbox `user` works in, signed in as `person`
    /// (the same, or its delegate).
    pub async fn navigation_counts(
        &self,
        user: &UserAccount,
        person: &UserAccount,
    ) -> anyhow::Result<NavigationCounts> {
        Ok(self
            .store
            .navigation_counts(user.id, person.id, self.clock.now())
            .await?)
    }

    /// How many letters in another mailbox (a team's, a delegated one) await a reply, and
    /// how many of them are overdue.
    pub async fn awaiting_in(&self, mailbox_id: i64) -> anyhow::Result<(i64, i64)> {
        let counts = self
            .store
            .navigation_counts(mailbox_id, 0, self.clock.now())
            .await?;
        Ok((counts.due, counts.overdue))
    }

    /// Closes what a conversation asks of the user as needing no reply, recorded in the
    /// audit trail. Returns how many letters it closed (none for a conversation the user
    /// holds nothing awaited in).
    pub async fn no_reply_needed(
        &self,
        user: &UserAccount,
        thread_id: i64,
        client_address: &str,
    ) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let case_id = self.store.thread_case(thread_id).await?;
        let mut change = self.store.begin(now).await?;
        let closed = change.close_without_reply(user.id, thread_id, now).await?;
        let origin = Origin::user(user, client_address);
        let events: Vec<_> = closed
            .iter()
            .map(|message_id| {
                let mut event = origin.event(
                    now,
                    EventKind::ReplyNotNeeded,
                    SubjectKind::Message,
                    Some(*message_id),
                    serde_json::json!({}),
                );
                event.case_id = case_id;
                event
            })
            .collect();
        change.record(&events).await?;
        change.commit().await?;
        Ok(closed.len())
    }

    /// Queues the reminders due at `now`, each once however many instances run this: the
    /// day before a reply-by date, and once it has passed. Returns how many were queued.
    pub async fn send_reply_reminders(&self, now: i64) -> anyhow::Result<usize> {
        let mut queued = 0;
        loop {
            let rows = self.store.reminders_due(now, REMINDER_BATCH).await?;
            let full = rows.len() as i64 == REMINDER_BATCH;
            let mut change = self.store.begin(now).await?;
            for row in &rows {
                let Some(level) = reminder_due(row.reply_by, now) else {
                    continue;
                };
                if !change.mark_reminded(row.entry_id, level).await? {
                    continue;
                }
                change.notify(&self.reminders(row, level).await?).await?;
                let mut event = Origin::system().event(
                    now,
                    EventKind::ReplyReminderSent,
                    SubjectKind::Message,
                    Some(row.message_id),
                    serde_json::json!({
                        "recipient": row.user_id,
                        "reminder": if level == 2 { "overdue" } else { "due" },
                    }),
                );
                event.case_id = row.case_id;
                change.record(&[event]).await?;
                queued += 1;
            }
            change.commit().await?;
            if !full {
                return Ok(queued);
            }
        }
    }

    /// Who is reminded of a copy: its owner; for a team's, the member who has it in hand,
    /// or every member while nobody has.
    async fn reminders(
        &self,
        row: &ReminderRow,
        level: i64,
    ) -> anyhow::Result<Vec<NewNotification>> {
        if row.is_team == 0 {
            return Ok(vec![self.reminder(row, &row.email, &row.name, level)]);
        }
        let people = match (&row.assignee_email, &row.assignee_name) {
            (Some(email), Some(name)) => vec![(email.clone(), name.clone())],
            _ => self
                .store
                .member_addresses(&[row.user_id])
                .await?
                .into_iter()
                .map(|(_, email, name)| (email, name))
                .collect(),
        };
        Ok(people
            .iter()
            .map(|(email, name)| self.reminder(row, email, name, level))
            .collect())
    }

    /// The reminder email: who wrote and by when, never the subject, the case or the text.
    fn reminder(&self, row: &ReminderRow, email: &str, name: &str, level: i64) -> NewNotification {
        let date = display_date(row.reply_by);
        let (subject, line) = if level == 2 {
            (
                "A letter in Casemail is waiting for your reply".to_string(),
                format!(
                    "A reply to a letter from {} ({}) was needed by {date}, and the sender is still waiting for it.",
                    row.sender_name, row.sender_organisation
                ),
            )
        } else {
            (
                "A letter in Casemail needs your reply by tomorrow".to_string(),
                format!(
                    "A letter from {} ({}) needs your reply by the end of {date}.",
                    row.sender_name, row.sender_organisation
                ),
            )
        };
        NewNotification {
            recipient: email.to_string(),
            subject,
            body: format!(
                "Dear {},\n\n{line} Sign in to see your letters that need a reply: {}/mail/due\n\nIf no reply is needed, you can say so on the letter.\n",
                name,
                self.config.public_url()
            ),
            // One per copy and level; a team's per member told.
            dedupe_key: Some(if row.is_team == 0 {
                format!("reply-reminder:{}:{level}", row.entry_id)
            } else {
                format!("reply-reminder:{}:{level}:{email}", row.entry_id)
            }),
        }
    }
}

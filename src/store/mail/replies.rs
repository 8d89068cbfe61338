//! Reply-by letters: how the answers to a sender's letters stand, a person's letters
//! awaiting their reply, closing a copy as needing no reply, and the copies whose owners
//! are due a reminder.

use sqlx::FromRow;

use super::{MAILBOX_COLUMNS, MAILBOX_FROM, MailboxRow, StoredMailboxRow, UNREAD_CAP, listing};
use crate::domain::ReplyCount;
use crate::store::cases::CASE_VISIBLE;
use crate::store::{Change, Store, StoreResult};

/// The counts a page's navigation shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct NavigationCounts {
    pub unread: i64,
    pub due: i64,
    pub overdue: i64,
    pub delegated_mailboxes: i64,
}

/// A copy awaiting its owner's reply whose owner is due a reminder.
#[derive(FromRow)]
pub struct ReminderRow {
    pub entry_id: i64,
    pub message_id: i64,
    pub user_id: i64,
    pub reply_by: i64,
    pub reply_reminded: i64,
    pub email: String,
    pub name: String,
    pub sender_name: String,
    pub sender_organisation: String,
    pub case_id: Option<i64>,
    pub is_team: i64,
    /// For a team's copy: the member who has it in hand, told instead of the whole team.
    pub assignee_email: Option<String>,
    pub assignee_name: Option<String>,
}

impl Store {
    /// For those of `message_ids` that asked for a reply: how the addressees' answers stand.
    pub async fn reply_counts(&self, message_ids: &[i64]) -> StoreResult<Vec<(i64, ReplyCount)>> {
        let mut out = Vec::new();
        for chunk in message_ids.chunks(200) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT message_id, \
                 SUM(CASE WHEN reply_state = 'open' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN reply_state = 'answered' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN reply_state = 'not_needed' THEN 1 ELSE 0 END) \
                 FROM mailbox_entries WHERE message_id IN ({}) AND reply_state <> 'none' \
                 GROUP BY message_id",
                list.join(", ")
            );
            let mut query = sqlx::query_as::<_, (i64, i64, i64, i64)>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            out.extend(query.fetch_all(&self.pool).await?.into_iter().map(
                |(id, waiting, answered, not_needed)| {
                    (
                        id,
                        ReplyCount {
                            waiting,
                            answered,
                            not_needed,
                        },
                    )
                },
            ));
        }
        Ok(out)
    }

    /// A person's letters awaiting their reply outside Deleted, soonest date first.
    pub async fn due_entries(&self, user_id: i64, limit: i64) -> StoreResult<Vec<MailboxRow>> {
        let rows: Vec<StoredMailboxRow> = sqlx::query_as(&format!(
            "SELECT {MAILBOX_COLUMNS} {MAILBOX_FROM} \
             WHERE e.user_id = $1 AND e.reply_state = 'open' AND e.folder <> 'deleted' \
             AND {CASE_VISIBLE} ORDER BY e.reply_by IS NULL, e.reply_by, e.id LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(listing(rows))
    }

    /// What the navigation of every page counts, in one round trip: unread inbox copies,
    /// letters awaiting the owner's reply and how many of them are overdue at `now` (each
    /// counted up to the unread cap), and the mailboxes delegated to `person_id` or of teams
    /// they belong to.
    pub async fn navigation_counts(
        &self,
        user_id: i64,
        person_id: i64,
        now: i64,
    ) -> StoreResult<NavigationCounts> {
        let awaiting = format!(
            "FROM mailbox_entries e WHERE e.user_id = $1 AND e.reply_state = 'open' \
             AND e.folder <> 'deleted' AND {CASE_VISIBLE}"
        );
        let (unread, due, overdue, delegated): (i64, i64, i64, i64) = sqlx::query_as(&format!(
            "SELECT \
             (SELECT COUNT(*) FROM (SELECT 1 FROM mailbox_entries e WHERE e.user_id = $1 \
              AND e.folder = 'inbox' AND e.is_read = 0 AND {CASE_VISIBLE} \
              ORDER BY e.id DESC LIMIT {UNREAD_CAP}) u), \
             (SELECT COUNT(*) FROM (SELECT 1 {awaiting} LIMIT {UNREAD_CAP}) d), \
             (SELECT COUNT(*) FROM (SELECT 1 {awaiting} AND e.reply_by < $3 \
              LIMIT {UNREAD_CAP}) o), \
             (SELECT COUNT(*) FROM delegations WHERE delegate_id = $2) + \
             (SELECT COUNT(*) FROM team_members WHERE member_id = $2)"
        ))
        .bind(user_id)
        .bind(person_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(NavigationCounts {
            unread,
            due,
            overdue,
            delegated_mailboxes: delegated,
        })
    }

    /// Copies awaiting an active owner's reply that are due a reminder at `now`: the day
    /// before their date (none sent yet), or once it has passed (the overdue one not sent).
    pub async fn reminders_due(&self, now: i64, limit: i64) -> StoreResult<Vec<ReminderRow>> {
        Ok(sqlx::query_as(
            "SELECT e.id AS entry_id, e.message_id, e.user_id, e.reply_by, e.reply_reminded, \
             u.email, u.name, s.name AS sender_name, o.name AS sender_organisation, e.case_id, \
             u.is_team, a.email AS assignee_email, a.name AS assignee_name \
             FROM mailbox_entries e JOIN users u ON u.id = e.user_id \
             LEFT JOIN users a ON a.id = e.assigned_to \
             JOIN messages m ON m.id = e.message_id JOIN users s ON s.id = m.sender_id \
             JOIN organisations o ON o.id = s.organisation_id \
             WHERE e.reply_state = 'open' AND e.reply_reminded < 2 AND e.reply_by <= $1 \
             AND e.folder <> 'deleted' AND u.status = 'active' \
             AND (e.reply_reminded = 0 OR e.reply_by < $2) \
             ORDER BY e.reply_by, e.id LIMIT $3",
        )
        .bind(now + 86_400)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Change {
    /// Closes the user's copies in a thread that await their reply, as needing none.
    /// Returns the messages closed.
    pub async fn close_without_reply(
        &mut self,
        user_id: i64,
        thread_id: i64,
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "UPDATE mailbox_entries SET reply_state = 'not_needed', reply_closed_at = $3 \
             WHERE user_id = $1 AND thread_id = $2 AND reply_state = 'open' \
             RETURNING message_id",
        )
        .bind(user_id)
        .bind(thread_id)
        .bind(now)
        .fetch_all(self.conn())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Records that a copy's owner has had reminder `level`; false if they already had it
    /// (another instance got there first).
    pub async fn mark_reminded(&mut self, entry_id: i64, level: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE mailbox_entries SET reply_reminded = $2 \
             WHERE id = $1 AND reply_reminded < $2 AND reply_state = 'open'",
        )
        .bind(entry_id)
        .bind(level)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

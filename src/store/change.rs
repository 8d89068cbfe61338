//! A unit of work: the writes of one state change, the audit events that record it and the
//! notification email it queues, committed together or not at all. A crash can lose a
//! whole change, never only its record.

use sqlx::{Any, AnyConnection, Transaction};

use super::audit::{NewEvent, append};
use super::{Store, StoreResult};

/// An email to queue. Notifications never carry case content.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Queued at most once per key (inactivity warnings); None for no such limit.
    pub dedupe_key: Option<String>,
}

pub struct Change {
    tx: Transaction<'static, Any>,
    now: i64,
}

impl Store {
    /// Starts a change made at `now` (the time its notifications are queued).
    pub async fn begin(&self, now: i64) -> StoreResult<Change> {
        Ok(Change {
            tx: self.pool.begin().await?,
            now,
        })
    }
}

impl Change {
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub(super) fn tx(&mut self) -> &mut Transaction<'static, Any> {
        &mut self.tx
    }

    /// When the change is made.
    pub(super) fn now(&self) -> i64 {
        self.now
    }

    /// Appends events to the audit chain as part of this change.
    pub async fn record(&mut self, events: &[NewEvent]) -> StoreResult<()> {
        append(&mut self.tx, events).await
    }

    /// Queues notification email as part of this change; returns how many were queued
    /// (a notification whose key was queued before is not queued again).
    pub async fn notify(&mut self, notifications: &[NewNotification]) -> StoreResult<u64> {
        let mut queued = 0;
        for notification in notifications {
            let result = sqlx::query(
                "INSERT INTO notifications (recipient, subject, body, dedupe_key, created_at, \
                 next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(&notification.recipient)
            .bind(&notification.subject)
            .bind(&notification.body)
            .bind(notification.dedupe_key.as_deref())
            .bind(self.now)
            .execute(&mut *self.tx)
            .await?;
            queued += result.rows_affected();
        }
        Ok(queued)
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

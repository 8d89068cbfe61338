//! Sending notification email from the outbox: through the configured SMTP relay, or,
//! without one, into files under <data-dir>/outbox. Failures are retried with backoff.
//! Notifications never carry case content.

use std::sync::Arc;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// Sends what the services queued with their changes.
#[derive(Clone)]
pub struct Notifications {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
}

/// Retry after 1, 2, 4 … minutes, at most an hour apart.
fn backoff(attempts: i64) -> i64 {
    60 * (1_i64 << attempts.clamp(0, 6))
}

impl Notifications {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock) -> Self {
        Self {
            store,
            config,
            clock,
        }
    }

    /// Sends what is due; returns how many went out.
    pub async fn deliver(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let due = self.store.due_notifications(now, 100).await?;
        let mut sent = 0;
        for notification in due {
            match self
                .send_one(
                    &notification.recipient,
                    &notification.subject,
                    &notification.body,
                    notification.id,
                )
                .await
            {
                Ok(()) => {
                    self.store.notification_sent(notification.id, now).await?;
                    sent += 1;
                }
                Err(error) => {
                    tracing::warn!(notification = notification.id, %error, "notification not sent; will retry");
                    self.store
                        .notification_failed(
                            notification.id,
                            &error.to_string(),
                            now + backoff(notification.attempts),
                        )
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_one(&self, to: &str, subject: &str, body: &str, id: i64) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.config.smtp_from.parse::<Mailbox>()?)
            .to(to.parse::<Mailbox>()?)
            .subject(subject)
            .body(body.to_string())?;
        match &self.config.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build();
                transport.send(message).await?;
            }
            None => {
                let dir = self.config.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{id:08}.eml"));
                std::fs::write(&path, message.formatted())?;
                tracing::info!(to, subject, file = %path.display(), "notification written to the outbox (no SMTP relay configured)");
            }
        }
        Ok(())
    }
}

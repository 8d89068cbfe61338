//! Sending notification email from the outbox: through the configured SMTP relay, or,
//! without one, into files under <data-dir>/outbox. Failures are retried with backoff.
//! Notifications never carry case content.
//!
//! Several instances may share one database: each claims the rows it sends (a lease in
//! the same statement that picks them), so every notification goes out once. One pooled
//! SMTP connection per instance carries them all, and a run sends until nothing is due.

use std::sync::Arc;

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{NotificationRow, Store};

/// Rows claimed at a time.
const BATCH: i64 = 100;

/// How long a claim lasts: longer than a batch can take (each send has its own timeout,
/// below), so a live instance never loses its rows to another; a dead one's rows are
/// taken again once it has passed.
const LEASE_SECONDS: i64 = 300;

/// Longest wait for one message's SMTP exchange.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends what the services queued with their changes.
#[derive(Clone)]
pub struct Notifications {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
    /// This instance's name on its claims.
    holder: Arc<str>,
    relay: Relay,
}

#[derive(Clone)]
enum Relay {
    /// One transport for the process: lettre keeps its connection open between messages.
    Smtp(Arc<AsyncSmtpTransport<Tokio1Executor>>),
    /// The URL was not usable; every attempt fails with this, retried like a relay that
    /// is down (and the log says why).
    Unusable(Arc<str>),
    Outbox,
}

/// Retry after 1, 2, 4 … minutes, at most an hour apart.
fn backoff(attempts: i64) -> i64 {
    60 * (1_i64 << attempts.clamp(0, 6))
}

impl Notifications {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock) -> Self {
        let relay = match &config.smtp_url {
            Some(url) => match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
                Ok(builder) => Relay::Smtp(Arc::new(
                    builder
                        .timeout(Some(SEND_TIMEOUT))
                        .pool_config(PoolConfig::new().max_size(1))
                        .build(),
                )),
                Err(error) => Relay::Unusable(Arc::from(format!(
                    "the SMTP relay setting cannot be used: {error}"
                ))),
            },
            None => Relay::Outbox,
        };
        Self {
            store,
            config,
            clock,
            holder: Arc::from(uuid::Uuid::new_v4().to_string()),
            relay,
        }
    }

    /// Sends everything that is due, a claimed batch at a time; returns how many went out.
    pub async fn deliver(&self) -> anyhow::Result<usize> {
        let mut sent_total = 0;
        loop {
            let now = self.clock.now();
            let due = self
                .store
                .claim_notifications(&self.holder, now, now + LEASE_SECONDS, BATCH)
                .await?;
            if due.is_empty() {
                return Ok(sent_total);
            }
            let mut sent = Vec::new();
            let mut failed = Vec::new();
            for notification in &due {
                match self.send_one(notification).await {
                    Ok(()) => sent.push(notification.id),
                    Err(error) => {
                        tracing::warn!(notification = notification.id, %error, "notification not sent; will retry");
                        failed.push((
                            notification.id,
                            error.to_string(),
                            now + backoff(notification.attempts),
                        ));
                    }
                }
            }
            self.store
                .notifications_done(&self.holder, self.clock.now(), &sent, &failed)
                .await?;
            sent_total += sent.len();
            if !failed.is_empty() {
                // The relay is failing: the rest waits for the next run rather than
                // being tried one by one against it now.
                return Ok(sent_total);
            }
        }
    }

    /// Notifications queued and not yet sent, in every instance.
    pub async fn waiting(&self) -> anyhow::Result<i64> {
        Ok(self.store.notifications_waiting().await?)
    }

    async fn send_one(&self, notification: &NotificationRow) -> anyhow::Result<()> {
        let from = self.config.smtp_from.parse::<Mailbox>()?;
        // Named after the notification, so that a receiving server (or a reader) can tell
        // a repeat from a new email should a send ever be repeated.
        let message_id = format!("<notification-{}@{}>", notification.id, from.email.domain());
        let message = Message::builder()
            .message_id(Some(message_id))
            .from(from)
            .to(notification.recipient.parse::<Mailbox>()?)
            .subject(&notification.subject)
            .body(notification.body.clone())?;
        match &self.relay {
            Relay::Smtp(transport) => {
                transport.send(message).await?;
            }
            Relay::Unusable(problem) => anyhow::bail!("{problem}"),
            Relay::Outbox => {
                let dir = self.config.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{:08}.eml", notification.id));
                std::fs::write(&path, message.formatted())?;
                tracing::info!(to = %notification.recipient, subject = %notification.subject, file = %path.display(), "notification written to the outbox (no SMTP relay configured)");
            }
        }
        Ok(())
    }
}

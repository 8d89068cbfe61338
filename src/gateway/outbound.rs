//! Letters leaving for secure domains: each queued letter is claimed (as notifications
//! are), opened with the gateway's key and handed to the mail server by SMTP on loopback,
//! asking for delivery status notifications (RFC 3461) to `bounces+ID@` the gateway's
//! name. The mail server then delivers under the domain's TLS policy, retries, and
//! reports; reports come back over LMTP and move the letter on.

use std::io::Read;
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, MailParameter, RcptParameter};

use super::Gateway;
use super::socketmap::report_address;
use crate::audit::Origin;
use crate::crypto::opening_reader;
use crate::domain::{EventKind, SubjectKind};
use crate::store::OutboundRow;

const BATCH: i64 = 20;
const LEASE_SECONDS: i64 = 600;
/// Handing over is retried for about a day (1, 2, 4 … 60 minutes apart), then given up.
const MOST_ATTEMPTS: i64 = 30;

fn backoff(attempts: i64) -> i64 {
    60 * (1_i64 << attempts.clamp(0, 6)).min(60)
}

impl Gateway {
    /// Hands every due letter to the mail server; returns how many were handed over.
    pub async fn send_outbound(&self) -> anyhow::Result<usize> {
        let Some(identity) = self.identity.clone() else {
            return Ok(0);
        };
        let mut handed = 0;
        loop {
            let now = self.clock.now();
            let due = self
                .store
                .claim_outbound(&self.holder, now, now + LEASE_SECONDS, BATCH)
                .await?;
            if due.is_empty() {
                return Ok(handed);
            }
            let mut trouble = false;
            for letter in due {
                match self.hand_over(&identity, &letter).await {
                    Ok(reply) => {
                        handed += 1;
                        self.outbound_reached(
                            letter.id,
                            "handed",
                            EventKind::GatewayHanded,
                            &reply,
                        )
                        .await?;
                    }
                    Err(error) => {
                        trouble = true;
                        let detail = format!("{error}");
                        tracing::warn!(letter = letter.id, error = %detail, "letter not handed to the mail server; will retry");
                        let retry_at = (letter.attempts + 1 < MOST_ATTEMPTS)
                            .then(|| self.clock.now() + backoff(letter.attempts));
                        self.store
                            .outbound_not_handed(
                                letter.id,
                                &self.holder,
                                &detail,
                                retry_at,
                                self.clock.now(),
                            )
                            .await?;
                        if retry_at.is_none() {
                            self.outbound_reached(
                                letter.id,
                                "failed",
                                EventKind::GatewayFailed,
                                &detail,
                            )
                            .await?;
                        }
                    }
                }
            }
            if trouble {
                // The mail server is not taking letters: the rest waits for the next run.
                return Ok(handed);
            }
        }
    }

    async fn hand_over(
        &self,
        identity: &crate::crypto::UserIdentity,
        letter: &OutboundRow,
    ) -> anyhow::Result<String> {
        let reader = self.blobs.open(&letter.blob_id).await?;
        let identity = identity.clone();
        let message = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
            let mut plain = Vec::new();
            opening_reader(&identity, reader)?.read_to_end(&mut plain)?;
            Ok(plain)
        })
        .await??;
        let settings = &self.config.gateway;
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            settings.gateway_submit,
            Some(Duration::from_secs(30)),
            &ClientId::Domain(settings.gateway_hostname.clone()),
            None,
            None,
        )
        .await?;
        let sender: Address = report_address(letter.id, &settings.gateway_hostname).parse()?;
        let recipient: Address = letter.recipient.parse()?;
        let asked = connection
            .command(Mail::new(
                Some(sender.clone()),
                vec![
                    MailParameter::Other {
                        keyword: "RET".into(),
                        value: Some("HDRS".into()),
                    },
                    MailParameter::Other {
                        keyword: "ENVID".into(),
                        value: Some(format!("casemail-{}", letter.id)),
                    },
                ],
            ))
            .await;
        let reports = match asked {
            Ok(_) => true,
            // A server without delivery status notifications (not Postfix): the letter
            // goes without asking for reports, and stays "handed" once taken.
            Err(error) if error.is_permanent() => {
                connection.command(Rset).await?;
                connection
                    .command(Mail::new(Some(sender), Vec::new()))
                    .await?;
                false
            }
            Err(error) => return Err(error.into()),
        };
        let notify = if reports {
            vec![RcptParameter::Other {
                keyword: "NOTIFY".into(),
                value: Some("SUCCESS,DELAY,FAILURE".into()),
            }]
        } else {
            Vec::new()
        };
        connection.command(Rcpt::new(recipient, notify)).await?;
        connection.command(Data).await?;
        let reply = connection.message(&message).await?;
        let _ = connection.quit().await;
        Ok(reply.message().collect::<Vec<_>>().join(" "))
    }

    /// Moves letter `id` on and records it for the sender's timeline; once the letter is
    /// relayed or has failed for every addressee, its sealed copy is removed.
    pub(super) async fn outbound_reached(
        &self,
        id: i64,
        state: &str,
        kind: EventKind,
        detail: &str,
    ) -> anyhow::Result<()> {
        let Some(letter) = self.store.outbound(id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        if !change.outbound_reached(id, state, detail).await? {
            return Ok(());
        }
        let origin = Origin {
            actor_id: None,
            actor_org_id: None,
            client_address: self.config.gateway.gateway_hostname.clone(),
            on_behalf_of: None,
        };
        change
            .record(&[origin.event(
                now,
                kind,
                SubjectKind::Message,
                Some(letter.message_id),
                serde_json::json!({
                    "recipient": letter.recipient_id,
                    "outbound": id,
                    "detail": detail,
                }),
            )])
            .await?;
        change.commit().await?;
        if matches!(state, "relayed" | "failed") {
            let all = self.store.outbound_of_message(letter.message_id).await?;
            if all
                .iter()
                .all(|l| matches!(l.state.as_str(), "relayed" | "failed"))
                && let Some(blob) = self.store.outbound_blob(id).await?
            {
                self.blobs.delete(&blob).await?;
            }
        }
        Ok(())
    }
}

//! Mail arriving from outside: delivery reports about letters sent out, and letters from
//! secure domains, which are checked (TLS on the way in, a listed domain, SPF, DKIM,
//! DMARC), parsed, and encrypted on arrival to their addressees' keys. A letter is
//! refused whole, with the reply the mail server passes back, or delivered whole.

use std::net::IpAddr;

use mail_parser::{MessageParser, MimeHeaders};

use super::Gateway;
use super::authentication::{Authenticator, Verdicts};
use super::socketmap::reported_letter;
use crate::audit::Origin;
use crate::domain::{DkimFailure, EmailAddress, EventKind, MailDomain, SubjectKind};
use crate::mail::ArrivingLetter;
use crate::store::AddressRecord;

/// A message as the mail server hands it over (LMTP).
pub struct Arrival {
    /// The envelope sender; empty for a delivery report.
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// What the mail server told of the client (XFORWARD).
    pub peer: Option<IpAddr>,
    pub helo: Option<String>,
    pub queue_id: Option<String>,
}

/// Why a message (or one recipient of it) was not taken, as an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub status: &'static str,
    pub text: String,
}

impl Refusal {
    fn permanent(status: &'static str, text: impl Into<String>) -> Self {
        Self {
            code: 550,
            status,
            text: text.into(),
        }
    }

    fn temporary(text: impl Into<String>) -> Self {
        Self {
            code: 451,
            status: "4.3.0",
            text: text.into(),
        }
    }

    pub fn reply(&self) -> String {
        format!("{} {} {}", self.code, self.status, self.text)
    }
}

/// TLS version and cipher from the top Received header, which the gateway's own mail
/// server wrote (anything below it may have been written by the sender).
fn tls_of(raw: &[u8]) -> Option<(String, String)> {
    let head = &raw[..raw.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let mut received = String::new();
    let mut in_received = false;
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            break;
        }
        if in_received && (line.starts_with(' ') || line.starts_with('\t')) {
            received.push(' ');
            received.push_str(line.trim());
            continue;
        }
        if in_received {
            break;
        }
        if line.to_ascii_lowercase().starts_with("received:") {
            in_received = true;
            received.push_str(line);
        }
    }
    let at = received.find("using TLS")? + "using ".len();
    let rest = &received[at..];
    let version = rest.split_whitespace().next()?.to_string();
    let cipher = rest
        .split("with cipher ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .to_string();
    Some((version, cipher))
}

/// Action, status and diagnostic of a delivery status notification (RFC 3464).
fn report_of(raw: &[u8]) -> Option<(String, String, String)> {
    let text = String::from_utf8_lossy(raw);
    let at = text.find("Reporting-MTA:")?;
    let mut action = None;
    let mut status = String::new();
    let mut diagnostic = String::new();
    for line in text[at..].lines() {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        match field.trim().to_ascii_lowercase().as_str() {
            "action" if action.is_none() => action = Some(value.trim().to_ascii_lowercase()),
            "status" if status.is_empty() => status = value.trim().to_string(),
            "diagnostic-code" if diagnostic.is_empty() => {
                diagnostic = value.trim().chars().take(300).collect();
            }
            _ => {}
        }
        if action.is_some() && !status.is_empty() && !diagnostic.is_empty() {
            break;
        }
    }
    Some((action?, status, diagnostic))
}

fn clean_ids(list: Option<&[std::borrow::Cow<'_, str>]>, single: Option<&str>) -> Vec<String> {
    let mut ids: Vec<String> = list
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    ids.extend(single.map(str::to_string));
    ids.into_iter()
        .map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .filter(|id| !id.is_empty())
        .collect()
}

impl Gateway {
    /// Takes a message for its recipients; one answer per recipient, in order.
    pub async fn receive(&self, arrival: Arrival) -> Vec<Result<(), Refusal>> {
        let hostname = self.config.gateway.gateway_hostname.clone();
        let reports: Vec<Option<i64>> = arrival
            .recipients
            .iter()
            .map(|r| reported_letter(r, &hostname))
            .collect();
        if reports.iter().all(Option::is_some) {
            let mut answers = Vec::new();
            for letter in reports.into_iter().flatten() {
                answers.push(self.take_report(letter, &arrival.raw).await);
            }
            return answers;
        }
        let outcome = self.take_letter(&arrival).await;
        match outcome {
            Ok(answers) => answers,
            Err(refusal) => {
                self.record_refusal(&arrival, &refusal).await;
                arrival
                    .recipients
                    .iter()
                    .map(|_| Err(refusal.clone()))
                    .collect()
            }
        }
    }

    async fn take_report(&self, letter: i64, raw: &[u8]) -> Result<(), Refusal> {
        let Some((action, status, diagnostic)) = report_of(raw) else {
            return Err(Refusal::permanent(
                "5.6.0",
                "not a delivery status notification",
            ));
        };
        let (state, kind) = match action.as_str() {
            "relayed" | "delivered" | "expanded" => ("relayed", EventKind::GatewayRelayed),
            "delayed" => ("delayed", EventKind::GatewayDelayed),
            "failed" => ("failed", EventKind::GatewayFailed),
            _ => return Ok(()),
        };
        let detail = if diagnostic.is_empty() {
            status.clone()
        } else {
            format!("{status} {diagnostic}")
        };
        self.outbound_reached(letter, state, kind, &detail)
            .await
            .map_err(|e| Refusal::temporary(format!("cannot record the report: {e}")))
    }

    async fn take_letter(&self, arrival: &Arrival) -> Result<Vec<Result<(), Refusal>>, Refusal> {
        let temporary = |e: anyhow::Error| {
            tracing::warn!(error = %format!("{e:#}"), "gateway: cannot take a letter now");
            Refusal::temporary("Casemail cannot take this message now; try again later")
        };
        if arrival.mail_from.is_empty() {
            return Err(Refusal::permanent(
                "5.7.1",
                "delivery reports are taken only for Casemail's own letters",
            ));
        }
        let Some((tls_version, cipher)) = tls_of(&arrival.raw) else {
            return Err(Refusal::permanent("5.7.10", "mail must arrive over TLS"));
        };
        let envelope_domain = MailDomain::of_address(&arrival.mail_from)
            .ok_or_else(|| Refusal::permanent("5.1.7", "the sender's address is not valid"))?;
        let secure = self
            .store
            .secure_domain(envelope_domain.as_str())
            .await
            .map_err(|e| temporary(e.into()))?
            .ok_or_else(|| {
                Refusal::permanent(
                    "5.7.1",
                    format!("{envelope_domain} is not a secure domain of this service"),
                )
            })?;
        let parser = MessageParser::default();
        let Some(message) = parser.parse(&arrival.raw) else {
            return Err(Refusal::permanent("5.6.0", "the message cannot be read"));
        };
        let from = message
            .from()
            .and_then(|f| f.first())
            .and_then(|a| {
                Some((
                    a.address()?.to_ascii_lowercase(),
                    a.name().map(str::to_string),
                ))
            })
            .ok_or_else(|| Refusal::permanent("5.6.0", "the message has no From address"))?;
        let from_domain = MailDomain::of_address(&from.0)
            .ok_or_else(|| Refusal::permanent("5.6.0", "the From address is not valid"))?;
        if from_domain != envelope_domain {
            return Err(Refusal::permanent(
                "5.7.1",
                "the From address must be at the sender's secure domain",
            ));
        }
        let authenticator =
            Authenticator::new(self.config.gateway.gateway_dns).map_err(temporary)?;
        let peer = arrival.peer.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let helo = arrival.helo.clone().unwrap_or_default();
        let verdicts = authenticator
            .check(
                &arrival.raw,
                peer,
                &helo,
                &self.config.gateway.gateway_hostname,
                &arrival.mail_from,
            )
            .await;
        let dkim_policy = DkimFailure::parse(&secure.dkim_failure).unwrap_or(DkimFailure::Reject);
        if !verdicts.dkim_passed() && dkim_policy == DkimFailure::Reject {
            return Err(Refusal::permanent(
                "5.7.20",
                format!("no valid DKIM signature ({})", verdicts.summary()),
            ));
        }
        if verdicts.dmarc_failed() && verdicts.dmarc_reject {
            return Err(Refusal::permanent(
                "5.7.1",
                format!(
                    "the sender's domain asks for this message to be refused ({})",
                    verdicts.summary()
                ),
            ));
        }

        let mut answers = Vec::new();
        let mut readers: Vec<(AddressRecord, bool)> = Vec::new();
        let header_to: Vec<String> = message
            .to()
            .map(|to| {
                to.iter()
                    .filter_map(|a| a.address().map(str::to_ascii_lowercase))
                    .collect()
            })
            .unwrap_or_default();
        for recipient in &arrival.recipients {
            let record = match EmailAddress::parse(recipient) {
                Ok(address) => self
                    .store
                    .address_record(&address)
                    .await
                    .map_err(|e| temporary(e.into()))?
                    .filter(|r| r.can_receive() && !r.is_external()),
                Err(_) => None,
            };
            match record {
                Some(record) => {
                    let is_to = header_to.contains(&record.email) || header_to.is_empty();
                    if !readers.iter().any(|(r, _)| r.id == record.id) {
                        readers.push((record, is_to));
                    }
                    answers.push(Ok(()));
                }
                None => answers.push(Err(Refusal::permanent(
                    "5.1.1",
                    format!("<{recipient}>: no such mailbox in Casemail"),
                ))),
            }
        }
        if readers.is_empty() {
            return Ok(answers);
        }
        let (to, cc): (Vec<_>, Vec<_>) = readers.into_iter().partition(|(_, is_to)| *is_to);
        let mut to: Vec<AddressRecord> = to.into_iter().map(|(r, _)| r).collect();
        let cc: Vec<AddressRecord> = cc.into_iter().map(|(r, _)| r).collect();
        if to.is_empty() {
            // Every addressee was a Cc (or a Bcc): the first is addressed.
            to = cc.iter().take(1).cloned().collect();
        }
        let cc: Vec<AddressRecord> = cc
            .into_iter()
            .filter(|c| !to.iter().any(|t| t.id == c.id))
            .collect();

        let name = from
            .1
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| from.0.split('@').next().unwrap_or_default().to_string());
        let sender = self
            .external_sender(secure.organisation_id, &from.0, &name)
            .await
            .map_err(temporary)?;
        let mut attachments = Vec::new();
        for (n, part) in message.attachments().enumerate() {
            let name = part
                .attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("attachment-{}", n + 1));
            let media_type = part
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            attachments.push((name, media_type, part.contents().to_vec()));
        }
        let answers_to = {
            let mut ids = clean_ids(
                message.in_reply_to().as_text_list(),
                message.in_reply_to().as_text(),
            );
            ids.extend(clean_ids(
                message.references().as_text_list(),
                message.references().as_text(),
            ));
            ids
        };
        let received_via = format!("{tls_version} ({cipher}); {}", verdicts.summary());
        let letter = ArrivingLetter {
            sender,
            sender_org_id: secure.organisation_id,
            to,
            cc,
            subject: message.subject().unwrap_or("(no subject)").to_string(),
            body: message
                .body_text(0)
                .map(|b| b.into_owned())
                .unwrap_or_default(),
            attachments,
            answers: answers_to,
            internet_id: message.message_id().map(str::to_string),
            received_via,
            arrival: self.arrival_record(arrival, &tls_version, &cipher, &verdicts),
            peer_address: peer.to_string(),
        };
        self.mail
            .receive_from_outside(letter)
            .await
            .map_err(temporary)?;
        Ok(answers)
    }

    async fn external_sender(
        &self,
        organisation_id: i64,
        email: &str,
        name: &str,
    ) -> anyhow::Result<AddressRecord> {
        let mut change = self.store.begin(self.clock.now()).await?;
        change
            .external_account(organisation_id, email, name)
            .await?;
        change.commit().await?;
        let address = EmailAddress::parse(email).map_err(|_| anyhow::anyhow!("not an address"))?;
        self.store
            .address_record(&address)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the sender's account was not made"))
    }

    fn arrival_record(
        &self,
        arrival: &Arrival,
        tls_version: &str,
        cipher: &str,
        verdicts: &Verdicts,
    ) -> serde_json::Value {
        serde_json::json!({
            "peer": arrival.peer.map(|p| p.to_string()),
            "helo": arrival.helo,
            "queue_id": arrival.queue_id,
            "tls": tls_version,
            "cipher": cipher,
            "spf": verdicts.spf,
            "dkim": verdicts.dkim,
            "dmarc": verdicts.dmarc,
            "size": arrival.raw.len(),
        })
    }

    /// Records a refused letter: who tried, from where, and why (never its content).
    async fn record_refusal(&self, arrival: &Arrival, refusal: &Refusal) {
        let event = Origin {
            actor_id: None,
            actor_org_id: None,
            client_address: arrival.peer.map(|p| p.to_string()).unwrap_or_default(),
            on_behalf_of: None,
        }
        .event(
            self.clock.now(),
            EventKind::GatewayRefused,
            SubjectKind::Message,
            None,
            serde_json::json!({
                "mail_from": arrival.mail_from,
                "recipients": arrival.recipients.len(),
                "queue_id": arrival.queue_id,
                "reply": refusal.reply(),
            }),
        );
        if let Err(error) = self.store.audit(&[event]).await {
            tracing::warn!(%error, "cannot record a refused message");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_read_from_the_top_received_header_only() {
        let raw = b"Received: from peer.test (unknown [127.0.0.1])\r\n\
            \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n\
            \tby mx.casemail.test (Postfix) with ESMTPS id 1C6E\r\n\
            Received: from x (using TLSv1.0 with cipher FAKE)\r\n\
            Subject: hi\r\n\r\nbody";
        assert_eq!(
            tls_of(raw),
            Some(("TLSv1.3".into(), "TLS_AES_256_GCM_SHA384".into()))
        );
        let plain = b"Received: from peer.test by mx.casemail.test with ESMTP\r\n\
            Received: (using TLSv1.3 with cipher FORGED)\r\nSubject: hi\r\n\r\nbody";
        assert_eq!(tls_of(plain), None, "a forged lower header does not count");
    }

    #[test]
    fn delivery_reports_give_action_status_and_diagnostic() {
        let raw = b"Content-Type: multipart/report\r\n\r\n--b\r\n\
            Content-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.casemail.test\r\n\r\n\
            Final-Recipient: rfc822; fiscal@peer.test\r\nAction: failed\r\n\
            Status: 4.4.1\r\nDiagnostic-Code: X-Postfix; connect refused\r\n";
        assert_eq!(
            report_of(raw),
            Some((
                "failed".into(),
                "4.4.1".into(),
                "X-Postfix; connect refused".into()
            ))
        );
    }
}

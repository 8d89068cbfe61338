//! Answers the mail server's table lookups live from the database, in Postfix's socketmap
//! protocol (each request and reply a netstring: `name key`, then `OK value`, `NOTFOUND `,
//! `TEMP reason` or `PERM reason`), so the mail server's view of domains, recipients and
//! TLS policy is never stale and nobody has to reload it. The tables:
//!
//! - `domains`: the domains Casemail's own people have addresses at (and the gateway's
//!   own name, for delivery reports): Postfix's `relay_domains`.
//! - `recipients`: the addresses there that can receive (`relay_recipient_maps`).
//! - `senders`: secure domains, whose people may send in (`check_sender_access`).
//! - `transport`: where a secure domain's mail goes (`transport_maps`).
//! - `tls_policy`: what TLS that server must offer (`smtp_tls_policy_maps`).

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::Gateway;
use crate::domain::{EmailAddress, NextHop, TlsPolicy};

/// The longest request accepted (a name and an address are far shorter).
const MAX_REQUEST: usize = 10_000;

pub(super) async fn answer(gateway: Gateway, stream: TcpStream) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut length = Vec::new();
        if read.read_until(b':', &mut length).await? == 0 {
            return Ok(());
        }
        length.pop();
        let length: usize = std::str::from_utf8(&length)?.trim().parse()?;
        anyhow::ensure!(length <= MAX_REQUEST, "request too long");
        let mut request = vec![0u8; length + 1];
        read.read_exact(&mut request).await?;
        anyhow::ensure!(request.pop() == Some(b','), "not a netstring");
        let request = String::from_utf8_lossy(&request).into_owned();
        let reply = match request.split_once(' ') {
            Some((name, key)) => match gateway.lookup(name, key).await {
                Ok(Some(value)) => format!("OK {value}"),
                Ok(None) => "NOTFOUND ".to_string(),
                Err(error) => {
                    tracing::warn!(%error, table = name, "socketmap lookup failed");
                    "TEMP lookup failed".to_string()
                }
            },
            None => "PERM malformed request".to_string(),
        };
        write
            .write_all(format!("{}:{reply},", reply.len()).as_bytes())
            .await?;
    }
}

/// A Postfix TLS policy for a secure domain's servers.
fn postfix_policy(domain: &str, policy: &TlsPolicy) -> String {
    match policy {
        TlsPolicy::Verify => format!("secure match={domain}"),
        TlsPolicy::Fingerprint(f) => format!("fingerprint match={}", f.as_str()),
    }
}

/// The address a delivery report for outbound letter `id` is sent to.
pub(super) fn report_address(id: i64, hostname: &str) -> String {
    format!("bounces+{id}@{hostname}")
}

/// The outbound letter a report address names.
pub(super) fn reported_letter(address: &str, hostname: &str) -> Option<i64> {
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(hostname) {
        return None;
    }
    local.strip_prefix("bounces+")?.parse().ok()
}

impl Gateway {
    /// One lookup: Some(value) when the key is in the table.
    pub async fn lookup(&self, table: &str, key: &str) -> anyhow::Result<Option<String>> {
        let key = key.trim().to_ascii_lowercase();
        let hostname = self.config.gateway.gateway_hostname.to_ascii_lowercase();
        match table {
            "domains" => Ok((key == hostname || self.store.serves_domain(&key).await?)
                .then(|| "casemail".to_string())),
            "recipients" => {
                if reported_letter(&key, &hostname).is_some() {
                    return Ok(Some("report".into()));
                }
                let Ok(address) = EmailAddress::parse(&key) else {
                    return Ok(None);
                };
                Ok(self
                    .store
                    .address_record(&address)
                    .await?
                    .filter(|r| r.can_receive() && !r.is_external())
                    .map(|_| "casemail".to_string()))
            }
            "senders" => {
                if key == "<>" {
                    // Delivery reports; the LMTP side takes them only for report addresses.
                    return Ok(Some("OK".into()));
                }
                let domain = key.rsplit_once('@').map_or(key.as_str(), |(_, d)| d);
                Ok(self
                    .store
                    .secure_domain(domain)
                    .await?
                    .map(|_| "OK".to_string()))
            }
            "transport" => {
                let domain = key.rsplit_once('@').map_or(key.as_str(), |(_, d)| d);
                let Some(row) = self.store.secure_domain(domain).await? else {
                    return Ok(None);
                };
                Ok(Some(match row.next_hop.as_deref().map(NextHop::parse) {
                    Some(Ok(hop)) => format!("smtp:{}", hop.postfix()),
                    _ => "smtp:".to_string(),
                }))
            }
            "tls_policy" => {
                let row = match NextHop::parse(&key) {
                    Ok(hop) if key.starts_with('[') => {
                        self.store
                            .secure_domain_by_next_hop(&hop.to_string())
                            .await?
                    }
                    _ => self.store.secure_domain(&key).await?,
                };
                Ok(row.and_then(|row| {
                    TlsPolicy::from_stored(&row.tls_policy, row.fingerprint.as_deref())
                        .ok()
                        .map(|policy| postfix_policy(&row.domain, &policy))
                }))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_addresses_name_their_letter() {
        let address = report_address(42, "mx.casemail.test");
        assert_eq!(reported_letter(&address, "MX.casemail.test"), Some(42));
        assert_eq!(
            reported_letter("bounces+42@elsewhere.test", "mx.casemail.test"),
            None
        );
        assert_eq!(
            reported_letter("fiona@mx.casemail.test", "mx.casemail.test"),
            None
        );
    }
}

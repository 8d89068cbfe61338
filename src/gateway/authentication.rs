//! SPF, DKIM and DMARC for mail arriving from a secure domain (mail-auth), with DNS from
//! the system's resolver or the one configured for the gateway.

use std::net::{IpAddr, SocketAddr};

use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, SpfResult};

/// What the checks found, as short words for people and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdicts {
    pub spf: String,
    pub dkim: String,
    pub dmarc: String,
    /// The sender's domain asks receivers to refuse mail that fails DMARC.
    pub dmarc_reject: bool,
}

impl Verdicts {
    pub fn dkim_passed(&self) -> bool {
        self.dkim == "pass"
    }

    pub fn dmarc_failed(&self) -> bool {
        self.dmarc == "fail"
    }

    pub fn summary(&self) -> String {
        format!("SPF {}; DKIM {}; DMARC {}", self.spf, self.dkim, self.dmarc)
    }
}

pub struct Authenticator(MessageAuthenticator);

impl Authenticator {
    /// Uses `dns` (address:port) when given, otherwise the system's resolver.
    pub fn new(dns: Option<SocketAddr>) -> anyhow::Result<Self> {
        let authenticator = match dns {
            Some(address) => {
                let mut server = NameServerConfig::udp_and_tcp(address.ip());
                for connection in &mut server.connections {
                    connection.port = address.port();
                }
                MessageAuthenticator::new(
                    ResolverConfig::from_name_servers(vec![server]),
                    ResolverOpts::default(),
                )?
            }
            None => MessageAuthenticator::new_system_conf()?,
        };
        Ok(Self(authenticator))
    }

    /// Checks a message received from `peer` (who said `helo`) with envelope sender
    /// `mail_from`; `host` is the gateway's own name.
    pub async fn check(
        &self,
        raw: &[u8],
        peer: IpAddr,
        helo: &str,
        host: &str,
        mail_from: &str,
    ) -> Verdicts {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Verdicts {
                spf: "none".into(),
                dkim: "none".into(),
                dmarc: "none".into(),
                dmarc_reject: false,
            };
        };
        let dkim = self.0.verify_dkim(&message).await;
        let spf = self
            .0
            .verify_spf(SpfParameters::verify_mail_from(peer, helo, host, mail_from))
            .await;
        let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let dmarc = self
            .0
            .verify_dmarc(DmarcParameters::new(
                &message,
                &dkim,
                mail_from_domain,
                &spf,
            ))
            .await;
        // A signature that does not match (a changed body is "neutral" to mail-auth) is a
        // failure; only a DNS failure is temporary.
        let dkim_word = if dkim.iter().any(|d| d.result() == &DkimResult::Pass) {
            "pass"
        } else if dkim.is_empty() || dkim.iter().all(|d| d.result() == &DkimResult::None) {
            "none"
        } else if dkim
            .iter()
            .all(|d| matches!(d.result(), DkimResult::TempError(_)))
        {
            "temperror"
        } else {
            "fail"
        };
        let dmarc_word = match (dmarc.dkim_result(), dmarc.spf_result()) {
            (DmarcResult::Pass, _) | (_, DmarcResult::Pass) => "pass",
            (DmarcResult::None, DmarcResult::None) => "none",
            (DmarcResult::Fail(_), _) | (_, DmarcResult::Fail(_)) => "fail",
            _ => "error",
        };
        Verdicts {
            spf: match spf.result() {
                SpfResult::Pass => "pass",
                SpfResult::Fail => "fail",
                SpfResult::SoftFail => "softfail",
                SpfResult::Neutral => "neutral",
                SpfResult::TempError => "temperror",
                SpfResult::PermError => "permerror",
                SpfResult::None => "none",
            }
            .into(),
            dkim: dkim_word.into(),
            dmarc: dmarc_word.into(),
            dmarc_reject: matches!(dmarc.policy(), mail_auth::dmarc::Policy::Reject),
        }
    }
}

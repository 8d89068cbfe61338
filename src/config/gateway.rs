//! The gateway to secure mail domains: off unless `CASEMAIL_GATEWAY` is set. A mail server
//! in front (Postfix) hands inbound mail to Casemail over LMTP, asks Casemail about
//! domains, recipients and TLS policy over its socketmap protocol, and takes outbound mail
//! from Casemail by SMTP on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct GatewaySettings {
    /// Exchange mail with the secure domains service administrators list.
    #[arg(long = "gateway", env = "CASEMAIL_GATEWAY", value_parser = clap::builder::BoolishValueParser::new())]
    pub enabled: bool,

    /// The gateway mail server's host name (its certificate's name; delivery reports come
    /// back to bounces+…@ this name).
    #[arg(long, env = "CASEMAIL_GATEWAY_HOSTNAME", default_value = "localhost")]
    pub gateway_hostname: String,

    /// Where Casemail takes mail from the mail server over LMTP (loopback only).
    #[arg(
        long,
        env = "CASEMAIL_GATEWAY_LMTP_BIND",
        default_value = "127.0.0.1:2424"
    )]
    pub gateway_lmtp_bind: SocketAddr,

    /// Where Casemail answers the mail server's table lookups (Postfix socketmap).
    #[arg(
        long,
        env = "CASEMAIL_GATEWAY_SOCKETMAP_BIND",
        default_value = "127.0.0.1:2425"
    )]
    pub gateway_socketmap_bind: SocketAddr,

    /// Where Casemail hands outbound mail to the mail server.
    #[arg(
        long,
        env = "CASEMAIL_GATEWAY_SUBMIT",
        default_value = "127.0.0.1:10587"
    )]
    pub gateway_submit: SocketAddr,

    /// The gateway's age identity, which opens letters queued to leave. Default:
    /// <data-dir>/gateway-identity.txt, made on first start. Every instance needs the same.
    #[arg(long, env = "CASEMAIL_GATEWAY_IDENTITY_FILE")]
    pub gateway_identity_file: Option<PathBuf>,

    /// A DNS server for SPF, DKIM and DMARC (address:port). Default: the system's.
    #[arg(long, env = "CASEMAIL_GATEWAY_DNS")]
    pub gateway_dns: Option<SocketAddr>,

    /// The largest message accepted from or sent outside Casemail, in MiB.
    #[arg(long, env = "CASEMAIL_GATEWAY_MAX_MESSAGE_MB", default_value_t = 50)]
    pub gateway_max_message_mb: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            gateway_hostname: "localhost".into(),
            gateway_lmtp_bind: SocketAddr::from(([127, 0, 0, 1], 2424)),
            gateway_socketmap_bind: SocketAddr::from(([127, 0, 0, 1], 2425)),
            gateway_submit: SocketAddr::from(([127, 0, 0, 1], 10587)),
            gateway_identity_file: None,
            gateway_dns: None,
            gateway_max_message_mb: 50,
        }
    }
}

impl GatewaySettings {
    pub fn identity_file(&self, data_dir: &Path) -> PathBuf {
        self.gateway_identity_file
            .clone()
            .unwrap_or_else(|| data_dir.join("gateway-identity.txt"))
    }

    pub fn max_message_bytes(&self) -> u64 {
        self.gateway_max_message_mb.saturating_mul(1024 * 1024)
    }
}

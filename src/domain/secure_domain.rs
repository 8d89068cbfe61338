//! Secure mail domains: the mail domains outside Casemail it exchanges mail with, and the
//! transport security each one's servers must meet.

use std::fmt;

/// A mail domain name, lower case: `copfs.gov.scot`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MailDomain(String);

impl MailDomain {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err("Enter a mail domain, like copfs.gov.scot");
        }
        Ok(Self(domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain of an address (`name@domain`), if it has one.
    pub fn of_address(address: &str) -> Option<Self> {
        address
            .rsplit_once('@')
            .and_then(|(_, d)| Self::parse(d).ok())
    }
}

impl fmt::Display for MailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 fingerprint of a server's certificate, as `AB:CD:…` (32 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFingerprint(String);

impl CertificateFingerprint {
    /// Accepts the forms `openssl x509 -fingerprint -sha256` prints and plain hex.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let text = text
            .split_once('=')
            .map_or(text, |(label, value)| {
                if label.to_ascii_lowercase().contains("fingerprint") {
                    value
                } else {
                    text
                }
            })
            .trim();
        let hex: String = text
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(
                "Enter the certificate's SHA-256 fingerprint: 32 pairs of hexadecimal digits, \
                 as `openssl x509 -noout -fingerprint -sha256` prints it",
            );
        }
        let pairs: Vec<&str> = (0..32).map(|i| &hex[2 * i..2 * i + 2]).collect();
        Ok(Self(pairs.join(":")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a domain's mail servers must offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsPolicy {
    /// TLS with a certificate that a public or configured authority issued for the
    /// domain's name.
    Verify,
    /// TLS with exactly this certificate.
    Fingerprint(CertificateFingerprint),
}

impl TlsPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Fingerprint(_) => "fingerprint",
        }
    }

    /// As the administrator reads it.
    pub fn describe(&self) -> String {
        match self {
            Self::Verify => "TLS with a verified certificate".into(),
            Self::Fingerprint(f) => format!("TLS with the certificate {}", f.as_str()),
        }
    }

    pub fn from_stored(kind: &str, fingerprint: Option<&str>) -> Result<Self, &'static str> {
        match (kind, fingerprint) {
            ("verify", _) => Ok(Self::Verify),
            ("fingerprint", Some(f)) => Ok(Self::Fingerprint(CertificateFingerprint::parse(f)?)),
            _ => Err("an unknown TLS policy"),
        }
    }
}

/// A server to send a domain's mail to instead of its MX: `host:port` or `[address]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub host: String,
    pub port: u16,
}

impl NextHop {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const PROBLEM: &str = "Enter the server as host:port, like relay.gsi.example:25";
        let text = text.trim().trim_start_matches('[');
        let (host, port) = text.rsplit_once(':').ok_or(PROBLEM)?;
        let host = host.trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| PROBLEM)?;
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !host_ok || port == 0 {
            return Err(PROBLEM);
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// As Postfix names a next hop it must not look up MX records for.
    pub fn postfix(&self) -> String {
        format!("[{}]:{}", self.host, self.port)
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// What happens to a message from the domain whose DKIM signature fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimFailure {
    /// It is refused (the sender's server is told, and tells the sender).
    Reject,
    /// It is delivered, marked as failing authentication.
    Mark,
}

impl DkimFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Mark => "mark",
        }
    }

    pub fn parse(text: &str) -> Result<Self, &'static str> {
        match text {
            "reject" => Ok(Self::Reject),
            "mark" => Ok(Self::Mark),
            _ => Err("Choose what happens to a message that fails DKIM"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_names_with_a_dot() {
        assert_eq!(
            MailDomain::parse(" COPFS.gov.scot. ").map(|d| d.to_string()),
            Ok("copfs.gov.scot".into())
        );
        for bad in ["localhost", "a..b", "-a.b", "a b.c", "x@y.z", ""] {
            assert!(MailDomain::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            MailDomain::of_address("Fiona@PF.example").map(|d| d.to_string()),
            Some("pf.example".into())
        );
    }

    #[test]
    fn fingerprints_take_the_forms_openssl_prints() {
        let hex = "3AC795".to_string() + &"0".repeat(58);
        let with_colons = CertificateFingerprint::parse(&hex).map(|f| f.as_str().to_string());
        assert!(
            with_colons
                .as_deref()
                .is_ok_and(|f| f.starts_with("3A:C7:95:00"))
        );
        let printed = format!(
            "sha256 Fingerprint={}",
            with_colons.clone().unwrap_or_default().to_lowercase()
        );
        assert_eq!(
            CertificateFingerprint::parse(&printed).map(|f| f.as_str().to_string()),
            with_colons
        );
        assert!(CertificateFingerprint::parse("3A:C7").is_err());
    }

    #[test]
    fn next_hops_are_host_and_port() {
        assert_eq!(
            NextHop::parse("[127.0.0.1]:10026").map(|h| h.postfix()),
            Ok("[127.0.0.1]:10026".into())
        );
        assert_eq!(
            NextHop::parse("Relay.example:25").map(|h| h.to_string()),
            Ok("relay.example:25".into())
        );
        for bad in ["relay.example", "relay.example:0", "re lay:25", ":25"] {
            assert!(NextHop::parse(bad).is_err(), "{bad}");
        }
    }
}

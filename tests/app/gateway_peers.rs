//! Real peers on loopback for the gateway tests: a certificate authority and certificates
//! (openssl), a DNS server with the secure domains' SPF, DKIM and DMARC records
//! (dnsmasq), Casemail's own Postfix instance (its own configuration and queue directory),
//! and a secure domain's mail server (Debian's python3-aiosmtpd, with STARTTLS).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::helpers::run_ok;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A test CA and certificates from it for the gateway and a secure domain's server.
pub struct Certificates {
    pub dir: PathBuf,
}

impl Certificates {
    pub fn make(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("the certificates' directory");
        run_ok(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Secure mail test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            dir,
        );
        for (name, names) in [
            ("gateway", "DNS:mx.casemail.test"),
            (
                "peer",
                "DNS:peer.test,DNS:lax.test,DNS:pinned.test,DNS:wrongpin.test,DNS:down.test",
            ),
        ] {
            run_ok(
                "openssl",
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    &format!("/CN={name}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
                dir,
            );
            std::fs::write(
                dir.join(format!("{name}.ext")),
                format!(
                    "subjectAltName={names}\nbasicConstraints=CA:FALSE\n\
                     keyUsage=critical,digitalSignature,keyEncipherment\n\
                     extendedKeyUsage=serverAuth,clientAuth\n"
                ),
            )
            .expect("write the extensions");
            run_ok(
                "openssl",
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    &format!("{name}.ext"),
                    "-out",
                    &format!("{name}.crt"),
                ],
                dir,
            );
        }
        Self {
            dir: dir.to_path_buf(),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The SHA-256 fingerprint of the secure domain's server certificate, as openssl
    /// prints it.
    pub fn peer_fingerprint(&self) -> String {
        run_ok(
            "openssl",
            &[
                "x509",
                "-in",
                "peer.crt",
                "-noout",
                "-fingerprint",
                "-sha256",
            ],
            &self.dir,
        )
        .trim()
        .to_string()
    }
}

/// A DNS server answering only the TXT records it was given.
pub struct Dns {
    child: Child,
    pub port: u16,
}

impl Dns {
    pub async fn start(records: &[(&str, String)]) -> Self {
        let port = free_port();
        let mut command = Command::new("dnsmasq");
        command
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
            ])
            .args([
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--user=root",
            ])
            .arg(format!("--port={port}"))
            // Names it does not hold do not exist (rather than "refused").
            .arg("--local=/test/")
            .arg("--log-facility=-");
        for (name, text) in records {
            // Each comma starts another string of the record: these have none.
            command.arg(format!("--txt-record={name},{text}"));
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        let dns = Self { child, port };
        for _ in 0..200 {
            if dns.answers(records.first().map_or("test", |r| r.0)) {
                return dns;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("dnsmasq did not answer");
    }

    /// Whether a TXT query for `name` is answered.
    fn answers(&self, name: &str) -> bool {
        let Ok(socket) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 16, 0, 1]);
        let mut answer = [0u8; 512];
        socket.send_to(&query, ("127.0.0.1", self.port)).is_ok()
            && socket.recv(&mut answer).is_ok_and(|n| n > 12)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Casemail's own Postfix, from a configuration directory of the test's: inbound SMTP
/// (STARTTLS required) handed to Casemail over LMTP; submission from Casemail on another
/// port; every table asked of Casemail over socketmap.
pub struct GatewayPostfix {
    pub dir: PathBuf,
    pub inbound_port: u16,
}

/// Where Casemail listens for its Postfix, and where its Postfix takes submissions.
pub struct GatewayPorts {
    pub lmtp: u16,
    pub socketmap: u16,
    pub submit: u16,
}

impl GatewayPostfix {
    pub fn start(
        dir: &Path,
        certificates: &Certificates,
        casemail: &GatewayPorts,
        max_bytes: u64,
    ) -> Self {
        let etc = dir.join("etc");
        for sub in ["etc", "spool", "data", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the Postfix directories");
        }
        // Postfix's processes run as its own user: they must reach these directories.
        let mut ancestor = Some(dir);
        while let Some(path) = ancestor {
            if path.starts_with(std::env::temp_dir()) && path != std::env::temp_dir() {
                run_ok("chmod", &["755", &path.display().to_string()], path);
            }
            ancestor = path.parent();
        }
        run_ok(
            "chown",
            &["postfix", &dir.join("data").display().to_string()],
            dir,
        );
        run_ok(
            "chmod",
            &["700", &dir.join("data").display().to_string()],
            dir,
        );
        let (inbound_port, submit_port) = (free_port(), casemail.submit);
        let socketmap =
            |name: &str| format!("socketmap:inet:127.0.0.1:{}:{name}", casemail.socketmap);
        let main_cf = format!(
            "compatibility_level = 3.6\n\
             config_directory = {etc}\n\
             queue_directory = {spool}\n\
             data_directory = {data}\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             myhostname = mx.casemail.test\n\
             mydomain = casemail.test\n\
             myorigin = $myhostname\n\
             mydestination =\n\
             local_recipient_maps =\n\
             local_transport = error:no local delivery\n\
             alias_maps =\n\
             alias_database =\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             mynetworks = 127.0.0.1/32\n\
             maillog_file = {log}/postfix.log\n\
             maillog_file_prefixes = {base}\n\
             smtp_dns_support_level = disabled\n\
             smtp_host_lookup = native\n\
             lmtp_host_lookup = native\n\
             smtpd_peername_lookup = no\n\
             local_header_rewrite_clients =\n\
             relay_domains = {domains}\n\
             relay_recipient_maps = {recipients}\n\
             relay_transport = lmtp:inet:127.0.0.1:{lmtp}\n\
             transport_maps = {transport}\n\
             smtp_tls_policy_maps = {tls_policy}\n\
             smtpd_sender_restrictions = check_sender_access {senders}, reject\n\
             smtpd_relay_restrictions = reject_unauth_destination\n\
             lmtp_send_xforward_command = yes\n\
             smtpd_tls_cert_file = {certs}/gateway.crt\n\
             smtpd_tls_key_file = {certs}/gateway.key\n\
             smtpd_tls_security_level = encrypt\n\
             smtpd_tls_received_header = yes\n\
             smtp_tls_security_level = encrypt\n\
             smtp_tls_CAfile = {certs}/ca.pem\n\
             smtp_tls_fingerprint_digest = sha256\n\
             smtp_tls_session_cache_database =\n\
             smtpd_tls_session_cache_database =\n\
             queue_run_delay = 1s\n\
             minimal_backoff_time = 1s\n\
             maximal_backoff_time = 2s\n\
             maximal_queue_lifetime = 15s\n\
             bounce_queue_lifetime = 15s\n\
             delay_warning_time = 0\n\
             smtp_connect_timeout = 3s\n\
             lmtp_connect_timeout = 3s\n\
             message_size_limit = {max_bytes}\n\
             biff = no\n",
            etc = etc.display(),
            spool = dir.join("spool").display(),
            data = dir.join("data").display(),
            log = dir.join("log").display(),
            base = dir.display(),
            certs = certificates.dir.display(),
            domains = socketmap("domains"),
            recipients = socketmap("recipients"),
            transport = socketmap("transport"),
            tls_policy = socketmap("tls_policy"),
            senders = socketmap("senders"),
            lmtp = casemail.lmtp,
        );
        std::fs::write(etc.join("main.cf"), main_cf).expect("write main.cf");
        let master_cf = format!(
            "127.0.0.1:{inbound_port} inet n - n - - smtpd\n\
             127.0.0.1:{submit_port} inet n - n - - smtpd\n  \
             -o syslog_name=postfix/casemail\n  \
             -o smtpd_tls_security_level=none\n  \
             -o smtpd_sender_restrictions=\n  \
             -o smtpd_relay_restrictions=permit_mynetworks,reject\n\
             pickup unix n - n 60 1 pickup\n\
             cleanup unix n - n - 0 cleanup\n\
             qmgr unix n - n 300 1 qmgr\n\
             tlsmgr unix - - n 1000? 1 tlsmgr\n\
             rewrite unix - - n - - trivial-rewrite\n\
             bounce unix - - n - 0 bounce\n\
             defer unix - - n - 0 bounce\n\
             trace unix - - n - 0 bounce\n\
             verify unix - - n - 1 verify\n\
             flush unix n - n 1000? 0 flush\n\
             proxymap unix - - n - - proxymap\n\
             proxywrite unix - - n - 1 proxymap\n\
             smtp unix - - n - - smtp\n\
             relay unix - - n - - smtp\n\
             showq unix n - n - - showq\n\
             error unix - - n - - error\n\
             retry unix - - n - - error\n\
             discard unix - - n - - discard\n\
             lmtp unix - - n - - lmtp\n\
             anvil unix - - n - 1 anvil\n\
             scache unix - - n - 1 scache\n\
             postlog unix-dgram n - n - 1 postlogd\n"
        );
        std::fs::write(etc.join("master.cf"), master_cf).expect("write master.cf");
        let etc_arg = etc.display().to_string();
        run_ok("postfix", &["-c", &etc_arg, "check"], dir);
        run_ok("postfix", &["-c", &etc_arg, "start"], dir);
        Self {
            dir: dir.to_path_buf(),
            inbound_port,
        }
    }

    /// Every file in Postfix's queue directory (for the plaintext scan).
    pub fn queue_files(&self) -> Vec<PathBuf> {
        crate::mail::walk(&self.dir.join("spool"))
            .into_iter()
            .filter(|p| p.metadata().is_ok_and(|m| m.is_file()))
            .collect()
    }

    /// Messages still in Postfix's queue.
    pub fn queued(&self) -> usize {
        ["incoming", "active", "deferred", "hold", "maildrop"]
            .iter()
            .map(|q| crate::mail::walk(&self.dir.join("spool").join(q)).len())
            .sum()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log").join("postfix.log")).unwrap_or_default()
    }
}

impl Drop for GatewayPostfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .args(["-c", &self.dir.join("etc").display().to_string(), "stop"])
            .output();
    }
}

/// A secure domain's mail server: SMTP with STARTTLS (required), storing what it
/// receives in a Maildir.
pub struct PeerServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl PeerServer {
    pub async fn start(maildir: &Path, certificates: &Certificates) -> Self {
        let port = free_port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(certificates.file("peer.crt"))
            .arg("--tlskey")
            .arg(certificates.file("peer.key"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the secure domain's mail server");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self {
            child,
            port,
            maildir: maildir.to_path_buf(),
        }
    }

    pub fn messages(&self) -> Vec<Vec<u8>> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

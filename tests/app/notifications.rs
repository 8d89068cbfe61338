//! Notification email: into the outbox without a relay, through a real SMTP relay with
//! retries when there is one. Never with case content.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    notifications_go_to_the_outbox_without_a_relay,
    notifications_go_through_a_real_smtp_relay_and_are_retried,
    instances_sharing_a_database_send_each_notification_once,
);

async fn notifications_go_to_the_outbox_without_a_relay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.queue_email("ann@brodie.example", "Test subject", "Body text")
        .await;
    assert_eq!(app.app.notifications.deliver().await.unwrap_or(0), 1);
    let outbox = app.dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .expect("read the file");
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).expect("read the file");
    assert!(text.contains("Subject: Test subject") && text.contains("To: ann@brodie.example"));
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "sent once"
    );
}

fn smtp_available() -> bool {
    let present = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        present || std::env::var("CASEMAIL_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "CI must have python3-aiosmtpd for the SMTP test"
    );
    present
}

async fn notifications_go_through_a_real_smtp_relay_and_are_retried(backend: Backend) {
    if !smtp_available() {
        eprintln!("skipping the SMTP test: python3-aiosmtpd is not installed");
        return;
    }
    let port = free_port();
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
    })
    .await;
    let maildir = app.dir.path().join("relay");
    app.queue_email("ann@brodie.example", "Relay down at first", "Body")
        .await;
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "the relay is not running yet"
    );
    let relay = Relay::start(port, maildir)
        .await
        .unwrap_or_else(|| panic!("relay did not start"));
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "not retried before its time"
    );
    app.clock.advance(61);
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(0),
        1,
        "retried once the relay is up"
    );
    let messages = relay.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Subject: Relay down at first")
            && messages[0].contains("ann@brodie.example")
    );
}

/// Two instances on one database, both sending at the same moment, over and over: every
/// queued email reaches the relay exactly once (each instance claims the rows it sends).
async fn instances_sharing_a_database_send_each_notification_once(backend: Backend) {
    if !smtp_available() {
        eprintln!("skipping the SMTP test: python3-aiosmtpd is not installed");
        return;
    }
    let port = free_port();
    let first = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
    })
    .await;
    let second = first.spawn_again().await;
    let relay = Relay::start(port, first.dir.path().join("relay"))
        .await
        .unwrap_or_else(|| panic!("relay did not start"));
    const COUNT: usize = 250;
    for n in 0..COUNT {
        first
            .queue_email(&format!("person{n}@brodie.example"), "New mail", "Body")
            .await;
    }
    let mut sent = 0;
    for _ in 0..20 {
        let (a, b) = tokio::join!(
            first.app.notifications.deliver(),
            second.app.notifications.deliver()
        );
        let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
        sent += a + b;
        if a + b == 0 {
            break;
        }
    }
    assert_eq!(sent, COUNT, "each reported once");
    let mut recipients: Vec<String> = relay
        .messages()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("To: ").map(str::to_string))
        })
        .collect();
    assert_eq!(recipients.len(), COUNT, "as many emails as were queued");
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), COUNT, "nobody got the same email twice");
    assert_eq!(
        first
            .number("SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL")
            .await,
        0
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A real SMTP server on loopback (Debian's python3-aiosmtpd), storing mail in a Maildir.
pub(crate) struct Relay {
    child: std::process::Child,
    maildir: std::path::PathBuf,
}

impl Relay {
    pub(crate) async fn start(port: u16, maildir: std::path::PathBuf) -> Option<Self> {
        let child = std::process::Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self { child, maildir });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    pub(crate) fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .expect("read the file")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

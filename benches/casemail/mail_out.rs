//! Notification email throughput: a backlog sent by one instance, over its one pooled SMTP
//! connection, to a real SMTP server on loopback (Debian's python3-aiosmtpd, discarding
//! what it receives).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casemail::notifications::Notifications;
use casemail::store::NewNotification;

use crate::Bench;

struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn figures(bench: &Bench, count: usize) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _sink = Sink(
        Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Sink"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let mut listening = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(
        listening,
        "the SMTP server for the notification figures did not start: install python3-aiosmtpd \
         (apt-get install python3-aiosmtpd)"
    );
    // Whatever the seeding queued goes first, uncounted.
    crate::settle(bench).await?;
    let now = bench.app.clock.now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let mut change = bench.store.begin(now).await?;
        let batch: Vec<NewNotification> = chunk
            .iter()
            .map(|n| NewNotification {
                recipient: format!("person{}@bench.example", n % 20),
                subject: "You have a new message in Casemail".into(),
                body: "Dear Person,\n\nYou have a new message in Casemail. Sign in to read it.\n"
                    .into(),
                dedupe_key: None,
            })
            .collect();
        change.notify(&batch).await?;
        change.commit().await?;
    }
    let mut config = casemail::config::Config::clone(&bench.app.config);
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let sender = Notifications::new(
        bench.store.clone(),
        Arc::new(config),
        bench.app.clock.clone(),
    );
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let now_sent = sender.deliver().await?;
        if now_sent == 0 {
            break;
        }
        sent += now_sent;
    }
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        sent >= count,
        "only {sent} of {count} notifications were sent"
    );
    println!(
        "{:<58} {sent} in {seconds:.1} s: {:.0} a minute (budget >= 1,000 a minute)",
        "notification email, one instance, one SMTP connection",
        sent as f64 / seconds * 60.0
    );
    Ok(())
}

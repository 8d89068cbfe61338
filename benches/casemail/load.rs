//! `cargo bench -- --load`: a working day's mixed load from many signed-in people, driven
//! by Locust (benches/load/locustfile.py) against server processes over loopback HTTP. One
//! instance on the benchmark's database, or, with `--instances 2`, two instances behind
//! HAProxy (give `--database-url postgres://…` and `--s3` for the shared database and
//! object store). Locust runs in a process of its own, on the same two cores.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use casemail::crypto::Recipients;
use casemail::store::UserAccount;

use crate::http::ServerProcess;
use crate::{Bench, PASSWORD};

const LOCUST_VERSION: &str = "2.47.0";

pub struct LoadOptions {
    pub people: usize,
    pub letters_each: usize,
    pub seconds: u64,
    pub instances: usize,
}

/// Seeds the people, starts the servers and runs Locust; prints what it measured.
pub async fn run(bench: &Bench, options: &LoadOptions) -> anyhow::Result<()> {
    let locust = locust()?;
    let people = seed_people(bench, options).await?;
    println!(
        "-- mixed load: {} people signed in, {} letters in each inbox, {} s, {} instance(s) --",
        people.len(),
        options.letters_each,
        options.seconds,
        options.instances
    );
    let mut servers = Vec::new();
    for _ in 0..options.instances {
        servers.push(ServerProcess::start(bench).await?);
    }
    let balancer = if options.instances > 1 {
        let ports: Vec<u16> = servers.iter().map(|s| s.address.port()).collect();
        Some(Balancer::start(&bench.app.config.data_dir, &ports)?)
    } else {
        None
    };
    let target = match &balancer {
        Some(balancer) => format!("http://127.0.0.1:{}", balancer.port),
        None => servers[0].url(""),
    };
    let out = bench.app.config.data_dir.join("locust");
    let status = Command::new(&locust)
        .args(["-f"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/load/locustfile.py"))
        .args(["--headless", "--only-summary", "--skip-log", "-H", &target])
        .args(["-u", &people.len().to_string(), "-r", "20"])
        .args(["-t", &format!("{}s", options.seconds)])
        // Figures for the working day, not the morning's sign-ins (200 password checks
        // queue for the two cores while people arrive).
        .arg("--reset-stats")
        .args(["--exit-code-on-error", "0", "--csv"])
        .arg(&out)
        .env("CASEMAIL_LOAD_PEOPLE", people.len().to_string())
        .env("CASEMAIL_LOAD_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run Locust")?;
    anyhow::ensure!(status.success(), "Locust failed");
    report(&out.with_file_name("locust_stats.csv"))?;
    let failures =
        std::fs::read_to_string(out.with_file_name("locust_failures.csv")).unwrap_or_default();
    for line in failures.lines().skip(1) {
        println!("failure: {line}");
    }
    drop(balancer);
    drop(servers);
    Ok(())
}

/// Locust from PyPI, in a virtual environment under target/ made on first use.
fn locust() -> anyhow::Result<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/locust-venv");
    let locust = venv.join("bin/locust");
    if !locust.exists() {
        println!(
            "(installing Locust {LOCUST_VERSION} into {})",
            venv.display()
        );
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?;
        anyhow::ensure!(made.success(), "cannot make a Python virtual environment");
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("locust=={LOCUST_VERSION}")])
            .status()?;
        anyhow::ensure!(installed.success(), "cannot install Locust");
    }
    Ok(locust)
}

/// `people` accounts, each with `letters_each` letters in their inbox (one with an
/// attachment), sent by the person before them.
async fn seed_people(bench: &Bench, options: &LoadOptions) -> anyhow::Result<Vec<UserAccount>> {
    let started = std::time::Instant::now();
    let app = &bench.app;
    let people = crate::create_named(app, "loaduser", options.people).await?;
    for (n, owner) in people.iter().enumerate() {
        let sender = &people[(n + people.len() - 1) % people.len()];
        crate::seed::large_mailbox(bench, sender, owner, options.letters_each, 7200).await?;
        let recipients = Recipients::parse([
            sender.public_recipient.as_str(),
            owner.public_recipient.as_str(),
        ])?;
        let attachment = app
            .mail
            .stage_bytes(
                recipients,
                "statement.pdf",
                "application/pdf",
                vec![7u8; 256 * 1024],
            )
            .await?;
        let to = casemail::domain::AddressList::parse(&owner.email)?;
        let cc = casemail::domain::AddressList::default();
        let addressees = app
            .mail
            .resolve_addressees(sender, &to, &cc)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        app.mail
            .send(
                sender,
                casemail::mail::Outgoing {
                    to,
                    cc,
                    subject: casemail::domain::Subject::parse("Statement enclosed")?,
                    body: casemail::domain::Body::parse("The statement is attached.")?,
                    reply_to: None,
                    forward_of: None,
                    case_id: None,
                    reply_by: None,
                    fingerprint: None,
                },
                &addressees,
                vec![attachment],
                "127.0.0.1",
            )
            .await?;
    }
    bench.store.analyze().await?;
    println!(
        "(seeded {} people and their mail in {:.1} s)",
        people.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(people)
}

/// Prints Locust's per-request figures: count, failures, p50, p95, p99, max.
fn report(stats: &Path) -> anyhow::Result<()> {
    let mut reader = csv::Reader::from_path(stats)
        .with_context(|| format!("cannot read {}", stats.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(name), Some(count), Some(failures), Some(p50), Some(p95), Some(p99), Some(max)) = (
        column("Name"),
        column("Request Count"),
        column("Failure Count"),
        column("50%"),
        column("95%"),
        column("99%"),
        column("100%"),
    ) else {
        anyhow::bail!("Locust's statistics are not in the expected form");
    };
    for record in reader.records() {
        let record = record?;
        println!(
            "{:<58} n={:>6}  errors {:>4}  p50 {:>6} ms  p95 {:>6} ms  p99 {:>6} ms  max {:>6} ms",
            &record[name],
            &record[count],
            &record[failures],
            &record[p50],
            &record[p95],
            &record[p99],
            &record[max]
        );
    }
    Ok(())
}

/// HAProxy in front of the instances (round robin, health checks on /readyz). It passes
/// on the X-Forwarded-For that each simulated person sends (an address of their own, as
/// people in different offices have), so throttles see 200 people, not one balancer.
struct Balancer {
    child: Child,
    port: u16,
}

impl Balancer {
    fn start(dir: &Path, ports: &[u16]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let servers: String = ports
            .iter()
            .enumerate()
            .map(|(n, p)| format!("    server casemail{n} 127.0.0.1:{p} check inter 1s\n"))
            .collect();
        let config = format!(
            "global\n    maxconn 4000\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    \
             timeout server 60s\n    retries 3\n    option redispatch\n    \
             option http-keep-alive\n\
             frontend web\n    bind 127.0.0.1:{port}\n    default_backend casemail\n\
             backend casemail\n    balance roundrobin\n    option httpchk GET /readyz\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config)?;
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start HAProxy (apt-get install haproxy)")?;
        std::thread::sleep(Duration::from_millis(500));
        Ok(Self { child, port })
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! `cargo bench`: the performance budgets, measured on this machine with the real code
//! paths. Server-side figures drive the real router in-process (no network); attachment
//! transfers go over loopback HTTP to a separate server process.
//!
//! `cargo bench -- --messages 1000000` changes the sizes; `--help` lists them.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::http::Request;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use casemail::accounts::{AccountDraft, SignInAttempt};
use casemail::auth::SessionCookie;
use casemail::clock::Clock;
use casemail::config::Config;
use casemail::crypto::{Recipients, SealingWriter, UserIdentity, opening_reader, seal};
use casemail::domain::{
    AddressList, Body as MessageBody, EmailAddress, EnvelopeContent, Folder, Jurisdiction,
    OrganisationKind, OrganisationName, Password, PersonName, Subject, Summary, UserStatus,
};
use casemail::mail::Outgoing;
use casemail::state::{AppState, Casemail};
use casemail::store::{Delivery, NewEntry, Store, UserAccount};
use clap::Parser;

const PASSWORD: &str = "benchmark passphrase, long enough";

#[derive(Debug, Parser)]
#[command(about = "Measure Casemail's performance budgets on this machine")]
struct BenchOptions {
    /// Messages in the large mailbox (inbox page timing).
    #[arg(long, default_value_t = 100_000)]
    pub messages: usize,
    /// Messages in the mailbox that is searched.
    #[arg(long, default_value_t = 10_000)]
    pub search_messages: usize,
    /// Size of the attachment sent over loopback HTTP, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub attachment_mib: u64,
    /// Database to benchmark (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The application and a store connection of the benchmark's own, for seeding mailboxes
/// faster than sending would.
struct Bench {
    app: AppState,
    store: Store,
}

fn main() -> anyhow::Result<()> {
    let options = BenchOptions::parse();
    tokio::runtime::Runtime::new()?.block_on(run(options))
}

async fn run(options: BenchOptions) -> anyhow::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("casemail-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut config = Config::for_data_dir(&dir);
    config.database_url = options.database_url.clone();
    config.max_attachment_mb = options.attachment_mib + 1;
    let app = Casemail::open(config, Clock::system()).await?;
    app.accounts.ensure_recovery_key().await?;
    let store = Store::connect(&app.config.database_url()).await?;
    println!(
        "Casemail benchmark ({} database, data in {})",
        app.backend_name(),
        dir.display()
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let bench = Bench { app, store };
    let people = create_people(&bench.app, 22).await?;
    sign_in_figures(&bench.app).await?;
    transfer_figures(&bench, &people, options.attachment_mib).await?;
    raw_age_figures(&dir)?;
    send_figures(&bench.app, &people).await?;
    inbox_figures(&bench, &people, options.messages).await?;
    search_figures(&bench, &people, options.search_messages).await?;
    bench.app.close().await;
    bench.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn create_people(app: &AppState, count: usize) -> anyhow::Result<Vec<UserAccount>> {
    let org = app
        .admin
        .ensure_organisation(
            OrganisationKind::Prosecution,
            &OrganisationName::parse("Benchmark Fiscal Office")?,
            &Jurisdiction::parse("Bench")?,
        )
        .await?;
    let mut people = Vec::new();
    for n in 0..count {
        let email = EmailAddress::parse(&format!("person{n}@bench.example"))?;
        app.accounts
            .create_account(AccountDraft {
                organisation_id: org.id,
                email: email.clone(),
                name: PersonName::parse(&format!("Person {n}"))?,
                is_admin: false,
                status: UserStatus::Active,
                password: Password::parse(PASSWORD)?,
            })
            .await?;
        people.push(
            app.accounts
                .account_by_email(&email)
                .await?
                .context("created")?,
        );
    }
    Ok(people)
}

async fn cookie_for(app: &AppState, email: &str) -> anyhow::Result<SessionCookie> {
    let signed_in = app
        .accounts
        .sign_in(SignInAttempt {
            email,
            password: SecretString::from(PASSWORD.to_string()),
            client_address: "127.0.0.1",
            user_agent: "bench",
            previous_session: None,
            device: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("sign-in failed: {e}"))?;
    Ok(signed_in.cookie)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn report(name: &str, samples: &mut [Duration], budget: &str) {
    let p50 = percentile(samples, 0.50);
    let p99 = percentile(samples, 0.99);
    println!(
        "{name:<44} p50 {:>8.2} ms   p99 {:>8.2} ms   (n={}, budget {budget})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.len()
    );
}

async fn sign_in_figures(app: &AppState) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        cookie_for(app, "person0@bench.example").await?;
        samples.push(start.elapsed());
    }
    report(
        "sign-in (argon2 + key unwrap + session)",
        &mut samples,
        "< 300 ms",
    );
    Ok(())
}

/// Peak resident memory of process `pid`, sampled while `work` runs.
async fn with_peak_rss<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(resident_kib_of(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let out = work.await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(0);
    (out, peak)
}

fn resident_kib_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Transfers run against a separate server process, so that its resident memory is the
/// server's alone (not this benchmark's client or its earlier work).
async fn transfer_figures(bench: &Bench, people: &[UserAccount], mib: u64) -> anyhow::Result<()> {
    let app = &bench.app;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_casemail"))
        .env("CASEMAIL_BIND", address.to_string())
        .env("CASEMAIL_DATA_DIR", &app.config.data_dir)
        .env("CASEMAIL_DATABASE_URL", app.config.database_url())
        .env(
            "CASEMAIL_MAX_ATTACHMENT_MB",
            app.config.max_attachment_mb.to_string(),
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("cannot start the server process")?;
    let result = async {
        wait_until_ready(address).await?;
        let sender = cookie_for(app, &people[0].email).await?;
        let reader = cookie_for(app, &people[1].email).await?;
        let pid = server.id();
        let baseline = resident_kib_of(pid);
        let size = mib * 1024 * 1024;
        let ((location, upload), upload_peak) =
            with_peak_rss(pid, upload(address, &sender, &people[1].email, size)).await;
        let location = location?;
        let thread: i64 = location
            .trim_start_matches("/threads/")
            .trim_end_matches("?sent=1")
            .parse()?;
        let message_id = bench.store.thread_for_user(people[1].id, thread).await?[0].message_id;
        let ((received, download), download_peak) =
            with_peak_rss(pid, download(address, &reader, message_id)).await;
        anyhow::ensure!(received? == size, "downloaded size differs");
        let rate = |d: Duration| size as f64 / 1024.0 / 1024.0 / d.as_secs_f64();
        println!(
            "{:<44} {:>8.0} MiB/s  server peak RSS {:>4} MiB  (idle {} MiB; {mib} MiB over loopback HTTP)",
            "attachment upload (encrypt to blob)",
            rate(upload),
            upload_peak / 1024,
            baseline / 1024
        );
        println!(
            "{:<44} {:>8.0} MiB/s  server peak RSS {:>4} MiB",
            "attachment download (decrypt stream)",
            rate(download),
            download_peak / 1024
        );
        Ok(())
    }
    .await;
    let _ = server.kill();
    let _ = server.wait();
    result
}

async fn wait_until_ready(address: std::net::SocketAddr) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            let request =
                format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            if response.starts_with(b"HTTP/1.1 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server process did not become ready")
}

async fn upload(
    address: std::net::SocketAddr,
    cookie: &SessionCookie,
    to: &str,
    size: u64,
) -> (anyhow::Result<String>, Duration) {
    let start = Instant::now();
    let result = async {
        let boundary = "casemailbenchboundary";
        let mut head = String::new();
        let token = cookie.csrf_token();
        for (name, value) in [("csrf_token", token.as_str()), ("to", to), ("subject", "Large bundle"), ("body", "Attached.")] {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; \
             filename=\"bundle.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        let tail = format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nsend\r\n--{boundary}--\r\n"
        );
        let length = head.len() as u64 + size + tail.len() as u64;
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!(
            "POST /compose HTTP/1.1\r\nHost: {address}\r\nCookie: casemail_session={}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n{head}",
            cookie.value()
        );
        stream.write_all(request.as_bytes()).await?;
        let chunk: Vec<u8> = (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let mut sent = 0u64;
        while sent < size {
            let n = (size - sent).min(chunk.len() as u64) as usize;
            stream.write_all(&chunk[..n]).await?;
            sent += n as u64;
        }
        stream.write_all(tail.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let text = String::from_utf8_lossy(&response);
        let location = text
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .context("upload was not accepted")?;
        Ok(location.to_string())
    }
    .await;
    (result, start.elapsed())
}

async fn download(
    address: std::net::SocketAddr,
    cookie: &SessionCookie,
    message_id: i64,
) -> (anyhow::Result<u64>, Duration) {
    let start = Instant::now();
    let result = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!(
            "GET /messages/{message_id}/attachments/0 HTTP/1.1\r\nHost: {address}\r\n\
             Cookie: casemail_session={}\r\nConnection: close\r\n\r\n",
            cookie.value()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = vec![0u8; 1024 * 1024];
        let mut total = 0u64;
        let mut header_end = None;
        let mut head = Vec::new();
        loop {
            let n = stream.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            if header_end.is_none() {
                head.extend_from_slice(&buffer[..n]);
                if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    header_end = Some(pos);
                    total += (head.len() - pos - 4) as u64;
                    head.clear();
                }
            } else {
                total += n as u64;
            }
        }
        Ok(total)
    }
    .await;
    (result, start.elapsed())
}

/// age's own stream speed in this run, the yardstick for the transfer figures.
fn raw_age_figures(dir: &std::path::Path) -> anyhow::Result<()> {
    let size: usize = 256 * 1024 * 1024;
    let reader = UserIdentity::generate();
    let recipients = Recipients::parse([
        reader.recipient().as_str(),
        UserIdentity::generate().recipient().as_str(),
    ])?;
    let chunk = vec![7u8; 1024 * 1024];
    let path = dir.join("raw-age.bin");
    let file = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&path)?);
    let start = Instant::now();
    let mut writer = SealingWriter::new(&recipients, file)?;
    for _ in 0..size / chunk.len() {
        writer.write_all(&chunk)?;
    }
    writer.finish()?;
    let encrypt = start.elapsed();
    let start = Instant::now();
    let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
    let mut plain = opening_reader(&reader, file)?;
    let mut buffer = vec![0u8; 256 * 1024];
    while plain.read(&mut buffer)? > 0 {}
    let decrypt = start.elapsed();
    let _ = std::fs::remove_file(&path);
    let rate = |d: Duration| size as f64 / 1024.0 / 1024.0 / d.as_secs_f64();
    println!(
        "{:<44} {:>8.0} MiB/s encrypt, {:.0} MiB/s decrypt (256 MiB, file to file)",
        "age stream speed (yardstick)",
        rate(encrypt),
        rate(decrypt)
    );
    Ok(())
}

async fn send_figures(app: &AppState, people: &[UserAccount]) -> anyhow::Result<()> {
    let sender = &people[0];
    let to: Vec<&str> = people[1..21].iter().map(|p| p.email.as_str()).collect();
    let to = AddressList::parse(&to.join(", "))?;
    let cc = AddressList::default();
    let mut samples = Vec::new();
    for n in 0..100 {
        let start = Instant::now();
        let addressees = app
            .mail
            .resolve_addressees(sender, &to, &cc)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let outgoing = Outgoing {
            to: to.clone(),
            cc: cc.clone(),
            subject: Subject::parse(&format!("Circular {n}"))?,
            body: MessageBody::parse(
                "A letter of about a paragraph, sent to twenty people at once.",
            )?,
            reply_to: None,
            forward_of: None,
            case_id: None,
        };
        app.mail
            .send(sender, outgoing, &addressees, Vec::new(), "127.0.0.1")
            .await?;
        samples.push(start.elapsed());
    }
    report(
        "send to 20 recipients (resolve+encrypt+deliver)",
        &mut samples,
        "< 10 ms",
    );
    Ok(())
}

async fn get(app: &AppState, cookie: &SessionCookie, path: &str) -> anyhow::Result<Duration> {
    let request = Request::get(path)
        .header("cookie", format!("casemail_session={}", cookie.value()))
        .body(Body::empty())?;
    let start = Instant::now();
    let response = casemail::web::router(app.clone()).oneshot(request).await?;
    let status = response.status();
    axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let elapsed = start.elapsed();
    anyhow::ensure!(status.is_success(), "{path} answered {status}");
    Ok(elapsed)
}

/// Fills `owner`'s inbox with `count` messages from `sender`, in batches.
async fn seed_inbox(
    bench: &Bench,
    sender: &UserAccount,
    owner: &UserAccount,
    count: usize,
    distinct_words: bool,
) -> anyhow::Result<()> {
    let both = Recipients::parse([
        sender.public_recipient.as_str(),
        owner.public_recipient.as_str(),
    ])?;
    let only_owner = Recipients::parse([owner.public_recipient.as_str()])?;
    let only_sender = Recipients::parse([sender.public_recipient.as_str()])?;
    let now = bench.app.clock.now();
    let start = now - count as i64;
    let mut n = 0;
    while n < count {
        let mut batch = Vec::new();
        for _ in 0..1000.min(count - n) {
            let envelope = EnvelopeContent {
                subject: format!("Case letter {n}"),
                body: if distinct_words {
                    format!(
                        "Regarding matter {n}: witness word{n} and the usual paragraph of correspondence."
                    )
                } else {
                    "A paragraph of ordinary correspondence about a case.".to_string()
                },
                attachments: Vec::new(),
            };
            let summary =
                serde_json::to_vec(&Summary::new(&envelope, &sender.name, owner.name.clone()))?;
            batch.push(Delivery {
                thread_id: None,
                case_id: None,
                plea: false,
                sender_id: sender.id,
                sent_at: start + n as i64,
                envelope: seal(&both, &serde_json::to_vec(&envelope)?)?,
                size: envelope.body.len() as i64,
                forwarded_from: None,
                to: vec![owner.id],
                cc: Vec::new(),
                entries: vec![
                    NewEntry {
                        user_id: owner.id,
                        folder: Folder::Inbox,
                        is_read: n % 3 == 0,
                        summary: seal(&only_owner, &summary)?,
                    },
                    NewEntry {
                        user_id: sender.id,
                        folder: Folder::Sent,
                        is_read: true,
                        summary: seal(&only_sender, &summary)?,
                    },
                ],
                attachments: Vec::new(),
                sender_org_id: sender.organisation.id,
                client_address: String::new(),
                reply_to: None,
            });
            n += 1;
        }
        bench.store.deliver_many(&batch, now).await?;
    }
    Ok(())
}

async fn inbox_figures(bench: &Bench, people: &[UserAccount], count: usize) -> anyhow::Result<()> {
    let app = &bench.app;
    let owner = &people[21];
    let started = Instant::now();
    seed_inbox(bench, &people[20], owner, count, false).await?;
    println!(
        "(seeded {count} messages in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let cookie = cookie_for(app, &owner.email).await?;
    let mut first = Vec::new();
    for _ in 0..200 {
        first.push(get(app, &cookie, "/mail/inbox").await?);
    }
    report(
        &format!("inbox first page ({count} messages)"),
        &mut first,
        "p99 < 25 ms",
    );
    let middle = bench
        .store
        .mailbox_page(owner.id, Folder::Inbox, None, (count / 2) as i64)
        .await?;
    let cursor = middle
        .last()
        .map(|r| format!("{}.{}", r.sent_at, r.entry_id))
        .unwrap_or_default();
    let mut deep = Vec::new();
    for _ in 0..200 {
        deep.push(get(app, &cookie, &format!("/mail/inbox?after={cursor}")).await?);
    }
    report("inbox page halfway down (keyset)", &mut deep, "p99 < 25 ms");
    let thread = middle.first().map(|r| r.thread_id).unwrap_or_default();
    let mut open = Vec::new();
    for _ in 0..200 {
        open.push(get(app, &cookie, &format!("/threads/{thread}")).await?);
    }
    report("open a message", &mut open, "-");
    // The 20-recipient circular, read by its last addressee (the slowest stanza to find).
    let reader = &people[20];
    let cookie = cookie_for(app, &reader.email).await?;
    let circular = bench
        .store
        .mailbox_page(reader.id, Folder::Inbox, None, 1)
        .await?;
    if let Some(row) = circular.first() {
        let mut samples = Vec::new();
        for _ in 0..100 {
            samples.push(get(app, &cookie, &format!("/threads/{}", row.thread_id)).await?);
        }
        report("open a message sent to 20", &mut samples, "-");
    }
    Ok(())
}

async fn search_figures(bench: &Bench, people: &[UserAccount], count: usize) -> anyhow::Result<()> {
    let app = &bench.app;
    let owner = &people[2];
    seed_inbox(bench, &people[3], owner, count, true).await?;
    let cookie = cookie_for(app, &owner.email).await?;
    let mut cold = vec![get(app, &cookie, "/search?q=word1").await?];
    report(
        &format!("search, first ever ({count} messages; builds the index)"),
        &mut cold,
        "-",
    );
    let mut samples = Vec::new();
    for n in 0..20 {
        samples.push(get(app, &cookie, &format!("/search?q=word{}", n * 97)).await?);
    }
    report(
        &format!("search by word over {count} messages"),
        &mut samples,
        "-",
    );
    let mut samples = Vec::new();
    for _ in 0..10 {
        samples.push(get(app, &cookie, "/search?sender=nobody-matches").await?);
    }
    report("search by sender only (metadata)", &mut samples, "-");
    Ok(())
}

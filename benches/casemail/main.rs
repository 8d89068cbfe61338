//! `cargo bench`: the performance budgets, measured on this machine with the real code
//! paths. Each figure is measured twice: in-process, driving the router without a network,
//! and as a browser meets it, over loopback HTTP to a separate server process (`http.rs`).
//!
//! `cargo bench -- --messages 1000000` changes the sizes; `--help` lists them.

mod growth;
mod http;
mod in_process;
mod load;
mod mail_out;
mod seed;
mod stats;
mod team;
mod transfer;

use anyhow::Context;
use secrecy::SecretString;

use casemail::accounts::{AccountDraft, SignInAttempt};
use casemail::auth::SessionCookie;
use casemail::clock::Clock;
use casemail::config::Config;
use casemail::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use casemail::state::{AppState, Casemail};
use casemail::store::{Store, UserAccount};
use clap::Parser;

const PASSWORD: &str = "benchmark passphrase, long enough";

#[derive(Debug, Parser)]
#[command(about = "Measure Casemail's performance budgets on this machine")]
struct BenchOptions {
    /// Messages in the large mailbox (listed, opened and searched).
    #[arg(long, default_value_t = 100_000)]
    pub messages: usize,
    /// Size of the attachment sent over loopback HTTP, in MiB (0 leaves it out).
    #[arg(long, default_value_t = 1024)]
    pub attachment_mib: u64,
    /// Database to benchmark (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Keep attachments in an S3 server (s3s-fs, started here) instead of files.
    #[arg(long)]
    pub s3: bool,
    /// Run the mixed load from many signed-in people (Locust) instead of the budgets.
    #[arg(long)]
    pub load: bool,
    /// People signed in at once during the load.
    #[arg(long, default_value_t = 200)]
    pub people: usize,
    /// Letters in each person's inbox before the load.
    #[arg(long, default_value_t = 200)]
    pub letters_each: usize,
    /// How long the load runs, in seconds.
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
    /// Server processes (more than one: behind HAProxy).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Measure costs at national size (accounts, audit events) instead of the budgets.
    #[arg(long)]
    pub growth: bool,
    /// Accounts added for the growth figures.
    #[arg(long, default_value_t = 500_000)]
    pub accounts: i64,
    /// Organisations they are spread across.
    #[arg(long, default_value_t = 10_000)]
    pub organisations: i64,
    /// Audit events appended for the growth figures.
    #[arg(long, default_value_t = 10_000_000)]
    pub audit_events: i64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The application and a store connection of the benchmark's own, for seeding mailboxes
/// faster than sending would.
pub struct Bench {
    app: AppState,
    store: Store,
}

fn main() -> anyhow::Result<()> {
    let options = BenchOptions::parse();
    tokio::runtime::Runtime::new()?.block_on(run(options))
}

fn processor() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown processor".into())
}

/// One core's sealing speed, printed beside the figures: the same kind of virtual
/// machine can run at half speed on another day, and figures from different runs compare
/// only through a yardstick measured with them.
fn reference_speed() -> anyhow::Result<f64> {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut block = vec![0u8; 16 * 1024];
    let start = std::time::Instant::now();
    let mut sealed = 0usize;
    while start.elapsed() < std::time::Duration::from_millis(500) {
        cipher
            .encrypt_in_place_detached(&[0u8; 12].into(), b"", &mut block)
            .map_err(|_| anyhow::anyhow!("cannot seal the reference block"))?;
        sealed += block.len();
    }
    Ok(sealed as f64 / start.elapsed().as_secs_f64() / 1e6)
}

async fn run(options: BenchOptions) -> anyhow::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("casemail-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut config = Config::for_data_dir(&dir);
    config.database_url = options.database_url.clone();
    config.max_attachment_mb = options.attachment_mib + 1;
    // Scheduled work is measured on its own (notification email, the audit check), not
    // left to land in the middle of other measurements; the log checkpointer still runs.
    config.scheduled_jobs = false;
    let _s3 = if options.s3 {
        Some(S3Process::start(&dir.join("s3"), &mut config)?)
    } else {
        None
    };
    let app = Casemail::open(config, Clock::system()).await?;
    app.accounts.ensure_recovery_key().await?;
    // As `casemail serve` runs them: the log checkpointer among them.
    let _jobs = casemail::jobs::start(&app);
    let store = Store::connect(&app.config.database_url()).await?;
    println!(
        "Casemail benchmark ({} database, data in {})",
        app.backend_name(),
        dir.display()
    );
    println!(
        "machine: {} cores, {}, ChaCha20-Poly1305 {:.0} MB/s on one core",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        processor(),
        reference_speed()?
    );

    let bench = Bench { app, store };
    if options.load {
        let result = load::run(
            &bench,
            &load::LoadOptions {
                people: options.people,
                letters_each: options.letters_each,
                seconds: options.seconds,
                instances: options.instances,
            },
        )
        .await;
        bench.app.close().await;
        bench.store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    if options.growth {
        let result = growth::run(
            &bench,
            &growth::GrowthOptions {
                accounts: options.accounts,
                organisations: options.organisations,
                audit_events: options.audit_events,
            },
        )
        .await;
        bench.app.close().await;
        bench.store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    let people = create_people(&bench.app, 22).await?;
    in_process::sign_in_figures(&bench.app).await?;
    if options.attachment_mib > 0 {
        transfer::transfer_figures(&bench, &people, options.attachment_mib).await?;
        transfer::raw_age_figures(&dir)?;
    }
    in_process::send_figures(&bench.app, &people).await?;
    mail_out::figures(&bench, 5_000).await?;
    let owner = &people[21];
    // An hour old, so that letters arriving during the run list above it.
    seed::large_mailbox(&bench, &people[20], owner, options.messages, 3600).await?;
    // As autovacuum would after a bulk load (it is off on some machines): without
    // statistics PostgreSQL plans the huge mailbox as a small one.
    bench.store.analyze().await?;
    settle(&bench).await?;
    in_process::inbox_figures(&bench, &people, owner, options.messages).await?;
    settle(&bench).await?;
    http::figures(&bench, &people, owner, options.messages).await?;
    bench.app.close().await;
    bench.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Sends the notification email the seeding queued (2,000 for the 100 circulars) before
/// measuring: a deployment sends as mail arrives, not a day's worth at once in the middle
/// of a measurement.
pub async fn settle(bench: &Bench) -> anyhow::Result<()> {
    while bench.app.notifications.deliver().await? > 0 {}
    Ok(())
}

/// An S3 server (s3s-fs) for the benchmark's attachments.
struct S3Process(std::process::Child);

impl S3Process {
    fn start(root: &std::path::Path, config: &mut Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root.join("bench"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "bench", "--secret-key", "bench-secret"])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked)")?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let storage = &mut config.object_storage;
        storage.blob_store = casemail::config::BlobBackend::S3;
        storage.s3_endpoint = Some(format!("http://127.0.0.1:{port}"));
        storage.s3_bucket = Some("bench".into());
        storage.s3_access_key_id = Some("bench".into());
        storage.s3_secret_access_key = Some("bench-secret".into());
        Ok(Self(child))
    }
}

impl Drop for S3Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn create_people(app: &AppState, count: usize) -> anyhow::Result<Vec<UserAccount>> {
    create_named(app, "person", count).await
}

/// `count` people of the benchmark's office, `{prefix}{n}@bench.example`, all with the
/// benchmark's password.
pub async fn create_named(
    app: &AppState,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<UserAccount>> {
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
        let email = EmailAddress::parse(&format!("{prefix}{n}@bench.example"))?;
        app.accounts
            .create_account(AccountDraft {
                organisation_id: org.id,
                email: email.clone(),
                name: PersonName::parse(&format!("{prefix} {n}"))?,
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

pub async fn cookie_for(app: &AppState, email: &str) -> anyhow::Result<SessionCookie> {
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

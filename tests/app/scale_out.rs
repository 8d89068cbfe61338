//! Two Casemail processes behind a real load balancer (HAProxy), sharing one PostgreSQL
//! database and one S3 store, each with a data directory of its own (nothing shared on
//! disk), each running the scheduled jobs. A person signs in through one instance and
//! sends and uploads through the other; then, under load through the balancer, one
//! instance is killed: the other carries on, every message acknowledged is there with its
//! attachment, and no notification email goes out twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use casemail::accounts::AccountDraft;
use casemail::clock::Clock;
use casemail::config::Config;
use casemail::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use casemail::state::Casemail;

use crate::helpers::{Backend, Browser, Outgoing, PASSWORD, TestDatabase};
use crate::notifications::Relay;
use crate::object_store_server::S3Server;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `casemail` process.
struct Instance {
    child: Child,
    port: u16,
}

impl Instance {
    fn start(config: &Config, port: u16, balancer_port: u16, log: &Path) -> Self {
        let storage = &config.object_storage;
        let log = std::fs::File::create(log).expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_casemail"))
            .env("CASEMAIL_BIND", format!("127.0.0.1:{port}"))
            .env(
                "CASEMAIL_PUBLIC_URL",
                format!("http://localhost:{balancer_port}"),
            )
            .env("CASEMAIL_DATA_DIR", &config.data_dir)
            .env("CASEMAIL_DATABASE_URL", config.database_url())
            .env("CASEMAIL_BLOB_STORE", "s3")
            .env(
                "CASEMAIL_S3_ENDPOINT",
                storage.s3_endpoint.clone().unwrap_or_default(),
            )
            .env(
                "CASEMAIL_S3_BUCKET",
                storage.s3_bucket.clone().unwrap_or_default(),
            )
            .env(
                "CASEMAIL_S3_ACCESS_KEY_ID",
                storage.s3_access_key_id.clone().unwrap_or_default(),
            )
            .env(
                "CASEMAIL_S3_SECRET_ACCESS_KEY",
                storage.s3_secret_access_key.clone().unwrap_or_default(),
            )
            .env(
                "CASEMAIL_SMTP_URL",
                config.smtp_url.clone().unwrap_or_default(),
            )
            .env("CASEMAIL_TRUST_FORWARDED_FOR", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the casemail binary");
        Self { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready");
}

/// HAProxy in front of the instances: round robin, health checks on /readyz, and a
/// request whose connection to an instance fails is tried on the other.
struct Balancer {
    child: Child,
    port: u16,
}

impl Balancer {
    fn start(dir: &Path, instances: &[u16]) -> Self {
        let port = free_port();
        let servers: String = instances
            .iter()
            .enumerate()
            .map(|(n, p)| {
                format!("    server casemail{n} 127.0.0.1:{p} check inter 300ms fall 2 rise 2\n")
            })
            .collect();
        let config = format!(
            "global\n    maxconn 1000\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    \
             timeout server 60s\n    retries 3\n    option redispatch\n    option forwardfor\n\
             frontend web\n    bind 127.0.0.1:{port}\n    default_backend casemail\n\
             backend casemail\n    balance roundrobin\n    option httpchk GET /readyz\n\
             {servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("write the HAProxy configuration");
        let child = Command::new(haproxy())
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start HAProxy");
        Self { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy() -> &'static str {
    match option_env!("CASEMAIL_TEST_HAPROXY") {
        Some(path) => path,
        None => panic!("HAProxy was not found when the tests were built (see build.rs)"),
    }
}

async fn create_people(config: &Config) {
    let app = Casemail::open(config.clone(), Clock::system())
        .await
        .expect("open the shared database");
    app.accounts
        .ensure_recovery_key()
        .await
        .expect("the recovery key");
    for (kind, organisation, email) in [
        (
            OrganisationKind::Prosecution,
            "Glasgow PF",
            "fiona@pf.example",
        ),
        (OrganisationKind::Defence, "Brodie", "ann@brodie.example"),
    ] {
        let org = app
            .admin
            .ensure_organisation(
                kind,
                &OrganisationName::parse(organisation).expect("a name"),
                &Jurisdiction::parse("Glasgow").expect("an area"),
            )
            .await
            .expect("the organisation");
        app.accounts
            .create_account(AccountDraft {
                organisation_id: org.id,
                email: EmailAddress::parse(email).expect("an address"),
                name: PersonName::parse("Someone").expect("a name"),
                is_admin: false,
                status: UserStatus::Active,
                password: Password::parse(PASSWORD).expect("a password"),
            })
            .await
            .expect("the account");
    }
    app.close().await;
}

fn thread_of(location: &str) -> i64 {
    location
        .trim_start_matches("/threads/")
        .trim_end_matches("?sent=1")
        .parse()
        .unwrap_or_else(|_| panic!("a thread address: {location}"))
}

/// Sends a letter with an attachment through the compose form; the conversation's address
/// when the server acknowledged it, or what went wrong (a connection cut by the kill).
async fn try_send(sender: &Browser, subject: &str, attachment: Vec<u8>) -> Result<String, String> {
    let base = sender.base();
    let page = sender
        .client
        .get(format!("{base}/compose"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let token = crate::helpers::csrf_token(&page).ok_or("no form token")?;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("to", "ann@brodie.example")
        .text("cc", "")
        .text("subject", subject.to_string())
        .text("body", "Under load.")
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(attachment).file_name("productions.pdf"),
        )
        .text("action", "send");
    let response = sender
        .client
        .post(format!("{base}/compose"))
        .multipart(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 303 {
        return Err(format!("answered {}", response.status()));
    }
    Ok(crate::helpers::location(&response))
}

/// The notification ids in the relay's mail, with how many emails carried each.
fn emails_per_notification(relay: &Relay) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for message in relay.messages() {
        let id = message.lines().find_map(|line| {
            let value = line
                .strip_prefix("Message-ID: <notification-")
                .or_else(|| line.strip_prefix("Message-Id: <notification-"))?;
            value.split(['.', '@']).next()?.parse::<i64>().ok()
        });
        *seen
            .entry(id.expect("each email names its notification"))
            .or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(casemail_haproxy, casemail_s3, casemail_postgres)),
    ignore = "scale-out suite: needs HAProxy (apt-get install haproxy), s3s-fs and CASEMAIL_TEST_POSTGRES_URL"
)]
async fn two_instances_behind_a_load_balancer_survive_losing_one() {
    let dir = tempfile::TempDir::new().expect("a directory");
    let s3 = S3Server::start(&dir.path().join("s3")).await;
    let database = TestDatabase::create(Backend::Postgres, dir.path()).await;
    let smtp_port = free_port();
    let relay = Relay::start(smtp_port, dir.path().join("relay"))
        .await
        .expect("the SMTP relay starts");

    let ports = [free_port(), free_port()];
    let balancer_port_hint = free_port();
    let configs: Vec<Config> = (0..2)
        .map(|n| {
            let data_dir: PathBuf = dir.path().join(format!("instance{n}"));
            let mut config = Config::for_data_dir(&data_dir);
            config.database_url = Some(database.url.clone());
            config.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
            s3.configure(&mut config);
            config
        })
        .collect();
    create_people(&configs[0]).await;
    let mut instances = Vec::new();
    for (n, config) in configs.iter().enumerate() {
        let instance = Instance::start(
            config,
            ports[n],
            balancer_port_hint,
            &dir.path().join(format!("instance{n}.log")),
        );
        wait_until_ready(&instance.base()).await;
        instances.push(instance);
    }

    // Signed in through one instance, the same session sends and uploads through the
    // other: sessions, keys and attachments live in the shared database and store.
    let fiona = Browser::new(instances[0].base());
    fiona.sign_in_ok("fiona@pf.example").await;
    let fiona_on_second = fiona.pointed_at(instances[1].base());
    let files = [("statement.pdf", b"%PDF statement of PC Ross".to_vec())];
    let first = fiona_on_second
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Statement", "Enclosed.")
        })
        .await;
    let ann = Browser::new(instances[0].base());
    ann.sign_in_ok("ann@brodie.example").await;
    assert!(ann.text(&first).await.contains("Enclosed."));

    // Load through the balancer; one instance is killed part way.
    let balancer = Balancer::start(dir.path(), &ports);
    wait_until_ready(&balancer.base()).await;
    let senders: Vec<Browser> = (0..4).map(|_| fiona.pointed_at(balancer.base())).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let done = &done;
    let load = senders.iter().enumerate().map(|(s, sender)| async move {
        let mut acknowledged = Vec::new();
        let mut failed = 0;
        for n in 0..20 {
            let attachment = [(
                "productions.pdf",
                format!("production {s}-{n}").into_bytes(),
            )];
            let subject = format!("Load {s}-{n}");
            let sent = tokio::time::timeout(
                Duration::from_secs(30),
                try_send(sender, &subject, attachment[0].1.clone()),
            )
            .await;
            match sent {
                Ok(Ok(location)) => {
                    acknowledged.push((thread_of(&location), attachment[0].1.clone()));
                }
                _ => failed += 1,
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        (acknowledged, failed)
    });
    // Killed once a third of the load is through, so that most of it lands afterwards.
    let kill = async {
        while done.load(std::sync::atomic::Ordering::SeqCst) < 25 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        instances[0].kill();
        done.load(std::sync::atomic::Ordering::SeqCst)
    };
    let (results, done_at_kill) = tokio::join!(futures_util::future::join_all(load), kill);
    assert!(
        done_at_kill < 40,
        "the instance was killed while the load went on"
    );
    let acknowledged: Vec<(i64, Vec<u8>)> = results.iter().flat_map(|(a, _)| a.clone()).collect();
    let failed: usize = results.iter().map(|(_, f)| f).sum();
    assert!(
        failed <= 4,
        "at most the requests in flight on the killed instance fail ({failed} failed)"
    );
    assert!(acknowledged.len() >= 76, "the other instance carried on");

    // Every acknowledged message is there, with its attachment, read through the
    // balancer (the surviving instance).
    let ann = ann.pointed_at(balancer.base());
    let ann_id: i64 = {
        let store = casemail::store::Store::connect(&database.url)
            .await
            .expect("the database");
        let email = EmailAddress::parse("ann@brodie.example").expect("an address");
        let account = store
            .sign_in_record(&email)
            .await
            .expect("read")
            .expect("ann");
        let id = account.id;
        for (thread, content) in &acknowledged {
            let rows = store
                .thread_for_user(id, *thread)
                .await
                .expect("the thread");
            assert_eq!(
                rows.len(),
                1,
                "acknowledged message in thread {thread} is there"
            );
            let download = ann
                .get(&format!("/messages/{}/attachments/0", rows[0].message_id))
                .await;
            assert_eq!(download.status(), 200);
            assert_eq!(&download.bytes().await.expect("body").to_vec(), content);
        }
        store.close().await;
        id
    };
    assert!(ann_id > 0);

    // Notification email: the surviving instance sends what is due; none twice. Rows the
    // killed instance had claimed wait for its lease to run out (minutes), then go.
    let store = casemail::store::Store::connect(&database.url)
        .await
        .expect("the database");
    let mut previous = -1;
    for _ in 0..60 {
        let waiting = store.notifications_waiting().await.expect("count");
        if waiting == previous {
            break;
        }
        previous = waiting;
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    let per_notification = emails_per_notification(&relay);
    assert!(
        per_notification.values().all(|n| *n == 1),
        "no notification was emailed twice: {per_notification:?}"
    );
    let queued = store.notifications_waiting().await.expect("count");
    eprintln!(
        "scale-out: killed after {done_at_kill} sends; {} acknowledged, {failed} failed; \
         {} notifications emailed once each, {queued} left to the killed instance's lease",
        acknowledged.len(),
        per_notification.len()
    );
    let sent = per_notification.len() as i64;
    assert!(
        sent >= acknowledged.len() as i64 - 4,
        "the notifications went out ({sent} sent)"
    );
    assert!(
        queued <= 100,
        "only what the killed instance had claimed is left ({queued})"
    );
    store.close().await;
}
